"""Normalization by statistics of the data itself: by the batch's (the training-mode operation
of BatchNormalization, which returns the batch mean and variance beside its output), and by
each sample's over some of its axes (Keras's ``layer_normalization`` and ``rms_normalization``,
on fused kernels)."""
from __future__ import annotations

import math
import warnings
from typing import Any, Optional, Sequence, Union

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import kernels_for
from fastdl.backend.geometry import axis_index
from fastdl.ops.common import operand
from fastdl.ops.conversion import cast
from fastdl.ops.shaping import reshape, transpose
from fastdl.tensor import Tensor

#: Keras's ``backend.epsilon()``, the default epsilon of its normalization operations.
DEFAULT_EPSILON = 1e-7


class BatchNorm(Function):
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` with the mean and (biased) variance of
    the batch itself, taken over ``axes``; gamma and beta are shaped to broadcast against x.

    Three outputs: the normalized tensor, and the batch mean and variance with the ``axes``
    removed (what a layer folds into its moving averages). All three are differentiable; an
    output that does not reach the loss costs nothing in backward (``materialize_grads`` is
    off, so its gradient arrives as None)."""

    materialize_grads = False

    @staticmethod
    def forward(ctx, x, gamma, beta, axes, eps):
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = np.mean(np.square(centered), axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + x.dtype.type(eps))
        x_hat = centered * inv_std
        if ctx.requires_grad:
            ctx.x_hat, ctx.inv_std, ctx.gamma, ctx.axes = x_hat, inv_std, gamma, axes
            ctx.beta_shape = np.shape(beta)
        return x_hat * gamma + beta, mean.squeeze(axis=axes), var.squeeze(axis=axes)

    @staticmethod
    def backward(ctx, grad, grad_mean, grad_var):
        axes, x_hat, inv_std = ctx.axes, ctx.x_hat, ctx.inv_std
        count = x_hat.size // inv_std.size
        dx = dgamma = dbeta = None
        if grad is not None:
            dbeta = grad.sum(axis=axes, keepdims=True)
            dgamma = (grad * x_hat).sum(axis=axes, keepdims=True)
            # d/dx of the normalization, with the batch mean and variance depending on x.
            dx = (ctx.gamma * inv_std / count) * (count * grad - dbeta - x_hat * dgamma)
            dgamma = dgamma.reshape(np.shape(ctx.gamma))
            dbeta = dbeta.reshape(ctx.beta_shape)
        if grad_mean is not None:  # d mean / dx = 1 / count
            dx = _plus(dx, np.expand_dims(grad_mean, axes) / count)
        if grad_var is not None:  # d var / dx = 2 (x - mean) / count; x - mean = x_hat / inv_std
            dx = _plus(dx, np.expand_dims(grad_var, axes) * (2.0 / count) * (x_hat / inv_std))
        if dx is not None and dx.shape != x_hat.shape:  # the mean's gradient alone
            dx = np.broadcast_to(dx, x_hat.shape)
        return dx, dgamma, dbeta, None, None


def _plus(total: Any, term: Any) -> Any:
    """``total + term``, where a None total is nothing yet."""
    return term if total is None else total + term


def batch_norm(x: Any, gamma: Any = 1.0, beta: Any = 0.0, axes: Any = (0,),
               epsilon: float = 1e-3) -> tuple[Tensor, Tensor, Tensor]:
    """Normalizes ``x`` by the mean and (biased) variance of the batch over ``axes``, then
    scales by ``gamma`` and shifts by ``beta`` (both broadcast against ``x``). Returns the
    output and the batch mean and variance (``axes`` removed), all three differentiable.

    >>> import fastdl
    >>> x = fastdl.tensor([[1.0, 10.0], [3.0, 30.0]])
    >>> y, mean, var = fastdl.ops.batch_norm(x, epsilon=0.0)
    >>> y, mean, var
    (tensor([[-1., -1.],
            [ 1.,  1.]]), tensor([ 2., 20.]), tensor([  1., 100.]))
    """
    axes = tuple(axes) if isinstance(axes, (tuple, list)) else (int(axes),)
    return BatchNorm.apply(operand(x), operand(gamma), operand(beta), axes, float(epsilon))


class Normalize(Function):
    """Each row of ``x`` (its last axis) normalized by its own statistics, ``kind`` being
    ``'layer'``, ``'rms'`` or ``'variance_scaling'`` (see ``fastdl.backend.cpu.norm_forward``),
    times ``gamma`` and plus ``beta`` (each None or one value per column), on one fused kernel
    forward and one backward; only 1 / sqrt(statistic + epsilon) of each row is kept."""

    @staticmethod
    def forward(ctx, x, gamma, beta, epsilon, kind):
        y, rstd = kernels_for(x).norm_forward(x, gamma, beta, epsilon, kind)
        if ctx.requires_grad:
            ctx.x, ctx.gamma, ctx.rstd, ctx.kind = x, gamma, rstd, kind
        return y

    @staticmethod
    def backward(ctx, grad):
        need_gamma = ctx.gamma is not None and ctx.needs_grad(1)
        dx, dgamma, dbeta = kernels_for(grad).norm_backward(
            grad, ctx.x, ctx.gamma, ctx.rstd, ctx.kind, need_gamma, ctx.needs_grad(2))
        return dx, dgamma, dbeta, None, None


def normalize(op: str, x: Any, gamma: Any, beta: Any, axis: Union[int, Sequence[int]],
               epsilon: Optional[float], kind: str) -> Tensor:
    """Normalizes ``x`` over ``axis`` (an int or several) by ``kind`` (see :class:`Normalize`),
    errors naming ``op`` (an operation or a layer): those axes are moved last (where they are
    not already) and flattened into the rows the kernels normalize; ``gamma`` and ``beta`` need
    as many values as the rows have (any shape: Keras gives them the axes' sizes), and take x's
    dtype; an x of another dtype than float32 or float64 is computed in float32."""
    x = operand(x)
    if x.dtype not in (np.float32, np.float64):
        x = cast(x, "float32")
    ndim = len(x.shape)
    chosen = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not chosen:
        raise ValueError(f"{op}: axis must name at least one axis; got {axis!r}")
    axes = sorted({axis_index(op, ndim, a) for a in chosen})
    if len(axes) != len(chosen):
        raise ValueError(f"{op}: axis {axis!r} names an axis twice for an input of shape "
                         f"{tuple(x.shape)}")
    others = [d for d in range(ndim) if d not in axes]
    order = others + axes
    moved = order != list(range(ndim))
    if moved:
        x = transpose(x, order)
    lead = tuple(x.shape[:len(others)])
    normalized = tuple(x.shape[len(others):])
    cols = math.prod(normalized)
    rows_x = reshape(x, lead + (cols,))
    params = []
    for name, p in (("gamma", gamma), ("beta", beta)):
        if p is None:
            params.append(None)
            continue
        p = operand(p)
        if math.prod(p.shape) != cols:
            raise ValueError(f"{op}: {name} has shape {tuple(p.shape)} but the normalized axes "
                             f"{axes} of the input of shape {tuple(x.shape)} hold {normalized}; "
                             f"expected {cols} values")
        if p.dtype != x.dtype:
            p = cast(p, x.dtype)
        params.append(reshape(p, (cols,)) if tuple(p.shape) != (cols,) else p)
    eps = DEFAULT_EPSILON if epsilon is None else float(epsilon)
    y = reshape(Normalize.apply(rows_x, params[0], params[1], eps, kind), lead + normalized)
    return transpose(y, list(np.argsort(order))) if moved else y


def layer_normalization(x: Any, gamma: Any = None, beta: Any = None,
                        axis: Union[int, Sequence[int]] = -1, epsilon: Optional[float] = None,
                        rms_scaling: bool = False) -> Tensor:
    """Normalizes each sample of ``x`` over ``axis`` (an int or several) to mean 0 and variance
    1, ``(x - mean) / sqrt(var + epsilon)``, then scales by ``gamma`` and shifts by ``beta``
    (None, or as many values as the normalized axes hold); epsilon defaults to Keras's
    ``backend.epsilon()``, 1e-7. As Keras's ``ops.layer_normalization``, on one fused kernel
    forward and one backward, the statistics taken stably (rows of values near 1e6 lose
    nothing to their mean).

    ``rms_scaling=True`` is Keras's deprecated variant, which divides by ``sqrt(var +
    epsilon)`` without centering and takes no beta (Keras warns that it scales by the
    variance rather than by the root mean square; :func:`rms_normalization` does the latter).

    >>> import fastdl
    >>> x = fastdl.tensor([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]])
    >>> fastdl.ops.layer_normalization(x).numpy().round(4)
    array([[-1.2247,  0.    ,  1.2247],
           [ 0.    ,  0.    ,  0.    ]], dtype=float32)
    """
    if rms_scaling:
        warnings.warn("layer_normalization: rms_scaling=True divides by the square root of the "
                      "variance (as Keras's deprecated argument does), not by the root mean "
                      "square; use rms_normalization for RMS normalization", stacklevel=2)
        if beta is not None:
            raise ValueError("layer_normalization: rms_scaling=True takes no beta (it does not "
                             "center)")
    return normalize("layer_normalization", x, gamma, beta, axis, epsilon,
                      "variance_scaling" if rms_scaling else "layer")


def rms_normalization(x: Any, scale: Any = None, axis: Union[int, Sequence[int]] = -1,
                      epsilon: Optional[float] = None) -> Tensor:
    """Divides each sample of ``x`` by its root mean square over ``axis`` (an int or several),
    ``x / sqrt(mean(x**2) + epsilon)``, then multiplies by ``scale`` (None, or as many values as
    the normalized axes hold); epsilon defaults to 1e-7. As Keras's ``ops.rms_normalization``,
    on one fused kernel forward and one backward.

    >>> import fastdl
    >>> fastdl.ops.rms_normalization(fastdl.tensor([[3.0, 4.0]]), epsilon=0.0).numpy().round(4)
    array([[0.8485, 1.1314]], dtype=float32)
    """
    return normalize("rms_normalization", x, scale, None, axis, epsilon, "rms")
