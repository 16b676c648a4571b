"""Reductions over axes: sum, mean, max, min, prod, var, std and logsumexp (``axis`` None, an
int or a sequence of ints; ``keepdims`` keeps the reduced axes with size 1), and the running
sum cumsum.
mean, var and std of integers are float32, as Keras's."""
from __future__ import annotations

import builtins
from typing import Any, Optional

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module
from fastdl.backend.geometry import axis_index
from fastdl.ops.common import INDEX_DTYPE, floating, normalize_axis, operand
from fastdl.ops.elementwise import Maximum, Minimum, Sqrt
from fastdl.ops.shaping import Reshape
from fastdl.tensor import Tensor


def _expand_reduced(grad: Any, shape: tuple, axis: Optional[tuple], keepdims: bool) -> Any:
    """``grad`` of a reduction, with its reduced axes back (size 1), ready to broadcast."""
    if axis is None:
        return grad.reshape((1,) * len(shape))
    return grad if keepdims else np.expand_dims(grad, axis)


def _reduced_shape(shape: tuple, axis: Optional[tuple], keepdims: bool) -> tuple:
    """The shape of a reduction of an array of ``shape`` over ``axis`` (None: all axes)."""
    reduced = range(len(shape)) if axis is None else axis
    if keepdims:
        return tuple(1 if i in reduced else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in reduced)


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


