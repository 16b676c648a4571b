"""Elementwise functions: exp, log, sqrt, abs, clip, maximum, minimum and where."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module
from fastdl.ops.common import array_module_of, broadcast_error, operand, operands, shape_of, \
    unbroadcast
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


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.out)


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
    return Exp.apply(operand(x))


def log(x: Any) -> Tensor:
    """Natural logarithm elementwise.

    >>> import fastdl
    >>> fastdl.log([1.0])
    tensor([0.])
    """
    return Log.apply(operand(x))


def sqrt(x: Any) -> Tensor:
    """Square root elementwise.

    >>> import fastdl
    >>> fastdl.sqrt([4.0, 9.0])
    tensor([2., 3.])
    """
    return Sqrt.apply(operand(x))


def abs(x: Any) -> Tensor:  # noqa: A001 (the NumPy name)
    """Absolute value elementwise; its gradient at 0 is 0.

    >>> import fastdl
    >>> fastdl.abs([-2.0, 3.0])
    tensor([2., 3.])
    """
    return Abs.apply(operand(x))


def clip(x: Any, min: Optional[float] = None, max: Optional[float] = None) -> Tensor:  # noqa: A002
    """Values limited to [min, max] (either may be None); gradient 1 inside, boundaries
    included, 0 outside.

    >>> import fastdl
    >>> fastdl.clip([-2.0, 0.5, 3.0], min=0.0, max=1.0)
    tensor([0. , 0.5, 1. ])
    """
    return Clip.apply(operand(x), lo=min, hi=max)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum with broadcasting; where a == b each gets half the gradient.

    >>> import fastdl
    >>> fastdl.maximum([1.0, 5.0], 2.0)
    tensor([2., 5.])
    """
    return Maximum.apply(*operands(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum with broadcasting; where a == b each gets half the gradient.

    >>> import fastdl
    >>> fastdl.minimum([1.0, 5.0], 2.0)
    tensor([1., 2.])
    """
    return Minimum.apply(*operands(a, b))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (NumPy broadcasting); the condition gets no
    gradient.

    >>> import fastdl
    >>> x = fastdl.tensor([-1.0, 2.0])
    >>> fastdl.where(x > 0, x, 0.0)
    tensor([0., 2.])
    """
    if isinstance(condition, Tensor):
        condition = condition.data
    return Where.apply(condition, *operands(a, b))
