"""Inverted dropout on the GPU (``fastdl._cuda``), the signatures of ``fastdl._C``'s
``dropout_forward`` / ``dropout_backward``.

The mask is drawn from Philox4x32-10 keyed by ``seed``: a function of (seed, element index)
only, so the same seed gives the same mask on every run and launch shape, but not the mask the
CPU draws from that seed (another generator).
"""
from __future__ import annotations

import numpy as np

from fastdl.backend.cuda import runtime

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, p: float, seed: int):
    """``(out, keep)``: ``out = x / (1 - p)`` where ``keep``, else 0, with ``keep`` (uint8) 1
    for each element with probability ``1 - p``."""
    (x,) = runtime.float32_operands("dropout_forward", x)
    out = runtime.empty(x.shape)
    keep = runtime.empty(x.shape, np.uint8)
    runtime.kernels().dropout_forward(x, out, keep, float(p), int(seed), runtime.stream())
    return out, keep


def dropout_backward(grad, keep, p: float):
    """``grad / (1 - p)`` where ``keep`` (the mask :func:`dropout_forward` returned), else 0."""
    (grad,) = runtime.float32_operands("dropout_backward", grad)
    cp = runtime.cupy()
    if isinstance(keep, cp.ndarray):
        keep = cp.ascontiguousarray(keep)
    out = runtime.empty(grad.shape)
    runtime.kernels().dropout_backward(grad, keep, out, float(p), runtime.stream())
    return out
