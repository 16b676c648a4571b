"""Sequential: a model that is a stack of layers, each feeding the next."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from fastdl.layers.base import Layer
from fastdl.layers.calling import current_training, symbolic_outputs
from fastdl.layers.convolutional import Conv2D
from fastdl.layers.core import InputLayer
from fastdl.layers.nested import map_structure
from fastdl.layers.symbolic import SymbolicTensor
from fastdl.models.model import Model
from fastdl.tensor import Tensor

__all__ = ["Sequential"]


class Sequential(Model):
    """A linear stack of layers. The input shape comes from an ``InputLayer`` (or
    ``input_shape=`` on the first layer), which builds the model at once; otherwise it is
    built on its first call.

    >>> import numpy as np, fastdl
    >>> from fastdl import layers
    >>> model = fastdl.models.Sequential([
    ...     layers.Dense(128, activation="relu", input_shape=(784,)),
    ...     layers.Dropout(0.5),
    ...     layers.Dense(10, activation="softmax")])
    >>> model.output_shape, model.count_params()
    ((None, 10), 101770)
    """

    def __init__(self, layers: Optional[Sequence[Layer]] = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._stack: list[Layer] = []
        self._input_shape: Optional[tuple] = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Appends a layer (an InputLayer only in first position)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {layer!r}")
        if isinstance(layer, InputLayer):
            if self._stack or self._input_shape is not None:
                raise ValueError("Sequential: an InputLayer must come first")
            self._input_shape = layer.batch_input_shape
            return
        if not self._stack and self._input_shape is None and layer.batch_input_shape:
            self._input_shape = layer.batch_input_shape
        self._stack.append(layer)
        self._track(layer)
        self.built = False
        if self._input_shape is not None:
            self.build(self._input_shape)

    def pop(self) -> Layer:
        """Removes and returns the last layer."""
        if not self._stack:
            raise ValueError("Sequential.pop: the model has no layers")
        layer = self._stack.pop()
        self._sublayers = [s for s in self._sublayers if s is not layer]
        self.output_shape = self._stack[-1].output_shape if self._stack else None
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def build(self, input_shape: Any = None) -> None:
        """Builds every layer for inputs of ``input_shape`` (batch axis included) and records
        each layer's output shape."""
        shape = tuple(input_shape if input_shape is not None else self._input_shape or ())
        if not shape:
            raise ValueError(f"model {self.name!r}: the input shape is unknown; pass "
                             f"input_shape= to the first layer or call the model on data")
        shape = (None,) + shape[1:]
        self._input_shape = shape
        x = SymbolicTensor(shape, self.dtype)
        for layer in self._stack:  # each layer built and run symbolically, as a model would
            x = symbolic_outputs(layer, (x,), {})
        self.output_shape = map_structure(lambda t: t.shape, x)
        self.built = True

    def call(self, inputs: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        if mask is not None and isinstance(inputs, Tensor):
            inputs._keras_mask = mask  # the first layer reads it from its input
        # Called by __call__, the layers inherit the flag from the call context (the cheap
        # call); called directly with another flag, they are given it.
        given = {} if training is None or training is current_training() else {
            "training": training}
        x, stack, i = inputs, self._stack, 0
        while i < len(stack):
            layer = stack[i]
            after = stack[i + 1] if i + 1 < len(stack) else None
            if (after is not None and isinstance(layer, Conv2D) and x.__class__ is Tensor
                    and x._keras_mask is None and x.data.dtype == layer.dtype
                    and layer.fuses_max_pool(after)):
                x = layer.call_with_pool(x, after)  # both layers in one operation
                i += 2
            else:
                x = layer(x, **given)
                i += 1
        return x
