"""Model: a layer made of layers, with Keras's training API.

Three ways to make one, as in Keras: the functional API (``Model(inputs, outputs)`` over
symbolic tensors from ``Input``), :class:`Sequential`, or subclassing ``Model`` and defining
``call``.
"""
from __future__ import annotations

from typing import Any, Optional

from fastdl.autograd import no_grad
from fastdl.backend import array_library
from fastdl.layers.base import Layer, unique_name
from fastdl.layers.calling import current_training
from fastdl.layers.core import InputLayer
from fastdl.layers.nested import flatten, map_structure, pack_like
from fastdl.layers.symbolic import Node, SymbolicTensor
from fastdl.models import saving, summary
from fastdl.models.multi_io import inputs_in_order
from fastdl.models.training import TrainingMixin
from fastdl.tensor import Tensor

__all__ = ["Model"]


def _graph_nodes(inputs: list, outputs: list) -> list[Node]:
    """The layer calls between ``inputs`` and ``outputs`` in an order where each node comes
    after the nodes that make its inputs."""
    input_ids = {id(t) for t in inputs}
    order: list[Node] = []
    state: dict[int, int] = {}  # 1: being visited, 2: done
    stack: list[tuple[Node, bool]] = []
    for t in reversed(outputs):
        if t.node is None:
            raise ValueError(f"Model: output {t!r} was not made by a layer call")
        stack.append((t.node, False))
    while stack:
        node, expanded = stack.pop()
        if expanded:
            state[id(node)] = 2
            order.append(node)
            continue
        if state.get(id(node)) is not None:
            continue
        state[id(node)] = 1
        stack.append((node, True))
        for t in reversed(node.inputs):
            if id(t) in input_ids:
                if state.get(id(t.node)) is None:
                    state[id(t.node)] = 2
                    order.append(t.node)
                continue
            if t.node is None or isinstance(t.node.layer, InputLayer):
                raise ValueError(f"Model: {t!r} is needed to compute the outputs but is not "
                                 f"among the model's inputs")
            stack.append((t.node, False))
    return order


