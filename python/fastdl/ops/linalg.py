"""Linear algebra: vector and matrix norms (Keras's ``norm``), and the singular values they
need, differentiable.

>>> import fastdl
>>> fastdl.ops.norm([3.0, -4.0])
tensor(5.)
>>> fastdl.ops.norm([[1.0, -2.0], [3.0, 4.0]], ord=1)
tensor(6.)
"""
from __future__ import annotations

import math
from typing import Any, Optional, Union

from fastdl.autograd import Function
from fastdl.backend import array_module
from fastdl.backend.geometry import axis_index
from fastdl.ops.arithmetic import Pow
from fastdl.ops.common import floating, operand
from fastdl.ops.elementwise import Abs, Sqrt, Square
from fastdl.ops.reduction import Max, Min, Sum
from fastdl.ops.shaping import Reshape, Transpose
from fastdl.tensor import Tensor

Order = Union[None, int, float, str]


class SingularValues(Function):
    """The singular values of the matrices on the last two axes, largest first. Each one's
    gradient is the outer product of its singular vectors, ``u_i v_i^T``."""

    @staticmethod
    def forward(ctx, a):
        u, s, vh = array_module(a).linalg.svd(a, full_matrices=False)
        if ctx.requires_grad:
            ctx.u, ctx.vh = u, vh
        return s

    @staticmethod
    def backward(ctx, grad):
        return array_module(grad).matmul(ctx.u * grad[..., None, :], ctx.vh)


def _vector_norm(x: Any, ord: Order, axis: tuple) -> Tensor:  # noqa: A002
    """The norm over one axis, keeping it (size 1)."""
    if ord is None or ord == 2:
        return Sqrt.apply(Sum.apply(Square.apply(x), axis=axis, keepdims=True))
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is not a vector norm; use a number, inf or -inf")
    if ord == math.inf:
        return Max.apply(Abs.apply(x), axis=axis, keepdims=True)
    if ord == -math.inf:
        return Min.apply(Abs.apply(x), axis=axis, keepdims=True)
    if ord == 0:  # the count of nonzero entries: no gradient
        data = x.data if isinstance(x, Tensor) else x
        return Tensor((data != 0).sum(axis=axis, keepdims=True).astype(data.dtype))
    powers = Sum.apply(Pow.apply(Abs.apply(x), float(ord)), axis=axis, keepdims=True)
    return Pow.apply(powers, 1.0 / ord)


def _matrix_norm(x: Any, ord: Order, rows: int, columns: int) -> Tensor:  # noqa: A002
    """The norm of the matrices on the axes ``rows`` and ``columns``, keeping them (size 1)."""
    if ord is None or ord == "fro":
        return Sqrt.apply(Sum.apply(Square.apply(x), axis=(rows, columns), keepdims=True))
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum; negative: the smallest.
        summed, across = (rows, columns) if ord in (1, -1) else (columns, rows)
        sums = Sum.apply(Abs.apply(x), axis=summed, keepdims=True)
        return (Max if ord > 0 else Min).apply(sums, axis=across, keepdims=True)
    if ord in ("nuc", 2, -2):
        others = tuple(i for i in range(x.ndim) if i not in (rows, columns))
        values = SingularValues.apply(Transpose.apply(x, axes=others + (rows, columns)))
        reduce = {"nuc": Sum, 2: Max, -2: Min}[ord]
        kept = tuple(1 if i in (rows, columns) else n for i, n in enumerate(x.shape))
        return Reshape.apply(reduce.apply(values, axis=-1, keepdims=False), shape=kept)
    raise ValueError(f"norm: ord={ord!r} is not a matrix norm; use None, 'fro', 'nuc', 1, -1, "
                     f"2, -2, inf or -inf")


def norm(x: Any, ord: Order = None, axis: Optional[Union[int, tuple]] = None,  # noqa: A002
         keepdims: bool = False) -> Tensor:
    """The vector norm over one axis, or the matrix norm over two (``axis`` None: all axes of a
    1-D or 2-D ``x``). Vector ``ord``: None or 2 (Euclidean), any power ``p``
    (``sum(|x|^p)^(1/p)``), inf (max ``|x|``), -inf (min ``|x|``), 0 (the count of nonzeros).
    Matrix ``ord``: None or 'fro' (Frobenius), 'nuc' (the sum of singular values), 2 and -2
    (the largest and smallest singular value), 1 and -1 (the largest and smallest column sum of
    ``|x|``), inf and -inf (row sums). Integers are taken as float32.

    >>> import fastdl
    >>> fastdl.ops.norm([[3.0, 0.0], [0.0, 4.0]], ord="nuc")
    tensor(7.)
    >>> fastdl.ops.norm([[1.0, 2.0], [2.0, 4.0]], axis=-1, keepdims=True)
    tensor([[2.236068],
            [4.472136]])
    """
    x = floating(operand(x))
    given = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    axes = tuple(axis_index("norm", x.ndim, a) for a in given)
    if len(axes) == 1:
        out = _vector_norm(x, ord, axes)
    elif len(axes) == 2 and axes[0] != axes[1]:
        out = _matrix_norm(x, ord, *axes)
    else:
        raise ValueError(f"norm: axis={axis} for an input of shape {tuple(x.shape)}; give one "
                         f"axis (a vector norm) or two (a matrix norm)")
    if keepdims:
        return out
    return Reshape.apply(out, shape=tuple(n for i, n in enumerate(x.shape) if i not in axes))
