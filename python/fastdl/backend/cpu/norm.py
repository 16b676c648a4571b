"""Layer normalization and its relatives on the CPU (``fastdl._C``), along the last axis: the
rows normalized by their own statistics, fused with the scale and the shift, and the gradients
in one pass over the rows (see ``csrc/include/fastdl/norm.h``)."""
from __future__ import annotations

from fastdl import _C

__all__ = ["norm_forward", "norm_backward"]


def norm_forward(x, gamma, beta, epsilon: float, kind: str):
    """``(y, rstd)``: each row of ``x`` (its last axis) normalized, ``kind`` ``'layer'``
    ((x - mean) / sqrt(var + epsilon)), ``'rms'`` (x / sqrt(mean(x^2) + epsilon)) or
    ``'variance_scaling'`` (x / sqrt(var + epsilon)), times ``gamma`` and plus ``beta`` (each
    None or one value per column; beta only for 'layer'); and 1 / sqrt(...) of each row.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> y, rstd = cpu.norm_forward(np.array([[1.0, 3.0], [2.0, 2.0]]), None, None, 1e-6, "layer")
    >>> y.round(4)
    array([[-1.,  1.],
           [ 0.,  0.]])

    A constant row has a variance of 0: with ``epsilon=0`` its values are 0/0, NaN.
    """
    return _C.norm_forward(x, gamma, beta, float(epsilon), kind)


def norm_backward(grad, x, gamma, rstd, kind: str, need_gamma: bool, need_beta: bool):
    """``(dx, dgamma, dbeta)`` of :func:`norm_forward` from ``grad`` and its ``rstd``; an
    unneeded gradient is None. dgamma and dbeta are the sums over the rows, in an order that
    does not depend on the thread count.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> x = np.array([[1.0, 3.0]])
    >>> y, rstd = cpu.norm_forward(x, None, None, 0.0, "rms")
    >>> dx, dgamma, _ = cpu.norm_backward(np.ones_like(x), x, None, rstd, "rms", True, False)
    >>> dgamma.round(4)
    array([0.4472, 1.3416])
    """
    return _C.norm_backward(grad, x, gamma, rstd, kind, bool(need_gamma), bool(need_beta))
