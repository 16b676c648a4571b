"""Shape and indexing: shape, reshape, transpose (permute), squeeze, expand_dims (unsqueeze),
broadcast_to, indexing and slicing, concatenate, stack, split and pad."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module, kernels_for
from fastdl.backend.geometry import axis_index
from fastdl.ops.common import normalize_axis, operand, unbroadcast
from fastdl.tensor import Tensor


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                             f"({a.size} elements) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, a, axes):
        axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(int(x) % a.ndim for x in axes)
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{a.ndim} axes of a tensor of shape {a.shape}")
        # The inverse permutation in Python: np.argsort of a few axes costs several times the
        # whole transpose of a view (t.T took 4.4 us, most of it there).
        inverse = [0] * len(axes)
        for position, axis in enumerate(axes):
            inverse[axis] = position
        ctx.inverse = tuple(inverse)
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse)


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return array_module(a).broadcast_to(a, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: a tensor of shape {a.shape} does not broadcast to "
                             f"shape {shape}") from None

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape)


def as_index(index: Any) -> Any:
    """An index with Tensors replaced by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _is_basic(index: Any) -> bool:
    """Basic (view) indexing: ints, slices, None and Ellipsis only."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


class GetItem(Function):
    """NumPy indexing; repeated integer indices add up their gradients."""

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        out = array_module(grad).zeros(ctx.shape, ctx.dtype)
        if _is_basic(ctx.index):
            out[ctx.index] = grad
        else:
            kernels_for(grad).index_add(out, ctx.index, grad)  # repeated indices add up
        return out


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.offsets = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.offsets, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.axis, 0))


class Split(Function):
    """Pieces along one axis, one output each; the gradient puts the pieces' gradients back
    together (zeros for a piece that did not reach the loss)."""

    @staticmethod
    def forward(ctx, a, bounds, axis):
        ctx.axis = axis
        return tuple(array_module(a).split(a, bounds, axis=axis))

    @staticmethod
    def backward(ctx, *grads):
        return array_module(grads[0]).concatenate(grads, axis=ctx.axis)


class Pad(Function):
    @staticmethod
    def forward(ctx, a, pad_width, value):
        pads = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a.ndim, 2))
        ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, a.shape))
        return np.pad(a, pads, constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.slices]


def shape(x: Any) -> tuple:
    """The shape of ``x`` as a tuple of ints.

    >>> import fastdl
    >>> fastdl.ops.shape(fastdl.ones(2, 3))
    (2, 3)
    """
    return tuple(int(n) for n in operand(x).shape)


def reshape(x: Any, newshape: Union[int, Sequence[int]]) -> Tensor:
    """The same values in another shape (one entry may be -1).

    >>> import fastdl
    >>> fastdl.reshape(fastdl.ones(2, 3), (3, -1)).shape
    (3, 2)
    """
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else newshape
    return Reshape.apply(operand(x), shape=tuple(newshape))


def transpose(x: Any, axes: Optional[Sequence[int]] = None) -> Tensor:
    """The axes permuted by ``axes`` (reversed when None).

    >>> import fastdl
    >>> fastdl.transpose(fastdl.ones(2, 3, 4), (2, 0, 1)).shape
    (4, 2, 3)
    """
    return Transpose.apply(operand(x), axes=None if axes is None else tuple(axes))


def permute(x: Any, axes: Sequence[int]) -> Tensor:
    """:func:`transpose` with the permutation required.

    >>> import fastdl
    >>> fastdl.permute(fastdl.ones(2, 3), (1, 0)).shape
    (3, 2)
    """
    return Transpose.apply(operand(x), axes=tuple(axes))


def squeeze(x: Any, axis: Any = None) -> Tensor:
    """Removes axes of size 1 (all of them, or those in ``axis``).

    >>> import fastdl
    >>> fastdl.squeeze(fastdl.ones(3, 1, 4, 1), -1).shape
    (3, 1, 4)
    """
    x = operand(x)
    shape = x.shape
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = normalize_axis(axis, len(shape))
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of a tensor of shape {shape} has size "
                                 f"{shape[a]}, not 1")
        new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return Reshape.apply(x, shape=new)


def unsqueeze(x: Any, axis: int) -> Tensor:
    """Inserts an axis of size 1 at position ``axis``.

    >>> import fastdl
    >>> fastdl.unsqueeze(fastdl.ones(3, 4), 1).shape
    (3, 1, 4)
    """
    x = operand(x)
    shape = list(x.shape)
    axis = axis if axis >= 0 else axis + len(shape) + 1
    shape.insert(axis, 1)
    return Reshape.apply(x, shape=tuple(shape))


def expand_dims(x: Any, axis: Union[int, Sequence[int]]) -> Tensor:
    """Inserts axes of size 1 at the positions ``axis`` (an int or several) of the result.

    >>> import fastdl
    >>> fastdl.ops.expand_dims(fastdl.ones(2, 3), (0, -1)).shape
    (1, 2, 3, 1)
    """
    x = operand(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = x.ndim + len(axes)
    new = {axis_index("expand_dims", ndim, a) for a in axes}
    if len(new) != len(axes):
        raise ValueError(f"expand_dims: repeated axis in {axis}")
    sizes = iter(x.shape)
    return Reshape.apply(x, shape=tuple(1 if i in new else next(sizes) for i in range(ndim)))


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """``x`` broadcast to ``shape`` with NumPy's rules (a read-only view); the gradient sums
    over the broadcast axes.

    >>> import fastdl
    >>> fastdl.ops.broadcast_to([1.0, 2.0], (2, 2))
    tensor([[1., 2.],
            [1., 2.]])
    """
    return BroadcastTo.apply(operand(x), shape=tuple(int(n) for n in shape))


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Joins tensors along an existing axis.

    >>> import fastdl
    >>> fastdl.concatenate([fastdl.ones(2, 3), fastdl.zeros(1, 3)]).shape
    (3, 3)
    """
    if not xs:
        raise ValueError("concatenate: needs at least one tensor")
    tensors = [operand(t) for t in xs]
    try:
        return Concatenate.apply(*tensors, axis=axis)
    except ValueError as e:
        raise ValueError(f"concatenate: shapes {[tuple(t.shape) for t in tensors]} do not fit "
                         f"along axis {axis}: {e}") from None


