"""Elementwise activations: relu, leaky_relu, sigmoid, tanh, step and gelu on fastdl's kernels;
silu (on the sigmoid kernel), elu and softplus on the array library.

>>> import fastdl
>>> fastdl.relu([-1.0, 0.0, 2.0])
tensor([0., 0., 2.])
"""
from __future__ import annotations

from typing import Any

from fastdl.autograd import Function
from fastdl.backend import array_module, kernels_for
from fastdl.ops.common import operand
from fastdl.tensor import Tensor


class Activation(Function):
    """An elementwise activation on fastdl's kernels, by kernel name. sigmoid, tanh and relu
    keep their output for backward, the others their input."""

    @staticmethod
    def forward(ctx, x, name, alpha):
        out = kernels_for(x).activation_forward(name, x, alpha)
        if ctx.requires_grad:
            ctx.name, ctx.alpha = name, alpha
            ctx.saved = out if name in ("sigmoid", "tanh", "relu") else x
        return out

    @staticmethod
    def backward(ctx, grad):
        kernels = kernels_for(grad)
        return kernels.activation_backward(ctx.name, grad, ctx.saved, ctx.alpha), None, None


class Silu(Function):
    """``x * sigmoid(x)``, the sigmoid from fastdl's kernel and kept for backward."""

    @staticmethod
    def forward(ctx, x):
        sig = kernels_for(x).activation_forward("sigmoid", x, 0.0)
        if ctx.requires_grad:
            ctx.x, ctx.sig = x, sig
        return x * sig

    @staticmethod
    def backward(ctx, grad):
        x, sig = ctx.x, ctx.sig
        return grad * (sig * (1 + x * (1 - sig)))


class Elu(Function):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``; the derivative is the output plus
    ``alpha`` on the negative side, 1 on the positive one."""

    @staticmethod
    def forward(ctx, x, alpha):
        xp = array_module(x)
        # expm1 only of the negative part: exact near 0, and no overflow for large x.
        negative_side = alpha * xp.expm1(xp.minimum(x, 0))
        out = xp.where(x > 0, x, negative_side)
        if ctx.requires_grad:
            ctx.x, ctx.negative_side, ctx.alpha = x, negative_side, alpha
        return out

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        slope = xp.where(ctx.x > 0, 1, ctx.negative_side + ctx.alpha).astype(grad.dtype)
        return grad * slope, None


class Softplus(Function):
    """``log(1 + exp(x))`` as ``max(x, 0) + log1p(exp(-|x|))``, which cannot overflow; its
    derivative is the sigmoid, from fastdl's kernel."""

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        if ctx.requires_grad:
            ctx.x = x
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        return grad * kernels_for(grad).activation_forward("sigmoid", ctx.x, 0.0)


def relu(x: Any) -> Tensor:
    """``max(x, 0)`` elementwise. NaN stays NaN; the gradient at 0 is 0.

    >>> import numpy as np, fastdl
    >>> fastdl.relu(np.array([-1.0, 0.0, 2.0], np.float32))
    tensor([0., 0., 2.])
    """
    return Activation.apply(operand(x), "relu", 0.0)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x`` (0.2 by default, as Keras's).

    >>> import fastdl
    >>> fastdl.leaky_relu([-1.0, 2.0], negative_slope=0.1)
    tensor([-0.1,  2. ])
    """
    return Activation.apply(operand(x), "leaky_relu", float(negative_slope))


def sigmoid(x: Any) -> Tensor:
    """The logistic function ``1 / (1 + exp(-x))`` elementwise.

    >>> import fastdl
    >>> fastdl.sigmoid([0.0, 100.0, -100.0])
    tensor([0.5, 1. , 0. ])
    """
    return Activation.apply(operand(x), "sigmoid", 0.0)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent elementwise.

    >>> import fastdl
    >>> fastdl.tanh([0.0, 30.0])
    tensor([0., 1.])
    """
    return Activation.apply(operand(x), "tanh", 0.0)


def step(x: Any) -> Tensor:
    """Heaviside step: 1 where ``x > 0``, else 0 (NaN stays NaN). Its gradient is 0.

    >>> import fastdl
    >>> fastdl.step([-2.0, 0.0, 3.0])
    tensor([0., 0., 1.])
    """
    return Activation.apply(operand(x), "step", 0.0)


def gelu(x: Any, approximate: bool = False) -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``, Phi the standard normal CDF (erf-based); with
    ``approximate=True`` the tanh approximation
    ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``.

    >>> import fastdl
    >>> fastdl.gelu(fastdl.tensor([-1.0, 0.0, 1.0], dtype="float64")).numpy().round(6)
    array([-0.158655,  0.      ,  0.841345])
    >>> fastdl.gelu(fastdl.tensor([1.0], dtype="float64"), approximate=True).numpy().round(6)
    array([0.841192])
    """
    return Activation.apply(operand(x), "gelu_tanh" if approximate else "gelu", 0.0)


def silu(x: Any) -> Tensor:
    """The sigmoid-weighted linear unit (swish) ``x * sigmoid(x)`` elementwise.

    >>> import fastdl
    >>> fastdl.ops.silu(fastdl.tensor([-1.0, 0.0, 2.0], dtype="float64")).numpy().round(6)
    array([-0.268941,  0.      ,  1.761594])
    """
    return Silu.apply(operand(x))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """The exponential linear unit: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    >>> import fastdl
    >>> fastdl.ops.elu(fastdl.tensor([-1.0, 2.0], dtype="float64"), alpha=0.5).numpy().round(6)
    array([-0.31606,  2.     ])
    """
    return Elu.apply(operand(x), float(alpha))


def softplus(x: Any) -> Tensor:
    """``log(1 + exp(x))`` elementwise, without overflow for large ``x``.

    >>> import fastdl
    >>> fastdl.ops.softplus([-1.0, 0.0, 1000.0])
    tensor([3.1326163e-01, 6.9314718e-01, 1.0000000e+03])
    """
    return Softplus.apply(operand(x))
