"""Elementwise activations on fastdl's kernels: relu, leaky_relu, sigmoid, tanh, step and gelu.

>>> import fastdl
>>> fastdl.relu([-1.0, 0.0, 2.0])
tensor([0., 0., 2.])
"""
from __future__ import annotations

from typing import Any

from fastdl.autograd import Function
from fastdl.backend import kernels_for
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


def relu(x: Any) -> Tensor:
    """``max(x, 0)`` elementwise. NaN stays NaN; the gradient at 0 is 0.

    >>> import numpy as np, fastdl
    >>> fastdl.relu(np.array([-1.0, 0.0, 2.0], np.float32))
    tensor([0., 0., 2.])
    """
    return Activation.apply(operand(x), "relu", 0.0)


def leaky_relu(x: Any, alpha: float = 0.2) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha * x`` (slope 0.2 by default).

    >>> import fastdl
    >>> fastdl.leaky_relu([-1.0, 2.0], alpha=0.1)
    tensor([-0.1,  2. ])
    """
    return Activation.apply(operand(x), "leaky_relu", float(alpha))


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