def stack(x: Sequence[Any], axis: int = 0) -> Tensor:
    """Joins tensors of one shape along a new axis.

    >>> import fastdl
    >>> fastdl.stack([fastdl.ones(2, 3), fastdl.zeros(2, 3)], axis=-1).shape
    (2, 3, 2)
    """
    if not x:
        raise ValueError("stack: needs at least one tensor")
    tensors = [operand(t) for t in x]
    shapes = [tuple(t.shape) for t in tensors]
    if len(set(shapes)) > 1:
        raise ValueError(f"stack: all tensors must have the same shape; got {shapes}")
    return Stack.apply(*tensors, axis=axis)


def split(x: Any, indices_or_sections: Union[int, Sequence[int]], axis: int = 0) -> list:
    """Pieces of ``x`` along ``axis``: ``indices_or_sections`` equal ones (it must divide the
    axis), or the pieces between the sorted indices given (some may be empty).

    >>> import fastdl
    >>> [t.shape for t in fastdl.ops.split(fastdl.ones(6, 2), 3)]
    [(2, 2), (2, 2), (2, 2)]
    >>> [t.shape for t in fastdl.ops.split(fastdl.ones(6, 2), [1, 4])]
    [(1, 2), (3, 2), (2, 2)]
    """
    x = operand(x)
    axis = axis_index("split", x.ndim, axis)
    length = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections < 1 or length % sections:
            raise ValueError(f"split: {sections} equal sections do not divide axis {axis} of "
                             f"size {length} (input shape {tuple(x.shape)})")
        bounds = [length // sections * i for i in range(1, sections)]
    else:
        bounds = [int(i) for i in indices_or_sections]
        if any(later < earlier for earlier, later in zip(bounds, bounds[1:])):
            raise ValueError(f"split: the indices {bounds} must be sorted")
    return list(Split.apply(x, bounds=bounds, axis=axis))


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """Pads with a constant; ``pad_width`` as in ``np.pad`` (int, (before, after) or one pair
    per axis).

    >>> import fastdl
    >>> fastdl.pad(fastdl.ones(2), 1)
    tensor([0., 1., 1., 0.])
    """
    return Pad.apply(operand(x), pad_width=pad_width, value=value)
