"""Merge layers: one output from a list of tensors, and their functional forms.

Elementwise merges (:class:`Add`, :class:`Subtract`, :class:`Multiply`, :class:`Average`,
:class:`Maximum`, :class:`Minimum`) broadcast their inputs: sizes are aligned from the last
axis and must match or be 1, the batch sizes must be equal, and an input of lower rank gains
axes after its batch axis. :class:`Concatenate` joins inputs along an axis; :class:`Dot` takes
the dot product of two samples along chosen axes.

Masks: the output of an elementwise merge is masked where any input is kept when every input
has a mask (an OR of the masks); :class:`Multiply`, :class:`Maximum` and :class:`Minimum`
also leave the masked steps of an input out of the result. :class:`Concatenate` joins the
masks; :class:`Dot`'s output has none.

>>> import fastdl
>>> from fastdl import layers
>>> a, b = layers.Input(shape=(4,)), layers.Input(shape=(4,))
>>> both = layers.concatenate([layers.add([a, b]), layers.multiply([a, b])])
>>> model = fastdl.models.Model([a, b], layers.Dense(1)(both))
>>> model.predict([fastdl.ones(2, 4).numpy(), fastdl.ones(2, 4).numpy()]).shape
(2, 1)
"""
from __future__ import annotations

import functools
import operator
from typing import Any, Callable, Optional, Sequence

from fastdl import ops
from fastdl.backend import array_module
from fastdl.layers.base import Layer
from fastdl.layers.nested import is_shape
from fastdl.layers.signature import layer_label
from fastdl.tensor import Tensor

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
           "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot"]

# The norm below which Dot(normalize=True) stops dividing (Keras's epsilon).
_NORM_EPSILON = 1e-7


def _shape_text(shapes: Sequence) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


class _Merge(Layer):
    """What every merge layer shares: a list of input tensors (``inputs_needed`` of them
    when the count is fixed), shape checks at every call, and an OR of the masks."""

    inputs_needed: Optional[int] = None
    _checked_shapes: Optional[list] = None  # the input shapes of the last call, found valid

    def _shape_list(self, input_shape: Any) -> list:
        """The input shapes as a list, checked: a list of tensors, as many as needed."""
        if is_shape(input_shape) or not isinstance(input_shape, (list, tuple)):
            received = (f"one tensor of shape {input_shape}" if is_shape(input_shape)
                        else repr(input_shape))
            raise ValueError(f"{layer_label(self)} must be called on a list of tensors; "
                             f"received {received}")
        shapes = [tuple(s) for s in input_shape]
        if not shapes or (self.inputs_needed is not None
                          and len(shapes) != self.inputs_needed):
            expected = self.inputs_needed or "at least 1"
            raise ValueError(f"{layer_label(self)} takes {expected} input tensor(s); received "
                             f"{len(shapes)} (shapes {_shape_text(shapes)})")
        return shapes

    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)  # the shape checks

    def call(self, inputs: Sequence[Tensor], mask: Any = None) -> Tensor:
        if not isinstance(inputs, (list, tuple)):  # raises: not a list
            self._shape_list(tuple(inputs.shape) if isinstance(inputs, Tensor) else inputs)
        # Checked at every call with shapes not seen before (each batch of a training loop
        # repeats the last one's), so that any later mismatch names this layer too.
        shapes = [x.shape for x in inputs]
        if shapes != self._checked_shapes:
            self.compute_output_shape(shapes)
            self._checked_shapes = shapes
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        return self._merge(list(inputs), masks)

    def _merge(self, inputs: list, masks: list) -> Tensor:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        masks = _mask_list(self, inputs, mask)
        if any(m is None for m in masks):
            return None
        return Tensor(functools.reduce(operator.or_, [m.data for m in masks]))


def _mask_list(layer: Layer, inputs: Any, mask: Any) -> list:
    if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)):
        raise ValueError(f"{layer_label(layer)}: the inputs and their masks must be lists; "
                         f"received {type(inputs).__name__} and {type(mask).__name__}")
    if len(mask) != len(inputs):
        raise ValueError(f"{layer_label(layer)}: received {len(inputs)} inputs but "
                         f"{len(mask)} masks")
    return list(mask)