class Prod(Function):
    """The product over axes. Each element's gradient is the product of the others, from
    running products before and after it: exact where elements are 0, unlike ``prod / x``."""

    @staticmethod
    def forward(ctx, a, axis, keepdims, dtype):
        axis = normalize_axis(axis, a.ndim)
        ctx.a, ctx.axis, ctx.keepdims = a, axis, keepdims
        return array_module(a).asarray(a.prod(axis=axis, keepdims=keepdims, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        a, axis = ctx.a, ctx.axis
        xp = array_module(a)
        if a.size == 0:
            return xp.zeros(a.shape, a.dtype)
        reduced = tuple(range(a.ndim)) if axis is None else axis
        kept = tuple(i for i in range(a.ndim) if i not in reduced)
        # The reduced axes last, as one: rows whose products are the outputs.
        rows = a.transpose(kept + reduced).reshape(tuple(a.shape[i] for i in kept) + (-1,))
        ones = xp.ones(rows.shape[:-1] + (1,), a.dtype)
        before = xp.cumprod(xp.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
        after = xp.cumprod(xp.concatenate([ones, rows[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape(tuple(a.shape[i] for i in kept + reduced))
        others = others.transpose(tuple(int(i) for i in np.argsort(kept + reduced)))
        return _expand_reduced(grad, a.shape, axis, ctx.keepdims).astype(a.dtype) * others


class CumSum(Function):
    """The running sum along one axis; the gradient is the running sum of the gradient from
    the other end."""

    @staticmethod
    def forward(ctx, a, axis, dtype):
        ctx.axis = axis
        return array_module(a).cumsum(a, axis=axis, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        return xp.flip(xp.cumsum(xp.flip(grad, ctx.axis), axis=ctx.axis), ctx.axis)


class LogSumExp(Function):
    """``log(sum(exp(x)))`` over axes with the maximum subtracted first: no overflow, and
    rows of infinities stay exact. The gradient is the softmax over the same axes."""

    @staticmethod
    def forward(ctx, a, axis, keepdims):
        xp = array_module(a)
        axis = normalize_axis(axis, a.ndim)
        peak = a.max(axis=axis, keepdims=True)
        peak = xp.where(xp.isfinite(peak), peak, 0)  # all -inf: log(0) = -inf, not NaN
        with np.errstate(divide="ignore"):  # that log(0) is the answer, not a mistake
            total = xp.log(xp.exp(a - peak).sum(axis=axis, keepdims=True)) + peak
        if ctx.requires_grad:
            ctx.a, ctx.total, ctx.axis, ctx.keepdims = a, total, axis, keepdims
        return total if keepdims else total.reshape(_reduced_shape(a.shape, axis, False))

    @staticmethod
    def backward(ctx, grad):
        g = _expand_reduced(grad, ctx.a.shape, ctx.axis, ctx.keepdims)
        return g * array_module(grad).exp(ctx.a - ctx.total)


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
    return Mean.apply(floating(operand(x)), axis=axis, keepdims=keepdims)


def _extreme(reduction: type, against: type, x: Any, axis: Any, keepdims: bool,
             initial: Optional[float]) -> Tensor:
    """max or min of ``x`` (``reduction``), and of ``initial`` too where it is given
    (``against``, the elementwise maximum or minimum): all of an empty reduction."""
    x = operand(x)
    if initial is None:
        return reduction.apply(x, axis=axis, keepdims=keepdims)
    if x.size == 0:
        data = x.data if isinstance(x, Tensor) else x
        shape = _reduced_shape(data.shape, normalize_axis(axis, data.ndim), keepdims)
        return Tensor(array_module(data).full(shape, initial, data.dtype))
    return against.apply(reduction.apply(x, axis=axis, keepdims=keepdims), initial)


def max(x: Any, axis: Any = None, keepdims: bool = False,  # noqa: A001
        initial: Optional[float] = None) -> Tensor:
    """The maximum over ``axis``, and ``initial`` where given (then an empty ``x`` is fine);
    tied elements share the gradient equally.

    >>> import fastdl
    >>> fastdl.max([[1.0, 5.0], [3.0, 4.0]], axis=-1)
    tensor([5., 4.])
    >>> fastdl.max([[1.0, 5.0], [3.0, 4.0]], axis=-1, initial=4.5)
    tensor([5. , 4.5])
    """
    return _extreme(Max, Maximum, x, axis, keepdims, initial)


def min(x: Any, axis: Any = None, keepdims: bool = False,  # noqa: A001
        initial: Optional[float] = None) -> Tensor:
    """The minimum over ``axis``, and ``initial`` where given (then an empty ``x`` is fine);
    tied elements share the gradient equally.

    >>> import fastdl
    >>> fastdl.min([[1.0, 5.0], [3.0, 4.0]])
    tensor(1.)
    """
    return _extreme(Min, Minimum, x, axis, keepdims, initial)


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
    """The product over ``axis`` (all axes when None), in ``dtype`` when given.

    >>> import fastdl
    >>> fastdl.ops.prod([[1.0, 2.0], [3.0, 4.0]], axis=1)
    tensor([ 2., 12.])
    """
    return Prod.apply(operand(x), axis=axis, keepdims=keepdims,
                      dtype=None if dtype is None else np.dtype(dtype))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis`` (all axes when None), computed without overflow.

    >>> import fastdl
    >>> fastdl.ops.logsumexp(fastdl.tensor([1000.0, 1000.0], dtype="float64"))
    tensor(1000.69314718, dtype=float64)
    """
    return LogSumExp.apply(floating(operand(x)), axis=axis, keepdims=keepdims)


def cumsum(x: Any, axis: Optional[int] = None, dtype: Any = None) -> Tensor:
    """The running sum along ``axis`` (of the flattened values when None), in ``dtype`` when
    given, else in the dtype of ``x`` (booleans count as int32), as Keras's.

    >>> import fastdl
    >>> fastdl.ops.cumsum([[1.0, 2.0], [3.0, 4.0]])
    tensor([ 1.,  3.,  6., 10.])
    >>> fastdl.ops.cumsum([[1.0, 2.0], [3.0, 4.0]], axis=0)
    tensor([[1., 2.],
            [4., 6.]])
    """
    x = operand(x)
    if axis is None:
        x, axis = Reshape.apply(x, shape=(-1,)), 0
    if dtype is None:
        dtype = INDEX_DTYPE if x.dtype == np.bool_ else x.dtype
    return CumSum.apply(x, axis=axis_index("cumsum", x.ndim, axis), dtype=np.dtype(dtype))


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """The variance over ``axis``, divided by ``count - ddof`` (Keras's has no ``ddof``: 0).

    >>> import fastdl
    >>> fastdl.var([1.0, 2.0, 3.0, 4.0])
    tensor(1.25)
    """
    return Var.apply(floating(operand(x)), axis=axis, keepdims=keepdims, ddof=ddof)


def std(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """The standard deviation over ``axis``: the square root of :func:`var` (``ddof`` 0, as
    Keras's, divides by the count).

    >>> import fastdl
    >>> fastdl.ops.std([1.0, 2.0, 3.0, 4.0])
    tensor(1.118034)
    """
    return Sqrt.apply(var(x, axis=axis, keepdims=keepdims, ddof=ddof))
