"""Elementwise functions: exp, log, log1p, sqrt, square, abs, sign, clip, maximum, minimum and
where. The floating ones take integer inputs as float32, as Keras does."""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module
from fastdl.ops.common import (INDEX_DTYPE, array_module_of, broadcast_error, floating, operand,
                               operands, shape_of, unbroadcast)
from fastdl.tensor import Tensor


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.a


class Log1p(Function):
    """``log(1 + x)``, accurate where x is tiny."""

    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return array_module(a).log1p(a)

    @staticmethod
    def backward(ctx, grad):
        return grad / (1 + ctx.a)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.out)


class Square(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return a * a

    @staticmethod
    def backward(ctx, grad):
        return grad * (2 * ctx.a)


class Sign(Function):
    """-1, 0 or 1; its gradient is 0 everywhere (the jump at 0 included)."""

    @staticmethod
    def forward(ctx, a):
        ctx.shape = a.shape
        return array_module(a).sign(a)

    @staticmethod
    def backward(ctx, grad):
        return array_module(grad).zeros(ctx.shape, grad.dtype)


class Abs(Function):
    """Gradient sign(x): 0 at 0."""

    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.sign(ctx.a)


class Clip(Function):
    """Gradient 1 inside [lo, hi], boundaries included, 0 outside."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.a, ctx.lo, ctx.hi = a, lo, hi
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.a
        inside = array_module(a).ones(a.shape, bool)
        if ctx.lo is not None:
            inside &= a >= ctx.lo
        if ctx.hi is not None:
            inside &= a <= ctx.hi
        return grad * inside


class _Extremum(Function):
    """maximum/minimum of two arrays; where they are equal each gets half the gradient."""

    pick = staticmethod(np.maximum)

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.a, ctx.b = a, b
        try:
            return cls.pick(a, b)
        except ValueError:
            raise broadcast_error(cls.__name__.lower(), a, b) from None

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.a, ctx.b
        first = (cls.pick(a, b) == a).astype(grad.dtype)
        second = (cls.pick(a, b) == b).astype(grad.dtype)
        ties = first * second
        share_a = first - 0.5 * ties
        share_b = second - 0.5 * ties
        return (unbroadcast(grad * share_a, shape_of(a)) if ctx.needs_grad(0) else None,
                unbroadcast(grad * share_b, shape_of(b)) if ctx.needs_grad(1) else None)


class Maximum(_Extremum):
    pick = staticmethod(np.maximum)


class Minimum(_Extremum):
    pick = staticmethod(np.minimum)


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = array_module_of(condition, a, b).asarray(condition, bool)
        ctx.shapes = (shape_of(a), shape_of(b))
        return np.where(ctx.condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        c = ctx.condition
        sa, sb = ctx.shapes
        zero = array_module(grad).zeros((), grad.dtype)
        return (None,
                unbroadcast(np.where(c, grad, zero), sa) if ctx.needs_grad(1) else None,
                unbroadcast(np.where(c, zero, grad), sb) if ctx.needs_grad(2) else None)


def exp(x: Any) -> Tensor:
    """e**x elementwise.

    >>> import fastdl
    >>> fastdl.exp([0.0, 1.0])
    tensor([1.      , 2.718282])
    """
    return Exp.apply(floating(operand(x)))


def log(x: Any) -> Tensor:
    """Natural logarithm elementwise.

    >>> import fastdl
    >>> fastdl.log([1.0])
    tensor([0.])
    """
    return Log.apply(floating(operand(x)))


def log1p(x: Any) -> Tensor:
    """``log(1 + x)`` elementwise, accurate for tiny ``x`` where ``log(1 + x)`` rounds to 0.

    >>> import fastdl
    >>> fastdl.ops.log1p(fastdl.tensor([1e-10, 1.0], dtype="float64")).numpy()
    array([1.00000000e-10, 6.93147181e-01])
    """
    return Log1p.apply(floating(operand(x)))


def sqrt(x: Any) -> Tensor:
    """Square root elementwise.

    >>> import fastdl
    >>> fastdl.sqrt([4.0, 9.0])
    tensor([2., 3.])
    """
    return Sqrt.apply(floating(operand(x)))


def square(x: Any) -> Tensor:
    """``x * x`` elementwise (integers stay integers).

    >>> import fastdl
    >>> fastdl.ops.square([-3.0, 0.5])
    tensor([9.  , 0.25])
    """
    return Square.apply(operand(x))


def sign(x: Any) -> Tensor:
    """-1 where ``x < 0``, 0 where it is 0, 1 where it is positive, in the dtype of ``x``; the
    gradient is 0.

    >>> import fastdl
    >>> fastdl.ops.sign([-2.0, 0.0, 3.0])
    tensor([-1.,  0.,  1.])
    """
    return Sign.apply(operand(x))


def abs(x: Any) -> Tensor:  # noqa: A001 (the NumPy name)
    """Absolute value elementwise; its gradient at 0 is 0.

    >>> import fastdl
    >>> fastdl.abs([-2.0, 3.0])
    tensor([2., 3.])
    """
    return Abs.apply(operand(x))


def clip(x: Any, x_min: Optional[float] = None, x_max: Optional[float] = None) -> Tensor:
    """Values limited to [x_min, x_max] (either may be None: no limit on that side); gradient
    1 inside, boundaries included, 0 outside.

    >>> import fastdl
    >>> fastdl.clip([-2.0, 0.5, 3.0], 0.0, 1.0)
    tensor([0. , 0.5, 1. ])
    >>> fastdl.clip([-2.0, 0.5, 3.0], x_max=1.0)
    tensor([-2. ,  0.5,  1. ])
    """
    return Clip.apply(operand(x), lo=x_min, hi=x_max)


def maximum(x1: Any, x2: Any) -> Tensor:
    """Elementwise maximum with broadcasting; where x1 == x2 each gets half the gradient.

    >>> import fastdl
    >>> fastdl.maximum([1.0, 5.0], 2.0)
    tensor([2., 5.])
    """
    return Maximum.apply(*operands(x1, x2))


def minimum(x1: Any, x2: Any) -> Tensor:
    """Elementwise minimum with broadcasting; where x1 == x2 each gets half the gradient.

    >>> import fastdl
    >>> fastdl.minimum([1.0, 5.0], 2.0)
    tensor([1., 2.])
    """
    return Minimum.apply(*operands(x1, x2))


def where(condition: Any, x1: Any = None, x2: Any = None) -> Union[Tensor, tuple]:
    """``x1`` where ``condition`` holds, else ``x2`` (NumPy broadcasting); the condition gets no
    gradient. Without ``x1`` and ``x2``, the indices where ``condition`` holds: one int32
    Tensor per axis, in a tuple that indexes a tensor of the condition's shape.

    >>> import fastdl
    >>> x = fastdl.tensor([-1.0, 2.0])
    >>> fastdl.where(x > 0, x, 0.0)
    tensor([0., 2.])
    >>> fastdl.where([[True, False], [False, True]])
    (tensor([0, 1], dtype=int32), tensor([0, 1], dtype=int32))
    """
    if isinstance(condition, Tensor):
        condition = condition.data
    if x1 is None and x2 is None:
        condition = operand(condition)
        found = array_module(condition).nonzero(condition)
        return tuple(Tensor(axis.astype(INDEX_DTYPE)) for axis in found)
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither (for the indices where the "
                         "condition holds)")
    return Where.apply(condition, *operands(x1, x2))
