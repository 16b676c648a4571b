"""Operations whose every output element is a copy of one input element: take,
take_along_axis, repeat and tile, as Keras's. They are indexing, reshapes and broadcasts, so
gradients add up where an element was copied several times.

>>> import fastdl
>>> x = fastdl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = fastdl.ops.take(x, [0, 0, 3])
>>> y
tensor([1., 1., 4.], requires_grad=True)
>>> y.sum().backward(); x.grad
tensor([[2., 0.],
        [0., 1.]])
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Union

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module, kernels_for, to_device
from fastdl.backend.geometry import axis_index
from fastdl.ops.common import operand
from fastdl.ops.shaping import BroadcastTo, GetItem, Reshape
from fastdl.tensor import Tensor


def along_axis(indices: Any, axis: int) -> tuple:
    """The index tuple that picks ``indices[..., i, ...]`` (``i`` along ``axis``) out of an
    array with the same sizes on the other axes: NumPy's ``take_along_axis`` as plain advanced
    indexing, which assignments and scattered adds take too.

    >>> a = np.array([[10, 11, 12], [20, 21, 22]])
    >>> a[along_axis(np.array([[2], [0]]), 1)]
    array([[12],
           [20]])
    """
    xp = array_module(indices)
    ndim = indices.ndim
    return tuple(indices if d == axis else
                 xp.arange(indices.shape[d]).reshape((-1,) + (1,) * (ndim - d - 1))
                 for d in range(ndim))


class TakeRows(Function):
    """``table[indices]``: the rows of ``table`` at integer ``indices`` of any shape, each in
    ``[0, len(table))`` (the callers check). The gradient adds every output row back into
    the row it was copied from, as an embedding's gradient (repeated indices add up).

    >>> import fastdl
    >>> table = fastdl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> TakeRows.apply(table, indices=np.array([[1, 1, 0]]))
    tensor([[[3., 4.],
             [3., 4.],
             [1., 2.]]], requires_grad=True)
    """

    @staticmethod
    def forward(ctx, table, indices):
        flat = indices.reshape(-1)
        if ctx.requires_grad:
            ctx.rows, ctx.flat = table.shape, flat
        rows = kernels_for(table).take_rows(table, flat)
        return rows.reshape(indices.shape + table.shape[1:])

    @staticmethod
    def backward(ctx, grad):
        out = array_module(grad).zeros(ctx.rows, grad.dtype)
        width = math.prod(ctx.rows[1:])
        kernels_for(grad).index_add_rows(out.reshape(ctx.rows[0], width), ctx.flat,
                                         grad.reshape(ctx.flat.size, width))
        return out


def _indices(op: str, indices: Any, x: Any) -> Any:
    """``indices`` as an integer array on the device of ``x``; TypeError naming ``op`` for
    other dtypes."""
    data = x.data if isinstance(x, Tensor) else x
    found = array_module(data).asarray(indices.data if isinstance(indices, Tensor) else indices)
    if found.size == 0:
        return found.astype(np.intp)
    if found.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers; got dtype {found.dtype}")
    return found


def _rows(op: str, indices: Any, size: int) -> Any:
    """Indices into ``size`` rows, negative ones counted from the end, as non-negative ones;
    IndexError naming ``op`` for one out of bounds (checked for NumPy indices: GPU ones wrap
    around, as CuPy's indexing does)."""
    xp = array_module(indices)
    if xp is np and indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < -size or high >= size:
            raise IndexError(f"{op}: index {low if low < -size else high} is out of bounds for "
                             f"axis 0 of size {size}")
        if low >= 0:
            return indices
    return xp.where(indices < 0, indices + size, indices)


def _host_ints(values: Any) -> np.ndarray:
    """Counts given as numbers, a list, an array or a Tensor, as a NumPy integer array."""
    data = values.data if isinstance(values, Tensor) else values
    return np.asarray(to_device(data, "cpu") if hasattr(data, "shape") else data, np.int64)


def take(x: Any, indices: Any, axis: Optional[int] = None) -> Tensor:
    """The elements of ``x`` at ``indices`` along ``axis`` (of the flattened values when None):
    the result has the shape of ``x`` with that axis replaced by the shape of ``indices``.
    Negative indices count from the end.

    >>> import fastdl
    >>> fastdl.ops.take([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [2, 0], axis=1)
    tensor([[3., 1.],
            [6., 4.]])
    """
    x = operand(x)
    indices = _indices("take", indices, x)
    if axis is None:
        x, axis = Reshape.apply(x, shape=(-1,)), 0
    axis = axis_index("take", x.ndim, axis)
    if axis == 0:
        return TakeRows.apply(x, indices=_rows("take", indices, x.shape[0]))
    return GetItem.apply(x, index=(slice(None),) * axis + (indices,))


def take_along_axis(x: Any, indices: Any, axis: Optional[int] = None) -> Tensor:
    """``x`` picked along ``axis`` at ``indices``, which has as many axes as ``x``, the other
    axes broadcasting against those of ``x`` (``axis`` None: 1-D indices into the flattened
    values). argsort's and top_k's indices pick the sorted values this way.

    >>> import fastdl
    >>> fastdl.ops.take_along_axis([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[2], [0]], axis=1)
    tensor([[3.],
            [4.]])
    """
    x = operand(x)
    indices = _indices("take_along_axis", indices, x)
    if axis is None:
        x, axis = Reshape.apply(x, shape=(-1,)), 0
    axis = axis_index("take_along_axis", x.ndim, axis)
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} need as many axes "
                         f"as x, of shape {tuple(x.shape)}")
    try:
        others = np.broadcast_shapes(x.shape[:axis] + (1,) + x.shape[axis + 1:],
                                     indices.shape[:axis] + (1,) + indices.shape[axis + 1:])
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} do not broadcast "
                         f"against x of shape {tuple(x.shape)} off axis {axis}") from None

    def widened(shape: tuple) -> tuple:
        return others[:axis] + shape[axis:axis + 1] + others[axis + 1:]

    if widened(x.shape) != tuple(x.shape):
        x = BroadcastTo.apply(x, shape=widened(x.shape))
    indices = array_module(indices).broadcast_to(indices, widened(indices.shape))
    return GetItem.apply(x, index=along_axis(indices, axis))