def _broadcast(layer: Layer, shapes: list) -> tuple:
    """The elementwise result's shape without the batch axis, sizes aligned from the end."""
    out: tuple = shapes[0][1:]
    for shape in shapes[1:]:
        a, b = sorted((out, shape[1:]), key=len, reverse=True)
        lead, sizes = a[:len(a) - len(b)], []
        for i, j in zip(a[len(a) - len(b):], b):
            if i is None or j is None:
                sizes.append(None)
            elif i == 1 or j == 1 or i == j:
                sizes.append(j if i == 1 else i)
            else:
                raise ValueError(f"{layer_label(layer)}: input shapes {_shape_text(shapes)} do "
                                 f"not broadcast together (sizes aligned from the last axis "
                                 f"must be equal or 1)")
        out = lead + tuple(sizes)
    return out


def _batch_size(layer: Layer, shapes: list) -> Optional[int]:
    sizes = {s[0] for s in shapes if s} - {None}
    if len(sizes) > 1:
        raise ValueError(f"{layer_label(layer)}: cannot merge tensors with different batch "
                         f"sizes; received shapes {_shape_text(shapes)}")
    return sizes.pop() if sizes else None


def _expanded(mask: Optional[Tensor]) -> Any:
    """A (batch, steps) mask as an array that broadcasts over (batch, steps, features)."""
    return None if mask is None else mask.data[..., None]


class _Elementwise(_Merge):
    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._shape_list(input_shape)
        return (_batch_size(self, shapes),) + _broadcast(self, shapes)

    def _merge(self, inputs: list, masks: list) -> Tensor:
        rank = max(x.ndim for x in inputs)
        # A lower-rank input gains axes after the batch axis: (batch, 4) meets (batch, 3, 4)
        # as (batch, 1, 4).
        inputs = [x if x.ndim == rank else
                  x.reshape((x.shape[0],) + (1,) * (rank - x.ndim) + tuple(x.shape[1:]))
                  for x in inputs]
        return self._combine(inputs, masks)

    def _combine(self, inputs: list, masks: list) -> Tensor:
        raise NotImplementedError


class Add(_Elementwise):
    """The sum of the inputs.

    >>> import fastdl
    >>> fastdl.layers.Add()([fastdl.ones(2, 3), fastdl.full((2, 1), 2.0)])
    tensor([[3., 3., 3.],
            [3., 3., 3.]])
    """

    def _combine(self, inputs: list, masks: list) -> Tensor:
        return functools.reduce(ops.add, inputs)


class Subtract(_Elementwise):
    """The first input minus the second (exactly two inputs).

    >>> import fastdl
    >>> fastdl.layers.Subtract()([fastdl.ones(1, 2), fastdl.tensor([[0.5, 3.0]])])
    tensor([[ 0.5, -2. ]])
    """

    inputs_needed = 2

    def _combine(self, inputs: list, masks: list) -> Tensor:
        return ops.subtract(inputs[0], inputs[1])


class Average(_Elementwise):
    """The mean of the inputs.

    >>> import fastdl
    >>> fastdl.layers.Average()([fastdl.ones(1, 2), fastdl.zeros(1, 2)])
    tensor([[0.5, 0.5]])
    """

    def _combine(self, inputs: list, masks: list) -> Tensor:
        return functools.reduce(ops.add, inputs) / len(inputs)


class Multiply(_Elementwise):
    """The product of the inputs; a masked step of an input counts as 1, and where every
    input is masked the output is 0.

    >>> import fastdl
    >>> fastdl.layers.Multiply()([fastdl.full((1, 2), 3.0), fastdl.tensor([[1.0, -2.0]])])
    tensor([[ 3., -6.]])
    """

    def _combine(self, inputs: list, masks: list) -> Tensor:
        all_masked = all(m is not None for m in masks)
        output = kept = None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                mask = _expanded(mask)
                x = ops.where(mask, x, 1.0)
                kept = mask if kept is None else kept | mask
            output = x if output is None else ops.multiply(output, x)
        if all_masked:
            output = ops.where(kept, output, 0.0)
        return output


