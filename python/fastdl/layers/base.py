"""The Layer base class.

A layer is built lazily, on its first call, from the shapes of its inputs (``build``); after
that ``call`` computes its outputs from Tensors. Layers can be called directly on Tensors or
arrays, or on symbolic tensors (``fastdl.layers.Input``) to define a functional model. How a
call goes (several inputs, keyword tensors, the training flag, masks) is told in
:mod:`fastdl.layers.calling`.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from fastdl import initializers
from fastdl.backend import parse_device, to_device
from fastdl.layers.calling import (call_in_context, call_layer, check_input_spec,
                                   output_shapes, plain_tensors)
from fastdl.layers.masking import set_output_masks
from fastdl.layers.signature import CallSignature, layer_label
from fastdl.layers.variable import Variable, weights_changed, weights_generation
from fastdl.tensor import Tensor

__all__ = ["Layer", "Variable", "InputSpec"]


class InputSpec:
    """What a layer accepts: a rank (``ndim`` or ``min_ndim``) and fixed sizes of some axes."""

    __slots__ = ("ndim", "min_ndim", "axes")

    def __init__(self, ndim: Optional[int] = None, min_ndim: Optional[int] = None,
                 axes: Optional[dict] = None) -> None:
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})

    def check(self, layer: "Layer", shape: tuple) -> None:
        if self.ndim is not None and len(shape) != self.ndim:
            raise ValueError(
                f"Input of layer {layer.name!r} ({type(layer).__name__}) is incompatible: "
                f"expected {self.ndim} dimensions{layer._rank_hint()}, received input of shape "
                f"{_shape_str(shape)}")
        if self.min_ndim is not None and len(shape) < self.min_ndim:
            raise ValueError(
                f"Input of layer {layer.name!r} ({type(layer).__name__}) is incompatible: "
                f"expected at least {self.min_ndim} dimensions, received input of shape "
                f"{_shape_str(shape)}")
        for axis, size in self.axes.items():
            if shape[axis] is not None and shape[axis] != size:
                raise ValueError(
                    f"Input of layer {layer.name!r} ({type(layer).__name__}) is incompatible: "
                    f"expected axis {axis} of the input to have size {size}, received input "
                    f"of shape {_shape_str(shape)}")


def _shape_str(shape: Sequence) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


_name_counts: dict[str, int] = {}


def unique_name(prefix: str) -> str:
    """``dense``, then ``dense_1``, ``dense_2``... as Keras names layers."""
    n = _name_counts.get(prefix, 0)
    _name_counts[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def _snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()



def callable_regularizer(layer: str, argument: str, regularizer: Any) -> Any:
    """``regularizer`` when it is None or a callable of the weight returning a loss (which the
    layer adds to its losses at each call); NotImplementedError naming ``layer`` and
    ``argument`` otherwise: fastdl has no named regularizers."""
    if regularizer is not None and not callable(regularizer):
        raise NotImplementedError(f"{layer}: {argument} must be a callable of the weight "
                                  f"returning a loss (fastdl has no named regularizers); "
                                  f"received {regularizer!r}")
    return regularizer

class Layer:
    """Base class of layers and models.

    Subclasses define ``build(input_shape)`` (create weights with :meth:`add_weight`) and
    ``call(inputs, training=None)``. ``call`` may take several tensors, positional or keyword
    (``call(self, query, value, attention_mask=None)``): ``build`` then receives their shapes
    by name if it asks for them (``build(self, query_shape, value_shape)``), else the shape
    of the first one. It may return a Tensor or a tuple, list or dict of Tensors. Keyword
    arguments every layer takes: ``name``, ``trainable``, ``dtype`` (float32 by default), and
    Keras's ``input_shape`` / ``batch_input_shape`` / ``input_dim`` to declare the input of a
    model's first layer.

    Masks (:mod:`fastdl.layers.masking`): a layer that overrides :meth:`compute_mask` makes
    or changes masks; one with ``supports_masking = True`` passes the mask of its input on.

    >>> import fastdl
    >>> class Scale(fastdl.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.k = self.add_weight(shape=(input_shape[-1],), initializer="ones",
    ...                                  name="k")
    ...     def call(self, x):
    ...         return x * self.k
    >>> layer = Scale()
    >>> layer(fastdl.ones(2, 3)).shape, [w.name for w in layer.weights]
    ((2, 3), ['k'])
    """

    #: Whether the mask of the inputs is passed on to the outputs (see compute_mask).
    supports_masking = False
    #: Whether integer and boolean data reach call as they are instead of becoming the
    #: layer's dtype (an Embedding's token ids).
    _integer_inputs = False
    #: Whether this layer's call starts by dropping its added losses (see add_loss).
    _drops_losses = False
    #: (weights generation, trainable weights) when they were last listed.
    _trainable_listed: Optional[tuple] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _read_class_facts(cls)
        # As in Keras, a layer that computes masks supports them unless it says otherwise.
        if "compute_mask" in cls.__dict__ and "supports_masking" not in cls.__dict__:
            cls.supports_masking = True

    def __init__(self, trainable: bool = True, name: Optional[str] = None, dtype: Any = None,
                 input_shape: Optional[Sequence] = None,
                 batch_input_shape: Optional[Sequence] = None,
                 input_dim: Optional[int] = None, batch_size: Optional[int] = None,
                 **kwargs: Any) -> None:
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                             f"{kwargs}")
        if getattr(self, "_sublayers", None) is None:  # else set before super().__init__
            object.__setattr__(self, "_sublayers", [])
        self._inbound_nodes: list = []  # its calls on symbolic tensors (layers.symbolic.Node)
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self.dtype = np.dtype(dtype or "float32")
        if self.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}: dtype must be floating, got {self.dtype}")
        self._trainable = bool(trainable)
        self._device: Optional[str] = None  # set by to(), else by the first inputs
        self._own_weights: list[Variable] = []
        self._own_losses: list = []  # add_loss's terms of the layer's last call
        self.built = False
        self.input_spec: Optional[InputSpec] = None
        self.batch_input_shape = _declared_input_shape(input_shape, batch_input_shape,
                                                       input_dim, batch_size)
        self.output_shape: Optional[tuple] = None

    # ------------------------------------------------------------------ sublayers
    def __setattr__(self, key: str, value: Any) -> None:
        # Layers held in attributes (or lists of them) are tracked, as Keras does, so that a
        # custom layer's weights include those of the layers it is made of.
        if isinstance(value, Layer):
            self._track(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer)
                                                                 for v in value):
            for v in value:
                self._track(v)
        object.__setattr__(self, key, value)

    def _track(self, layer: "Layer") -> None:
        # As in Keras, a subclass may set its layers before calling super().__init__().
        # (Reading self.__dict__ would make every attribute access of the layer slower.)
        if getattr(self, "_sublayers", None) is None:
            object.__setattr__(self, "_sublayers", [])
        if layer is not self and all(layer is not s for s in self._sublayers):
            self._sublayers.append(layer)
            weights_changed()

    def _untrack(self, layer: "Layer") -> None:
        """Stops counting ``layer``'s weights among this layer's."""
        object.__setattr__(self, "_sublayers", [s for s in self._sublayers if s is not layer])
        weights_changed()

    # ------------------------------------------------------------------ weights
    def add_weight(self, *args: Any, shape: Optional[Sequence[int]] = None,
                   initializer: Any = None, dtype: Any = None, trainable: bool = True,
                   name: Optional[str] = None) -> Variable:
        """Creates a weight of ``shape`` (a scalar when None), initialized by ``initializer``
        (a name, an Initializer, or a callable ``f(shape, dtype)``; None means
        ``'glorot_uniform'`` for floating dtypes and ``'zeros'`` for others). ``dtype``
        defaults to the layer's. Weights of integer or boolean dtypes never train.

        Keras's form takes keywords, or ``shape, initializer, dtype`` positionally; fastdl's
        older positional form starts with the name:
        ``add_weight(name, shape, initializer, trainable, dtype)``.

        >>> import fastdl
        >>> layer = fastdl.layers.Layer()
        >>> step = layer.add_weight(shape=(), dtype="int64", name="step")
        >>> bias = layer.add_weight("bias", (2,), "ones")
        >>> step.shape, step.trainable, bias.numpy()
        ((), False, array([1., 1.], dtype=float32))
        """
        given = {"shape": shape, "initializer": initializer, "dtype": dtype, "name": name,
                 "trainable": trainable}
        order = _NAME_FIRST if args and isinstance(args[0], str) else _SHAPE_FIRST
        if len(args) > len(order):
            raise TypeError(f"{layer_label(self)}: add_weight takes at most {len(order)} "
                            f"positional arguments in this form, received {len(args)}")
        for key, value in zip(order, args):
            if given[key] is not (True if key == "trainable" else None):
                raise TypeError(f"{layer_label(self)}: add_weight got {key} both positionally "
                                f"and as a keyword argument")
            given[key] = value
        shape = () if given["shape"] is None else tuple(given["shape"])
        if any(d is None for d in shape):
            raise ValueError(f"{layer_label(self)}: add_weight needs a fully known shape, "
                             f"received {shape}")
        dtype = np.dtype(given["dtype"] or self.dtype)
        initializer = given["initializer"]
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        value = np.asarray(initializers.get(initializer)(shape, dtype), dtype)
        if value.shape != shape:
            raise ValueError(f"{layer_label(self)}: the initializer of weight "
                             f"{given['name'] or 'variable'!r} returned an array of shape "
                             f"{value.shape}; expected {shape}")
        value = to_device(value, self._device or "cpu")
        variable = Variable(value, name=given["name"] or self._unused_weight_name(),
                            trainable=given["trainable"])
        variable.requires_grad = variable.trainable and self._trainable
        self._own_weights.append(variable)
        weights_changed()
        return variable

    def _unused_weight_name(self) -> str:
        """``variable``, then ``variable_1``... among this layer's weights (Keras's names)."""
        taken = {v.name for v in self._own_weights}
        n = 0
        while (f"variable_{n}" if n else "variable") in taken:
            n += 1
        return f"variable_{n}" if n else "variable"

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        weights_changed()
        for layer in self._sublayers:
            layer.trainable = value
        for v in self._own_weights:
            v.requires_grad = v.trainable and self._trainable

    @property
    def weights(self) -> list[Variable]:
        """Every weight once, as Keras 3 lists them: this layer's own (those made trainable
        first), then each sublayer's. A BatchNormalization's moving statistics stay beside
        its gamma and beta, so that ``get_weights`` lists match Keras's."""
        own = self._own_weights
        found = [v for v in own if v.trainable] + [v for v in own if not v.trainable]
        for layer in self._sublayers:
            found += layer.weights
        return _unique(found)

    @property
    def trainable_weights(self) -> list[Variable]:
        """The weights that train: this layer's and its sublayers', once each (a new list at
        each call)."""
        listed = self._trainable_listed
        if listed is not None and listed[0] == weights_generation():
            return list(listed[1])
        found = []
        if self._trainable:
            found = [v for v in self._own_weights if v.trainable]
            for layer in self._sublayers:
                found += layer.trainable_weights
            found = _unique(found)
        object.__setattr__(self, "_trainable_listed", (weights_generation(), found))
        return list(found)

    @property
    def trainable_variables(self) -> list[Variable]:
        """Keras's other name of :attr:`trainable_weights`."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        """Keras's other name of :attr:`non_trainable_weights`."""
        return self.non_trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self._trainable:
            found = [v for v in self._own_weights]
            for layer in self._sublayers:
                found += layer.weights
            return _unique(found)
        found = [v for v in self._own_weights if not v.trainable]
        for layer in self._sublayers:
            found += layer.non_trainable_weights
        return _unique(found)

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights' values as NumPy arrays (from any device), in the order of
        :attr:`weights`."""
        return [np.array(to_device(v.data, "cpu")) for v in self.weights]

    def to(self, device: str) -> "Layer":
        """Moves the weights of this layer and of the layers it holds to ``device``
        (``'cpu'`` or ``'cuda'``), in place, and returns the layer. Weights built later are
        made there too. Inputs must then be on that device: nothing moves implicitly.

        >>> import fastdl
        >>> layer = fastdl.layers.Dense(2).to("cpu")
        >>> layer(fastdl.ones(1, 3)).device
        'cpu'
        """
        device = parse_device(f"{type(self).__name__}.to", device)
        for layer in self._walk():
            layer._device = device
            for v in layer._own_weights:
                if v.device != device:
                    v.data = to_device(v.data, device)
                    v.grad = None
        return self

    @property
    def device(self) -> str:
        """Where the layer's weights are (or will be made): ``'cpu'`` or ``'cuda'``."""
        weights = self.weights
        return weights[0].device if weights else self._device or "cpu"

    def _walk(self) -> list:
        """This layer and every layer it holds, each once."""
        found, stack = [], [self]
        while stack:
            layer = stack.pop()
            if all(layer is not f for f in found):
                found.append(layer)
                stack.extend(layer._sublayers)
        return found

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets the weights from arrays in the order of :attr:`weights` (shapes must match)."""
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"layer {self.name!r}: set_weights got {len(weights)} arrays; the "
                             f"layer has {len(mine)} weights "
                             f"({', '.join(v.name for v in mine) or 'none'})")
        for v, value in zip(mine, weights):
            value = np.asarray(value)
            if value.shape != v.data.shape:
                raise ValueError(f"layer {self.name!r}, weight {v.name!r}: expected shape "
                                 f"{v.data.shape}, received {value.shape}")
        for v, value in zip(mine, weights):
            v.assign(value)

    def count_params(self) -> int:
        """The number of scalars in the layer's weights (trainable or not).

        >>> import fastdl
        >>> layer = fastdl.layers.Dense(3)
        >>> layer.build((None, 4))
        >>> layer.count_params()  # kernel 4x3 + bias 3
        15
        """
        if not self.built and type(self).build is not Layer.build:
            raise ValueError(f"{layer_label(self)} is not built yet, so its weights do not "
                             f"exist; call it on data or build it with layer.build(input_shape)")
        return int(sum(v.data.size for v in self.weights))

    # ------------------------------------------------------------------ added losses
    def add_loss(self, loss: Any) -> None:
        """Adds a loss term (a scalar Tensor, or a number) from inside ``call``: a
        regularization, or a loss that needs more than targets and outputs. ``fit`` adds the
        model's :attr:`losses` to its compiled loss.

        >>> import fastdl
        >>> class ActivityRegularization(fastdl.layers.Layer):
        ...     def call(self, inputs):
        ...         self.add_loss(0.01 * inputs.sum())
        ...         return inputs
        >>> layer = ActivityRegularization()
        >>> _ = layer(fastdl.ones(2, 2)); _ = layer(fastdl.ones(2, 2))
        >>> layer.losses  # those of the last call only
        [tensor(0.04)]
        """
        if not self._drops_losses:
            # From now on each call of this layer starts by dropping the terms of the one
            # before. Only layers that add losses pay for it; other calls stay as they are.
            object.__setattr__(self, "call", _dropping_losses(self, type(self).call))
            object.__setattr__(self, "_drops_losses", True)
        self._own_losses.append(loss)

    @property
    def losses(self) -> list:
        """The terms :meth:`add_loss` added during the last call of this layer and of each
        layer it holds (a layer called twice in one forward pass keeps its last call's)."""
        return [loss for layer in self._walk() for loss in layer._own_losses]

    # ------------------------------------------------------------------ functional graph
    @property
    def input(self) -> Any:
        """The symbolic tensor(s) given to the first call of this layer on symbolic tensors
        (a list when there were several), as Keras defines it.

        >>> import fastdl
        >>> x = fastdl.layers.Input(shape=(3,))
        >>> dense = fastdl.layers.Dense(2)
        >>> y = dense(x)
        >>> dense.input is x, dense.output is y
        (True, True)
        """
        return _one_or_list(self._first_node("input").inputs)

    @property
    def output(self) -> Any:
        """The symbolic tensor(s) returned by the first call of this layer on symbolic tensors
        (a list when there were several)."""
        return _one_or_list(self._first_node("output").outputs)

    def _first_node(self, what: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"{layer_label(self)} has never been called on symbolic "
                                 f"tensors and thus has no defined {what}")
        return self._inbound_nodes[0]

    # ------------------------------------------------------------------ calling
    def build(self, input_shape: Any) -> None:
        """Creates the weights for inputs of ``input_shape`` (batch axis included)."""

    def call(self, inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define call(inputs)")

    def __call__(self, *args: Any, training: Optional[bool] = None, mask: Any = None,
                 **kwargs: Any) -> Any:
        """Calls the layer: ``args[0]`` is its ``inputs``; tensors may come positionally or by
        keyword, nested in lists, tuples and dicts (:mod:`fastdl.layers.calling`)."""
        # The calls of a training loop, kept cheap: a built layer given Tensors of its dtype
        # that carry no mask, and nothing else.
        if not kwargs and mask is None and self.built:
            inputs = args[0] if len(args) == 1 else None
            if (inputs.__class__ is Tensor and inputs._keras_mask is None
                    and inputs.data.dtype == self.dtype):
                if self.input_spec is not None:
                    self.input_spec.check(self, inputs.shape)
                if training is None and not self._call_takes_training:
                    outputs = self.call(inputs)  # the enclosing call's flag stays in force
                else:
                    outputs = call_in_context(self, args, {}, training)
                if self._computes_mask and self.supports_masking:
                    set_output_masks(self, inputs, outputs, None)
                return outputs
            if args and plain_tensors(self, args):  # several, or a list of them (merges)
                check_input_spec(self, args[0])
                outputs = call_in_context(self, args, {}, training)
                if self._computes_mask and self.supports_masking:
                    set_output_masks(self, args[0], outputs, None)
                return outputs
        return call_layer(self, args, training, mask, kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask(s) of the outputs for ``inputs`` whose mask is ``mask``: by default the
        input mask, unchanged. Used when :attr:`supports_masking` is True; overriding it
        makes a layer support masking."""
        return mask

    def compute_output_shape(self, *input_shapes: Any, **argument_shapes: Any) -> Any:
        """The output shape for inputs of the given shapes (batch axis None): one shape per
        positional argument of call, ``<arg>_shape=`` for keyword ones. Layers may override
        it; this one builds the layer and runs it on one sample of zeros.

        >>> import fastdl
        >>> fastdl.layers.Dense(3).compute_output_shape((None, 5))
        (None, 3)
        """
        return output_shapes(self, input_shapes, argument_shapes)

    def _rank_hint(self) -> str:
        """Appended to a rank error: what the dimensions mean for this layer."""
        return ""

    def get_config(self) -> dict:
        """The arguments that make this layer again: ``name``, ``trainable``, ``dtype``, and
        a subclass's own (a subclass adds them to its base's config)."""
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """A new layer, unbuilt, made from :meth:`get_config`'s result (its name included).

        >>> import fastdl
        >>> layer = fastdl.layers.Dense(3, activation="relu", name="hidden")
        >>> copy = fastdl.layers.Dense.from_config(layer.get_config())
        >>> copy.units, copy.name, copy.built
        (3, 'hidden', False)
        """
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


def _one_or_list(tensors: Sequence) -> Any:
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _unique(variables: Iterable[Variable]) -> list[Variable]:
    seen: set[int] = set()
    out = []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _declared_input_shape(input_shape, batch_input_shape, input_dim, batch_size
                          ) -> Optional[tuple]:
    """Keras's ways to declare a first layer's input, as one shape with the batch axis."""
    if batch_input_shape is not None:
        return tuple(batch_input_shape)
    if input_shape is not None:
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        return (batch_size,) + tuple(input_shape)
    if input_dim is not None:
        return (batch_size, int(input_dim))
    return None


_NAME_FIRST = ("name", "shape", "initializer", "trainable", "dtype")
_SHAPE_FIRST = ("shape", "initializer", "dtype")


def _dropping_losses(layer: Layer, call: Callable) -> Callable:
    """``layer``'s ``call``, preceded by dropping the loss terms of its previous call."""
    @functools.wraps(call)
    def call_afresh(*args: Any, **kwargs: Any) -> Any:
        layer._own_losses.clear()
        return call(layer, *args, **kwargs)
    return call_afresh


def _marking_built(build: Callable) -> Callable:
    """``build`` that marks the layer built, as Keras's does when called directly
    (``layer.build(input_shape)`` before ``count_params`` or ``summary``)."""
    @functools.wraps(build)  # its signature stays readable: build's arguments are matched
    def build_and_mark(self: "Layer", *args: Any, **kwargs: Any) -> Any:
        result = build(self, *args, **kwargs)
        self.built = True
        return result
    return build_and_mark


def _read_class_facts(cls: type) -> None:
    """What calling an instance of ``cls`` needs, read once per class."""
    if "build" in cls.__dict__:
        cls.build = _marking_built(cls.__dict__["build"])
    signature = CallSignature(cls.call)
    cls._call_signature = signature
    cls._call_takes_training = signature.takes_training
    cls._default_training = signature.default_training
    cls._computes_mask = cls.compute_mask is not Layer.compute_mask
    cls._computes_output_shape = cls.compute_output_shape is not Layer.compute_output_shape


_read_class_facts(Layer)
