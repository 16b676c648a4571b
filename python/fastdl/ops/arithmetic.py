"""Arithmetic with NumPy's broadcasting: add, subtract, multiply, divide, power, negative, with
Keras's argument names. The Tensor operators (``+ - * / ** -x``) are these operations'
``apply``."""
from __future__ import annotations

from typing import Any

import numpy as np

from fastdl.autograd import Function
from fastdl.ops.common import broadcast_error, operand, operands, shape_of, unbroadcast
from fastdl.tensor import Tensor


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (shape_of(a), shape_of(b))
        try:
            return a + b
        except ValueError:
            raise broadcast_error("add", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(grad, sb)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (shape_of(a), shape_of(b))
        try:
            return a - b
        except ValueError:
            raise broadcast_error("sub", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return (unbroadcast(grad, sa) if ctx.needs_grad(0) else None,
                unbroadcast(-grad, sb) if ctx.needs_grad(1) else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.requires_grad:
            ctx.a, ctx.b = a, b
        try:
            return a * b
        except ValueError:
            raise broadcast_error("mul", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return (unbroadcast(grad * b, shape_of(a)) if ctx.needs_grad(0) else None,
                unbroadcast(grad * a, shape_of(b)) if ctx.needs_grad(1) else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            out = a / b
        except ValueError:
            raise broadcast_error("div", a, b) from None
        if ctx.requires_grad:
            ctx.a, ctx.b, ctx.out = a, b, out
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return (unbroadcast(grad / b, shape_of(a)) if ctx.needs_grad(0) else None,
                unbroadcast(-grad * ctx.out / b, shape_of(b)) if ctx.needs_grad(1) else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            out = a ** b
        except ValueError:
            raise broadcast_error("pow", a, b) from None
        if ctx.requires_grad:
            ctx.a, ctx.b, ctx.out = a, b, out
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.a, ctx.b, ctx.out
        ga = gb = None
        if ctx.needs_grad(0):
            ga = unbroadcast(grad * b * a ** (b - 1), shape_of(a))
        if ctx.needs_grad(1):
            gb = unbroadcast(grad * out * np.log(a), shape_of(b))
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


def add(x1: Any, x2: Any) -> Tensor:
    """``x1 + x2`` with NumPy's broadcasting.

    >>> import fastdl
    >>> fastdl.ops.add([1.0, 2.0], 3.0)
    tensor([4., 5.])
    """
    return Add.apply(*operands(x1, x2))


def subtract(x1: Any, x2: Any) -> Tensor:
    """``x1 - x2`` with NumPy's broadcasting.

    >>> import fastdl
    >>> fastdl.ops.subtract(fastdl.tensor([[1.0], [2.0]]), fastdl.tensor([1.0, 0.5])).shape
    (2, 2)
    """
    return Sub.apply(*operands(x1, x2))


def multiply(x1: Any, x2: Any) -> Tensor:
    """``x1 * x2`` with NumPy's broadcasting.

    >>> import fastdl
    >>> fastdl.ops.multiply(fastdl.tensor([1.0, 2.0]), 2.0)
    tensor([2., 4.])
    """
    return Mul.apply(*operands(x1, x2))


def divide(x1: Any, x2: Any) -> Tensor:
    """``x1 / x2`` with NumPy's broadcasting.

    >>> import fastdl
    >>> fastdl.ops.divide(fastdl.tensor([1.0, 2.0]), 4.0)
    tensor([0.25, 0.5 ])
    """
    return Div.apply(*operands(x1, x2))


def power(x1: Any, x2: Any) -> Tensor:
    """``x1 ** x2`` with NumPy's broadcasting; the gradient with respect to ``x2`` is
    ``x1 ** x2 * log(x1)``.

    >>> import fastdl
    >>> fastdl.ops.power(fastdl.tensor([2.0, 3.0]), 2)
    tensor([4., 9.])
    """
    return Pow.apply(*operands(x1, x2))


def negative(x: Any) -> Tensor:
    """``-x``.

    >>> import fastdl
    >>> fastdl.ops.negative([1.0, -2.0])
    tensor([-1.,  2.])
    """
    return Neg.apply(operand(x))