class _Extremum(_Elementwise):
    """Maximum and Minimum: a masked step of an input is left out (the others decide)."""

    pick: Callable[[Any, Any], Tensor] = staticmethod(ops.maximum)

    def _combine(self, inputs: list, masks: list) -> Tensor:
        output, kept = inputs[0], _expanded(masks[0])
        for x, mask in zip(inputs[1:], masks[1:]):
            mask = _expanded(mask)
            if mask is not None:
                x = ops.where(mask, x, output)
            if kept is not None:
                output = ops.where(kept, output, x)
            kept = kept | mask if kept is not None and mask is not None else None
            output = self.pick(output, x)
        return output


class Maximum(_Extremum):
    """The elementwise maximum of the inputs.

    >>> import fastdl
    >>> fastdl.layers.Maximum()([fastdl.tensor([[1.0, 5.0]]), fastdl.tensor([[3.0, 2.0]])])
    tensor([[3., 5.]])
    """


class Minimum(_Extremum):
    """The elementwise minimum of the inputs.

    >>> import fastdl
    >>> fastdl.layers.Minimum()([fastdl.tensor([[1.0, 5.0]]), fastdl.tensor([[3.0, 2.0]])])
    tensor([[1., 2.]])
    """

    pick = staticmethod(ops.minimum)


class Concatenate(_Merge):
    """Joins the inputs along ``axis``; their other sizes must be equal.

    >>> import fastdl
    >>> fastdl.layers.Concatenate(axis=1)([fastdl.ones(2, 2, 5), fastdl.zeros(2, 1, 5)]).shape
    (2, 3, 5)
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._shape_list(input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes) or not -rank <= self.axis < rank:
            raise ValueError(f"{layer_label(self)}: inputs must have the same rank, with an "
                             f"axis {self.axis}; received shapes {_shape_text(shapes)}")
        axis = self.axis % rank
        out = list(shapes[0])
        for shape in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, shape)):
                if i == axis:
                    out[i] = None if a is None or b is None else a + b
                elif a is None:
                    out[i] = b
                elif b is not None and a != b:
                    raise ValueError(
                        f"{layer_label(self)}: inputs must have the same shape except along "
                        f"the concatenation axis {self.axis}; received shapes "
                        f"{_shape_text(shapes)}")
        return tuple(out)

    def _merge(self, inputs: list, masks: list) -> Tensor:
        return ops.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        masks = _mask_list(self, inputs, mask)
        if all(m is None for m in masks):
            return None
        # Each mask spread over its input's shape (all kept where an input has none), joined
        # like the inputs, then reduced over the last axis, as a mask leaves out the features.
        xp = array_module(inputs[0].data)
        full = [xp.ones(x.shape, bool) if m is None else m.data if m.ndim == x.ndim
                else xp.broadcast_to(m.data[..., None], x.shape)
                for x, m in zip(inputs, masks)]
        return Tensor(xp.concatenate(full, axis=self.axis).any(axis=-1))

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """The dot product of the samples of two inputs, along ``axes`` (one axis for both, or
    one per input; not the batch axis). With ``normalize=True`` the samples are
    L2-normalized along those axes first, giving cosine similarities. A result with only the
    batch axis gets a second axis of size 1.

    >>> import fastdl
    >>> x = fastdl.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]])
    >>> fastdl.layers.Dot(axes=1)([x, fastdl.ones(2, 3)])
    tensor([[6.],
            [1.]])
    """

    inputs_needed = 2

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Dot: axes must be an int or a pair of ints, got {axes!r}")
            if len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Dot: axes must be an int or a pair of ints, got {axes!r}")
        self.axes = axes if isinstance(axes, int) else tuple(axes)
        self.normalize = bool(normalize)

    def _axes_for(self, shapes: list) -> tuple:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        return tuple(a % len(s) for a, s in zip(pair, shapes))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = self._shape_list(input_shape)
        first, second = shapes
        if len(first) < 2 or len(second) < 2:
            raise ValueError(f"{layer_label(self)}: inputs need a batch axis and at least one "
                             f"more; received shapes {_shape_text(shapes)}")
        a, b = self._axes_for(shapes)
        if a == 0 or b == 0:
            raise ValueError(f"{layer_label(self)}: axes={self.axes} include the batch axis "
                             f"for input shapes {_shape_text(shapes)}")
        if first[a] is not None and second[b] is not None and first[a] != second[b]:
            raise ValueError(f"{layer_label(self)}: axis {a} of the first input has size "
                             f"{first[a]} but axis {b} of the second has size {second[b]}; "
                             f"received shapes {_shape_text(shapes)}")
        out = ((_batch_size(self, shapes),) + first[1:a] + first[a + 1:]
               + second[1:b] + second[b + 1:])
        return out if len(out) > 1 else out + (1,)

    def _merge(self, inputs: list, masks: list) -> Tensor:
        x, y = inputs
        a, b = self._axes_for([x.shape, y.shape])
        if self.normalize:
            x, y = _l2_normalized(x, a), _l2_normalized(y, b)
        x_rest = [i for i in range(1, x.ndim) if i != a]
        y_rest = [i for i in range(1, y.ndim) if i != b]
        # (batch, rows, k) @ (batch, k, columns), then the kept axes of both, in order.
        x = _moved(x, [0] + x_rest + [a])
        y = _moved(y, [0, b] + y_rest)
        rows = [x.shape[i] for i in range(1, len(x_rest) + 1)]
        columns = [y.shape[i] for i in range(2, y.ndim)]
        batch = x.shape[0]
        product = ops.matmul(x.reshape(batch, -1, x.shape[-1]), y.reshape(batch, y.shape[1], -1))
        shape = (batch,) + tuple(rows) + tuple(columns)
        return product.reshape(shape if len(shape) > 1 else shape + (1,))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _moved(x: Tensor, order: list) -> Tensor:
    return x if order == list(range(x.ndim)) else ops.permute(x, order)


def _l2_normalized(x: Tensor, axis: int) -> Tensor:
    """``x / max(||x||, epsilon)`` along ``axis`` (a zero vector stays zero)."""
    squares = ops.sum(ops.multiply(x, x), axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(squares, _NORM_EPSILON ** 2))


# --------------------------------------------------------------------------- functional forms

def add(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``.

    >>> import fastdl
    >>> fastdl.layers.add([fastdl.ones(1, 2), fastdl.ones(1, 2)])
    tensor([[2., 2.]])
    """
    return Add(**kwargs)(inputs)