class Model(TrainingMixin, Layer):
    """A model: layers, weights, and ``compile``/``fit``/``evaluate``/``predict``.

    >>> import numpy as np, fastdl
    >>> from fastdl import layers
    >>> inputs = layers.Input(shape=(4,))
    >>> outputs = layers.Dense(3, activation="softmax")(layers.Dense(8, activation="relu")(inputs))
    >>> model = fastdl.models.Model(inputs, outputs)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    >>> model.predict(np.ones((2, 4))).shape
    (2, 3)
    """

    #: A model's integer data (token ids) reaches its call as it is: its own layers convert
    #: what they are given (an Input to its dtype, a Dense to its own, an Embedding none).
    _integer_inputs = True

    def __init__(self, inputs: Any = None, outputs: Any = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        if name is None and inputs is not None and type(self) is Model:
            name = unique_name("functional")  # Keras 3's name for a functional model
        super().__init__(name=name, **kwargs)
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self._graph: Optional[tuple] = None
        if inputs is None and outputs is None:
            return  # a subclassed model: its call() defines it
        if inputs is None or outputs is None:
            raise ValueError("Model: pass both inputs and outputs (symbolic tensors), or "
                             "neither and define call() in a subclass")
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        """``inputs`` and ``outputs``: a symbolic tensor, or a list, tuple or dict of them
        (nested); the model's call takes and returns the same structures."""
        flat_inputs, flat_outputs = flatten(inputs), flatten(outputs)
        for t in flat_inputs + flat_outputs:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"Model: inputs and outputs must be symbolic tensors (from "
                                f"fastdl.layers.Input and layer calls), got {t!r}")
        nodes = _graph_nodes(flat_inputs, flat_outputs)
        self._graph = (flat_inputs, flat_outputs, outputs, nodes)
        self._model_layers = []
        for node in nodes:
            if all(node.layer is not seen for seen in self._model_layers):
                self._model_layers.append(node.layer)
                self._track(node.layer)
        # As in Keras: inputs and outputs flat, input and output as the model was given them.
        self.inputs, self.outputs = flat_inputs, flat_outputs
        self._input_structure = inputs
        self.built = True
        self.output_shape = map_structure(lambda t: t.shape, outputs)

    @property
    def input(self) -> Any:
        """A functional model's input(s), structured as given to the model; for other
        models, those of their first call on symbolic tensors."""
        return self._input_structure if self._graph is not None else super().input

    @property
    def output(self) -> Any:
        """A functional model's output(s), structured as given to the model; for other
        models, those of their first call on symbolic tensors."""
        return self._graph[2] if self._graph is not None else super().output

    @property
    def layers(self) -> list[Layer]:
        """The model's layers, in the order they are called."""
        if self._graph is not None:
            return list(self._model_layers)
        return list(self._sublayers)

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Layer:
        """A layer by name or by index in :attr:`layers`."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"model {self.name!r}: no layer at index {index} (it has "
                                 f"{len(layers)})")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"model {self.name!r}: no layer named {name!r}; layers: "
                         f"{', '.join(layer.name for layer in layers)}")

    def call(self, inputs: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        if self._graph is None:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed Model must define "
                                      f"call(inputs, training=None)")
        graph_inputs, graph_outputs, output_structure, nodes = self._graph
        if isinstance(inputs, dict) and not isinstance(self._input_structure, dict):
            inputs = inputs_in_order(self, inputs)  # by input name, as Keras takes them
        values = flatten(inputs)
        if len(values) != len(graph_inputs):
            raise ValueError(f"model {self.name!r} expects {len(graph_inputs)} input(s), "
                             f"received {len(values)}")
        if mask is not None:  # masks given to the model ride on its inputs, as layers read them
            for value, one in zip(values, flatten(mask)):
                if one is not None:
                    value._keras_mask = one
        # Called by __call__, the layers inherit the flag from the call context; called
        # directly with another flag, they are given it.
        given = {} if training is None or training is current_training() else {
            "training": training}
        computed: dict[int, Any] = {id(t): v for t, v in zip(graph_inputs, values)}
        for node in nodes:
            if isinstance(node.layer, InputLayer):  # check what the input was given
                t = node.outputs[0]
                computed[id(t)] = node.layer(computed[id(t)])
            elif node.single_input is not None:
                node.store_outputs(node.layer(computed[id(node.single_input)], **given),
                                   computed)
            else:
                args, kwargs = node.arguments_from(computed)
                # A training flag given at the symbolic call wins over the model's.
                node.store_outputs(node.layer(*args, **{**given, **kwargs}), computed)
        return pack_like(output_structure, [computed[id(t)] for t in graph_outputs])

    def build(self, input_shape: Any = None) -> None:
        """Creates a subclassed model's weights for inputs of ``input_shape`` (batch axis
        included) by calling it once on one sample of zeros (unknown sizes taken as 1), so
        that ``count_params``, ``summary`` and ``compile`` see them; Keras 3 only marks such
        a model built. A functional model is built by its graph.

        >>> import fastdl
        >>> class Mlp(fastdl.models.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.dense = fastdl.layers.Dense(2)
        ...     def call(self, x):
        ...         return self.dense(x)
        >>> model = Mlp()
        >>> model.build((None, 3))
        >>> model.count_params()
        8
        """
        if (self._graph is not None or self.built or input_shape is None
                or type(self).build is not Model.build):  # a build of its own made them
            return
        sample = tuple(1 if d is None else d for d in input_shape)
        with no_grad():
            self(Tensor(array_library(self._device or "cpu").zeros(sample, self.dtype)),
                 training=False)

    def _input_dtypes(self) -> list:
        """The dtype each input takes its data in (fit, evaluate and predict convert the
        data once, see :func:`fastdl.models.data.as_inputs`): a functional model's Inputs';
        None for a subclassed model, whose inputs are not declared."""
        if self._graph is not None:
            return [t.dtype for t in self.inputs]
        return [None]

    def _walk_layers(self) -> list[Layer]:
        """Every layer that owns weights, depth first, in call order (nested models
        expanded): the order in which weights are saved."""
        found: list[Layer] = []
        for layer in self.layers:
            if isinstance(layer, Model):
                found += [inner for inner in layer._walk_layers()
                          if all(inner is not f for f in found)]
            elif all(layer is not f for f in found):
                found.append(layer)
        return found

    def summary(self, line_length: Optional[int] = None,
                positions: Optional[list] = None, print_fn: Any = None,
                expand_nested: bool = False, show_trainable: bool = False,
                layer_range: Optional[tuple] = None) -> None:
        """Prints Keras's table of the layers (name and type, output shape, parameter count,
        and the inputs of each layer in a graph that is not a chain), then the trainable and
        non-trainable totals; see :func:`fastdl.models.summary.print_summary`."""
        summary.print_summary(self, line_length, positions, print_fn, expand_nested,
                              show_trainable, layer_range)

    def save_weights(self, filepath: Any) -> None:
        """Writes every weight to ``filepath`` (a NumPy ``.npz`` archive, no pickled
        objects); the file is replaced atomically."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath: Any) -> None:
        """Reads weights written by :meth:`save_weights` into this model (same architecture:
        weights are matched by position; a mismatch names the layer, the weight and both
        shapes)."""
        saving.load_weights(self, filepath)
