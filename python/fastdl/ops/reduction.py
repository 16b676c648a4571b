"""Reductions over axes: sum, mean, max, min and var (``axis`` None, an int or a sequence of
ints; ``keepdims`` keeps the reduced axes with size 1)."""
from __future__ import annotations

import builtins
from typing import Any, Optional

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module
from fastdl.ops.common import normalize_axis, operand
from fastdl.tensor import Tensor


def _expand_reduced(grad: Any, shape: tuple, axis: Optional[tuple], keepdims: bool) -> Any:
    """``grad`` of a reduction, with its reduced axes back (size 1), ready to broadcast."""
    if axis is None:
        return grad.reshape((1,) * len(shape))
    return grad if keepdims else np.expand_dims(grad, axis)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, normalize_axis(axis, a.ndim), keepdims
        return array_module(a).asarray(a.sum(axis=ctx.axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, normalize_axis(axis, a.ndim), keepdims
        out = array_module(a).asarray(a.mean(axis=ctx.axis, keepdims=keepdims))
        ctx.count = a.size // builtins.max(out.size, 1) if a.size else 0
        return out

    @staticmethod
    def backward(ctx, grad):
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g / ctx.count, ctx.shape)


class _ArgExtreme(Function):
    """max/min over axes; tied elements share the gradient equally."""

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, a, axis, keepdims):
        axis = normalize_axis(axis, a.ndim)
        ctx.a, ctx.axis, ctx.keepdims = a, axis, keepdims
        return array_module(a).asarray(cls.reduce(a, axis=axis, keepdims=keepdims))

    @classmethod
    def backward(cls, ctx, grad):
        a = ctx.a
        best = cls.reduce(a, axis=ctx.axis, keepdims=True)
        mask = (a == best).astype(grad.dtype)
        mask /= mask.sum(axis=ctx.axis, keepdims=True)
        return _expand_reduced(grad, a.shape, ctx.axis, ctx.keepdims) * mask


class Max(_ArgExtreme):
    reduce = staticmethod(np.max)


class Min(_ArgExtreme):
    reduce = staticmethod(np.min)


class Var(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims, ddof):
        axis = normalize_axis(axis, a.ndim)
        ctx.a, ctx.axis, ctx.keepdims = a, axis, keepdims
        out = array_module(a).asarray(a.var(axis=axis, keepdims=keepdims, ddof=ddof))
        ctx.divisor = a.size // builtins.max(out.size, 1) - ddof
        return out

    @staticmethod
    def backward(ctx, grad):
        a = ctx.a
        centered = a - a.mean(axis=ctx.axis, keepdims=True)
        g = _expand_reduced(grad, a.shape, ctx.axis, ctx.keepdims)
        return g * centered * (2.0 / ctx.divisor)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """The sum over ``axis`` (all axes when None).

    >>> import fastdl
    >>> fastdl.sum([[1.0, 2.0], [3.0, 4.0]], axis=0)
    tensor([4., 6.])
    """
    return Sum.apply(operand(x), axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The mean over ``axis`` (all axes when None).

    >>> import fastdl
    >>> fastdl.mean([[1.0, 2.0], [3.0, 4.0]], axis=1, keepdims=True)
    tensor([[1.5],
            [3.5]])
    """
    return Mean.apply(operand(x), axis=axis, keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """The maximum over ``axis``; tied elements share the gradient equally.

    >>> import fastdl
    >>> fastdl.max([[1.0, 5.0], [3.0, 4.0]], axis=-1)
    tensor([5., 4.])
    """
    return Max.apply(operand(x), axis=axis, keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """The minimum over ``axis``; tied elements share the gradient equally.

    >>> import fastdl
    >>> fastdl.min([[1.0, 5.0], [3.0, 4.0]])
    tensor(1.)
    """
    return Min.apply(operand(x), axis=axis, keepdims=keepdims)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """The variance over ``axis``, divided by ``count - ddof``.

    >>> import fastdl
    >>> fastdl.var([1.0, 2.0, 3.0, 4.0])
    tensor(1.25)
    """
    return Var.apply(operand(x), axis=axis, keepdims=keepdims, ddof=ddof)