def subtract(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``.

    >>> import fastdl
    >>> fastdl.layers.subtract([fastdl.ones(1, 2), fastdl.full((1, 2), 3.0)])
    tensor([[-2., -2.]])
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``.

    >>> import fastdl
    >>> fastdl.layers.multiply([fastdl.full((1, 2), 2.0), fastdl.full((1, 2), 3.0)])
    tensor([[6., 6.]])
    """
    return Multiply(**kwargs)(inputs)


def average(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``.

    >>> import fastdl
    >>> fastdl.layers.average([fastdl.full((1, 2), 2.0), fastdl.full((1, 2), 3.0)])
    tensor([[2.5, 2.5]])
    """
    return Average(**kwargs)(inputs)


def maximum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``.

    >>> import fastdl
    >>> fastdl.layers.maximum([fastdl.tensor([[1.0, 4.0]]), fastdl.tensor([[2.0, 3.0]])])
    tensor([[2., 4.]])
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``.

    >>> import fastdl
    >>> fastdl.layers.minimum([fastdl.tensor([[1.0, 4.0]]), fastdl.tensor([[2.0, 3.0]])])
    tensor([[1., 3.]])
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis, **kwargs)(inputs)``.

    >>> import fastdl
    >>> fastdl.layers.concatenate([fastdl.ones(2, 3), fastdl.zeros(2, 1)]).shape
    (2, 4)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Sequence[Any], axes: Any = -1, normalize: bool = False, **kwargs: Any) -> Any:
    """``Dot(axes, normalize, **kwargs)(inputs)``.

    >>> import fastdl
    >>> fastdl.layers.dot([fastdl.tensor([[3.0, 4.0]]), fastdl.tensor([[3.0, 4.0]])],
    ...                   axes=1, normalize=True)
    tensor([[1.]])
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
