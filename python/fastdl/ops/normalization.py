"""Normalization by the batch's own statistics: the training-mode operation of
BatchNormalization, which returns the batch mean and variance beside its output."""
from __future__ import annotations

from typing import Any

import numpy as np

from fastdl.autograd import Function
from fastdl.ops.common import operand
from fastdl.tensor import Tensor


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
