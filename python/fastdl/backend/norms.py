"""The normalization of rows (layer normalization and its relatives) written once over an array
module: what the GPU backend runs (CuPy array expressions) and what tests hold the CPU kernels
to (NumPy). The arguments, results and conventions are those of
``fastdl.backend.cpu.norm_forward`` / ``norm_backward`` (see ``csrc/include/fastdl/norm.h``):
along the last axis; ``kind`` is ``'layer'``, ``'rms'`` or ``'variance_scaling'``.

The mean is taken as the row's first value plus the mean of the differences from it, as the
CPU kernels take it, so that a row of values near 1e6 keeps the digits of its spread.

>>> import numpy as np
>>> from fastdl.backend import norms
>>> y, rstd = norms.norm_forward(np, np.array([[1.0, 3.0]]), None, None, 0.0, "layer")
>>> y, rstd
(array([[-1.,  1.]]), array([1.]))
"""
from __future__ import annotations

from typing import Any

#: The kinds of normalization, as the kernels name them.
KINDS = ("layer", "rms", "variance_scaling")


def _centered(xp: Any, x):
    """``x`` minus the mean of each row, the mean taken about the row's first value."""
    shifted = x - x[..., :1]
    return shifted - xp.mean(shifted, axis=-1, keepdims=True)


def _normalized(xp: Any, x, kind: str, epsilon: float):
    """``(xn, rstd, centered)``: each row divided by the square root of its statistic plus
    epsilon (centered first for 'layer'), 1 / that root of each row (kept dims), and the
    centered rows (None for 'rms')."""
    if kind not in KINDS:
        raise ValueError(f"norm: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind == "rms":
        rstd = 1 / xp.sqrt(xp.mean(x * x, axis=-1, keepdims=True) + epsilon)
        return x * rstd, rstd, None
    centered = _centered(xp, x)
    rstd = 1 / xp.sqrt(xp.mean(centered * centered, axis=-1, keepdims=True) + epsilon)
    return (centered if kind == "layer" else x) * rstd, rstd, centered


def norm_forward(xp: Any, x, gamma, beta, epsilon: float, kind: str):
    """``(y, rstd)``: the normalized rows times ``gamma`` plus ``beta`` (each None or one
    value per column), and 1 / sqrt(statistic + epsilon) of each row (shape ``x.shape[:-1]``)."""
    xn, rstd, _ = _normalized(xp, x, kind, epsilon)
    y = xn if gamma is None else xn * gamma
    if beta is not None:
        y = y + beta
    return y.astype(x.dtype, copy=False), rstd[..., 0].astype(x.dtype, copy=False)


def norm_backward(xp: Any, grad, x, gamma, rstd, kind: str, need_gamma: bool, need_beta: bool):
    """``(dx, dgamma, dbeta)`` of :func:`norm_forward` from ``grad`` and its ``rstd``; an
    unneeded gradient is None.

    With u = grad * gamma, xn the normalized rows and r = rstd: dx = r (u - mean(u) - xn
    mean(u xn)) for 'layer', r (u - xn mean(u xn)) for 'rms', and r (u - c r mean(u xn)) for
    'variance_scaling', c the centered rows.
    """
    r = rstd[..., None]
    xn = (x * r) if kind != "layer" else _centered(xp, x) * r
    u = grad if gamma is None else grad * gamma
    mean_u_xn = xp.mean(u * xn, axis=-1, keepdims=True)
    if kind == "layer":
        dx = r * (u - xp.mean(u, axis=-1, keepdims=True) - xn * mean_u_xn)
    elif kind == "rms":
        dx = r * (u - xn * mean_u_xn)
    else:
        dx = r * (u - _centered(xp, x) * r * mean_u_xn)
    rows = grad.reshape(-1, grad.shape[-1])
    dgamma = (rows * xn.reshape(rows.shape)).sum(axis=0) if need_gamma else None
    dbeta = rows.sum(axis=0) if need_beta else None
    return dx.astype(x.dtype, copy=False), dgamma, dbeta
