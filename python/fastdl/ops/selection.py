"""Where the largest values are: argmax and argmin (int32 indices, outside the graph, as Keras's)
and top_k, whose values are differentiable and whose indices are not.

>>> import fastdl
>>> values, indices = fastdl.ops.top_k([1.0, 5.0, 3.0], 2)
>>> values, indices
(tensor([5., 3.]), tensor([1, 2], dtype=int32))
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module
from fastdl.ops.common import INDEX_DTYPE, normalize_axis, operand
from fastdl.ops.gathering import along_axis
from fastdl.tensor import Tensor


def _arg_extreme(op: str, pick: str, x: Any, axis: Optional[int], keepdims: bool) -> Tensor:
    x = operand(x)
    data = x.data if isinstance(x, Tensor) else x
    if axis is not None:
        (axis,) = normalize_axis(axis, data.ndim)
    if data.size == 0:
        raise ValueError(f"{op}: the input of shape {data.shape} is empty")
    found = getattr(array_module(data), pick)(data, axis=axis, keepdims=keepdims)
    return Tensor(found.astype(INDEX_DTYPE))


def argmax(x: Any, axis: Optional[int] = None, keepdims: bool = False) -> Tensor:
    """The int32 index of the largest value along ``axis`` (of the flattened values when None),
    the first one where several are equal; no gradient.

    >>> import fastdl
    >>> fastdl.ops.argmax([[1.0, 7.0, 7.0], [4.0, 0.0, 2.0]], axis=1)
    tensor([1, 0], dtype=int32)
    """
    return _arg_extreme("argmax", "argmax", x, axis, keepdims)


def argmin(x: Any, axis: Optional[int] = None, keepdims: bool = False) -> Tensor:
    """The int32 index of the smallest value along ``axis`` (of the flattened values when
    None), the first one where several are equal; no gradient.

    >>> import fastdl
    >>> fastdl.ops.argmin([[1.0, 7.0], [4.0, 0.0]])  # of the flattened values
    tensor(3, dtype=int32)
    """
    return _arg_extreme("argmin", "argmin", x, axis, keepdims)


class TopK(Function):
    """The ``k`` largest values along the last axis and their int32 indices (the indices are
    outside the graph); the values' gradient goes back to the places they came from."""

    @staticmethod
    def forward(ctx, a, k, sorted):  # noqa: A002 (Keras's name)
        xp = array_module(a)
        # A stable sort of the negated values puts the largest first and, among equal values,
        # the lowest index first.
        keys = -a if a.dtype.kind in "fi" else -a.astype(np.int64)
        indices = xp.argsort(keys, axis=-1, kind="stable")[..., :k]
        if not sorted:
            indices = xp.sort(indices, axis=-1)  # in their order in the input
        picked = along_axis(indices, a.ndim - 1)
        ctx.shape, ctx.picked = a.shape, picked
        return a[picked], indices.astype(INDEX_DTYPE)

    @staticmethod
    def backward(ctx, grad, _):
        out = array_module(grad).zeros(ctx.shape, grad.dtype)
        out[ctx.picked] = grad  # the k places of a row are distinct: no sums needed
        return out


def top_k(x: Any, k: int, sorted: bool = True) -> tuple:  # noqa: A002 (Keras's name)
    """The ``k`` largest values along the last axis and their int32 indices, as ``(values,
    indices)``: in decreasing order (equal values by index) when ``sorted``, else in their
    order in ``x``. The values are differentiable.

    >>> import fastdl
    >>> fastdl.ops.top_k([[1.0, 5.0, 3.0, 5.0]], 3)
    (tensor([[5., 5., 3.]]), tensor([[1, 3, 2]], dtype=int32))
    >>> fastdl.ops.top_k([1.0, 5.0, 3.0, 4.0], 2, sorted=False)[1]
    tensor([1, 3], dtype=int32)
    """
    x = operand(x)
    shape = x.shape
    if not shape:
        raise ValueError("top_k: the input must have at least one axis; got shape ()")
    if not 0 <= k <= shape[-1]:
        raise ValueError(f"top_k: k={k} is out of range for a last axis of {shape[-1]} "
                         f"(input shape {tuple(shape)})")
    return TopK.apply(x, k=int(k), sorted=bool(sorted))
