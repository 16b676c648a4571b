"""Layer normalization and its relatives on the GPU, the signatures of
:mod:`fastdl.backend.cpu.norm`'s: CuPy array expressions (``fastdl.backend.norms``, the
arithmetic the CPU kernels are tested against), in float32."""
from __future__ import annotations

from fastdl.backend import norms
from fastdl.backend.cuda import runtime

__all__ = ["norm_forward", "norm_backward"]


def norm_forward(x, gamma, beta, epsilon: float, kind: str):
    """``(y, rstd)`` along the last axis; see ``fastdl.backend.cpu.norm_forward``."""
    x, gamma, beta = _float32("norm_forward", x, gamma, beta)
    return norms.norm_forward(runtime.cupy(), x, gamma, beta, float(epsilon), kind)


def norm_backward(grad, x, gamma, rstd, kind: str, need_gamma: bool, need_beta: bool):
    """``(dx, dgamma, dbeta)``; see ``fastdl.backend.cpu.norm_backward``."""
    grad, x, gamma, rstd = _float32("norm_backward", grad, x, gamma, rstd)
    return norms.norm_backward(runtime.cupy(), grad, x, gamma, rstd, kind, need_gamma, need_beta)


def _float32(op: str, *arrays):
    """The arrays that are not None as float32 CuPy arrays, the Nones left in place."""
    present = [a for a in arrays if a is not None]
    converted = iter(runtime.float32_operands(op, *present))
    return tuple(None if a is None else next(converted) for a in arrays)