def repeat(x: Any, repeats: Union[int, Sequence[int]], axis: Optional[int] = None) -> Tensor:
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (of the flattened values
    when None); ``repeats`` is one count, or one per element along the axis.

    >>> import fastdl
    >>> fastdl.ops.repeat([[1.0, 2.0], [3.0, 4.0]], 2, axis=1)
    tensor([[1., 1., 2., 2.],
            [3., 3., 4., 4.]])
    >>> fastdl.ops.repeat([1.0, 2.0], [0, 3])
    tensor([2., 2., 2.])
    """
    x = operand(x)
    if axis is None:
        x, axis = Reshape.apply(x, shape=(-1,)), 0
    axis = axis_index("repeat", x.ndim, axis)
    counts = _host_ints(repeats)
    size = x.shape[axis]
    if (counts < 0).any():
        raise ValueError(f"repeat: repeats must not be negative; got {counts.tolist()}")
    if counts.ndim == 0:
        # One count: a new axis after ``axis``, broadcast to the count and merged into it.
        before, after = tuple(x.shape[:axis + 1]), tuple(x.shape[axis + 1:])
        copies = BroadcastTo.apply(Reshape.apply(x, shape=before + (1,) + after),
                                   shape=before + (int(counts),) + after)
        return Reshape.apply(copies, shape=before[:-1] + (size * int(counts),) + after)
    if counts.shape != (size,):
        raise ValueError(f"repeat: {counts.size} repeats for axis {axis} of size {size} "
                         f"(input shape {tuple(x.shape)})")
    return take(x, np.repeat(np.arange(size), counts), axis=axis)


def tile(x: Any, repeats: Union[int, Sequence[int]]) -> Tensor:
    """``x`` repeated as a whole ``repeats[i]`` times along each axis ``i``. ``repeats`` with
    fewer entries than ``x`` has axes counts from the last axis; with more, ``x`` gets leading
    axes of size 1.

    >>> import fastdl
    >>> fastdl.ops.tile([[1.0, 2.0]], [2, 2])
    tensor([[1., 2., 1., 2.],
            [1., 2., 1., 2.]])
    """
    x = operand(x)
    counts = tuple(int(n) for n in _host_ints(repeats).reshape(-1))
    if any(n < 0 for n in counts):
        raise ValueError(f"tile: repeats must not be negative; got {list(counts)}")
    ndim = max(x.ndim, len(counts))
    shape = (1,) * (ndim - x.ndim) + tuple(x.shape)
    counts = (1,) * (ndim - len(counts)) + counts
    # Every axis of size n becomes a pair (1, n), the 1 broadcast to the count, and the pairs
    # merge again: the copies of the whole block follow each other along each axis.
    pairs = Reshape.apply(x, shape=tuple(s for n in shape for s in (1, n)))
    copies = BroadcastTo.apply(pairs, shape=tuple(s for c, n in zip(counts, shape)
                                                  for s in (c, n)))
    return Reshape.apply(copies, shape=tuple(c * n for c, n in zip(counts, shape)))
