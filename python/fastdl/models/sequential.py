"""Sequential: a model that is a stack of layers, each feeding the next."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from fastdl.layers.base import Layer, unique_name
from fastdl.layers.calling import current_training
from fastdl.layers.convolutional import Conv2D
from fastdl.layers.core import InputLayer
from fastdl.layers.nested import flatten, map_structure
from fastdl.layers.symbolic import SymbolicTensor
from fastdl.models.model import Model
from fastdl.tensor import Tensor

__all__ = ["Sequential"]


class Sequential(Model):
    """A linear stack of layers, each feeding the next.

    Its input is declared as in Keras: by ``keras.Input(shape)`` (or an ``InputLayer``) as
    its first element, by ``input_shape=`` on the first layer, or, when the first layer is a
    built model, by that model's input; the model is then built at once (and rebuilt by
    ``add`` and ``pop``), otherwise on its first call. Once built it is also a graph of
    layer calls, as a functional model is: ``model.inputs``, ``model.outputs`` and each
    layer's ``output`` are symbolic tensors from which new models can be made.

    >>> import numpy as np, fastdl
    >>> from fastdl import keras, layers
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(784,)),
    ...     layers.Dense(128, activation="relu"),
    ...     layers.Dropout(0.5),
    ...     layers.Dense(10, activation="softmax")])
    >>> model.output_shape, model.count_params()
    ((None, 10), 101770)
    >>> features = keras.Model(model.inputs, [layer.output for layer in model.layers])
    >>> [f.shape for f in features(np.ones((2, 784)))]
    [(2, 128), (2, 128), (2, 10)]
    """

    def __init__(self, layers: Optional[Sequence[Any]] = None, trainable: bool = True,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack: list[Layer] = []
        self._input_layer: Optional[InputLayer] = None
        self._graph_output: Any = None  # the symbolic output of the last build
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._rebuild()

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Appends a layer; ``keras.Input(...)`` or an InputLayer only in first position.
        With ``rebuild=False`` the model is not rebuilt for its new last layer."""
        if isinstance(layer, SymbolicTensor) and isinstance(
                getattr(layer.node, "layer", None), InputLayer):
            layer = layer.node.layer  # keras.Input(...): its InputLayer
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential model {self.name!r}: only layers can be added, "
                             f"received {layer!r} (of type {type(layer).__name__})")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                configured = (f"is already configured for input shape "
                              f"{self._input_layer.batch_shape}" if self._input_layer
                              else "already has layers")
                raise ValueError(f"Sequential model {self.name!r} {configured}: an Input or "
                                 f"InputLayer can only come first")
            self._input_layer = layer
        else:
            if any(layer.name == other.name for other in self._stack):
                raise ValueError(f"Sequential model {self.name!r} already has a layer named "
                                 f"{layer.name!r}; layers of a Sequential model need unique "
                                 f"names")
            if not self._stack and self._input_layer is None:
                declared = _declared_input_shape(layer)
                if declared is not None:
                    self._input_layer = InputLayer(batch_shape=declared,
                                                   dtype=_data_dtype(layer))
            self._stack.append(layer)
            self._track(layer)
        self.built = False
        if rebuild:
            self._rebuild()

    def pop(self, rebuild: bool = True) -> Layer:
        """Removes and returns the last layer."""
        if not self._stack:
            raise ValueError(f"Sequential model {self.name!r} has no layers to pop")
        layer = self._stack.pop()
        self._untrack(layer)
        self.built = False
        self.output_shape = self._graph_output = None
        if rebuild:
            self._rebuild()
        return layer

    @property
    def layers(self) -> list[Layer]:
        """The layers of the stack (the InputLayer, which is not one, left out)."""
        return list(self._stack)

    def _rebuild(self) -> None:
        """Builds the model when its input shape is known and it has layers."""
        shape = self._input_layer.batch_shape if self._input_layer is not None else (
            _declared_input_shape(self._stack[0]) if self._stack else None)
        if shape is not None and self._stack:
            self.build(shape)

    def build(self, input_shape: Any = None) -> None:
        """Builds every layer for inputs of ``input_shape`` (batch axis included) by calling
        it on the symbolic output of the layer before, as a functional model is made."""
        if not self._stack:
            raise ValueError(f"Sequential model {self.name!r} cannot be built: it has no "
                             f"layers; add some with model.add(layer)")
        if input_shape is None and self._input_layer is None:
            raise ValueError(f"Sequential model {self.name!r}: the input shape is unknown; "
                             f"start the model with keras.Input(shape) or call it on data")
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=(None,) + tuple(input_shape)[1:],
                                           dtype=_data_dtype(self._stack[0]))
        elif input_shape is not None and tuple(input_shape)[1:] != \
                self._input_layer.batch_shape[1:]:
            raise ValueError(f"Sequential model {self.name!r} is configured for input shape "
                             f"{self._input_layer.batch_shape}; it cannot be built for "
                             f"{tuple(input_shape)}")
        # Keras 3 makes a functional model at each build of a Sequential one, which takes
        # the next "functional" name: taking it too keeps later models named as in Keras.
        unique_name("functional")
        x = self._input_layer.output
        for layer in self._stack:
            x = layer(x)
        self._graph_output = x
        self.output_shape = map_structure(lambda t: t.shape, x)
        self.built = True

    @property
    def input_shape(self) -> tuple:
        """The shape of the model's input, batch axis included (None)."""
        return self._built_graph("input shape").batch_shape

    @property
    def inputs(self) -> list:
        """The symbolic input of the built model, in a list (as Keras gives it)."""
        return [self._built_graph("inputs").output]

    @property
    def outputs(self) -> list:
        """The symbolic output(s) of the built model, in a list."""
        self._built_graph("outputs")
        return flatten(self._graph_output)

    @property
    def input(self) -> Any:
        """The symbolic input of the built model."""
        return self._built_graph("input").output

    @property
    def output(self) -> Any:
        """The symbolic output of the built model."""
        self._built_graph("output")
        return self._graph_output

    def _input_dtypes(self) -> list:
        """The dtype the model's data takes: its Input's, else the first layer's (token ids
        for an Embedding, floats for a Dense)."""
        if self._input_layer is not None:
            return [self._input_layer.dtype]
        return [_data_dtype(self._stack[0]) if self._stack else None]

    def _built_graph(self, what: str) -> InputLayer:
        if not self.built or self._graph_output is None:
            raise AttributeError(f"Sequential model {self.name!r} has no defined {what} yet: "
                                 f"start it with keras.Input(shape), or build it or call it "
                                 f"on data first")
        return self._input_layer

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


def _data_dtype(layer: Layer) -> Any:
    """The dtype of the data a first layer takes: int32 token ids for a layer that takes
    integers (Embedding), what a model's input declares (None when it does not), else the
    layer's own floating dtype."""
    if isinstance(layer, Model):
        return layer._input_dtypes()[0]
    return np.dtype(np.int32) if layer._integer_inputs else layer.dtype


def _declared_input_shape(layer: Layer) -> Optional[tuple]:
    """The model input a first layer declares: its ``input_shape=`` (Keras 2's way), or,
    for a built model, the shape of its single input."""
    if layer.batch_input_shape is not None:
        return layer.batch_input_shape
    if isinstance(layer, Model) and layer.built:
        try:
            inputs = layer.inputs
        except AttributeError:  # a subclassed model: built by a call on data
            return None
        if len(inputs) == 1:
            return inputs[0].shape
    return None
