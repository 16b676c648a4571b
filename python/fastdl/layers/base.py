"""The Layer base class and the Variable a layer's weights live in.

A layer is built lazily, on its first call, from the shape of its input (``build``); after that
``call`` computes its output from Tensors. Layers can be called directly on Tensors or arrays,
or on symbolic tensors (``fastdl.layers.Input``) to define a functional model.
"""
from __future__ import annotations

import inspect
import re
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from fastdl import initializers
from fastdl.autograd import no_grad
from fastdl.backend import array_library, array_module, is_gpu_array, parse_device, to_device
from fastdl.layers.symbolic import call_symbolic, is_symbolic
from fastdl.tensor import Tensor

__all__ = ["Layer", "Variable", "InputSpec"]


class Variable(Tensor):
    """A weight: a Tensor with a name, updated in place by optimizers.

    >>> import fastdl
    >>> v = fastdl.layers.Variable(fastdl.ones(2).numpy(), name="bias")
    >>> v.assign([3.0, 4.0]); v
    <Variable 'bias' shape=(2,) dtype=float32, numpy=[3. 4.]>
    """

    __slots__ = ("name", "trainable")

    def __init__(self, data: np.ndarray, name: str, trainable: bool = True) -> None:
        data = data if is_gpu_array(data) else np.ascontiguousarray(data)
        super().__init__(data, requires_grad=trainable)
        self.name = name
        self.trainable = bool(trainable)

    def assign(self, value: Any) -> None:
        """Copies ``value`` (from any device) into the variable (same shape), keeping the
        same array."""
        value = value.data if isinstance(value, Tensor) else value
        value = value if is_gpu_array(value) else np.asarray(value)
        if value.shape != self.data.shape:
            raise ValueError(f"variable {self.name!r}: cannot assign a value of shape "
                             f"{value.shape}; expected {self.data.shape}")
        xp = array_module(self.data)
        xp.copyto(self.data, to_device(value, self.device), casting="same_kind")

    def __repr__(self) -> str:
        return (f"<Variable {self.name!r} shape={self.data.shape} dtype={self.data.dtype}, "
                f"numpy={self.data}>")


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


class Layer:
    """Base class of layers and models.

    Subclasses define ``build(input_shape)`` (create weights with :meth:`add_weight`) and
    ``call(inputs, training=None)``. Keyword arguments every layer takes: ``name``,
    ``trainable``, ``dtype`` (float32 by default), and Keras's ``input_shape`` /
    ``batch_input_shape`` / ``input_dim`` to declare the input of a model's first layer.

    >>> import fastdl
    >>> class Scale(fastdl.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.k = self.add_weight("k", (input_shape[-1],), initializer="ones")
    ...     def call(self, x):
    ...         return x * self.k
    >>> layer = Scale()
    >>> layer(fastdl.ones(2, 3)).shape, [w.name for w in layer.weights]
    ((2, 3), ['k'])
    """

    _call_takes_training = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        params = inspect.signature(cls.call).parameters
        cls._call_takes_training = "training" in params or any(
            p.kind is p.VAR_KEYWORD for p in params.values())

    def __init__(self, trainable: bool = True, name: Optional[str] = None, dtype: Any = None,
                 input_shape: Optional[Sequence] = None,
                 batch_input_shape: Optional[Sequence] = None,
                 input_dim: Optional[int] = None, batch_size: Optional[int] = None,
                 **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{', '.join(sorted(kwargs))}")
        object.__setattr__(self, "_sublayers", [])
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self.dtype = np.dtype(dtype or "float32")
        if self.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}: dtype must be floating, got {self.dtype}")
        self._trainable = bool(trainable)
        self._device: Optional[str] = None  # set by to(), else by the first inputs
        self._own_weights: list[Variable] = []
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
        if layer is not self and all(layer is not s for s in self._sublayers):
            self._sublayers.append(layer)

    # ------------------------------------------------------------------ weights
    def add_weight(self, name: str, shape: Sequence[int], initializer: Any = "glorot_uniform",
                   trainable: bool = True, dtype: Any = None) -> Variable:
        """Creates a weight of ``shape``, initialized by ``initializer`` (a name, an
        Initializer, or a callable ``f(shape, dtype)``)."""
        dtype = np.dtype(dtype or self.dtype)
        value = np.asarray(initializers.get(initializer)(tuple(shape), dtype), dtype=dtype)
        value = to_device(value, self._device or "cpu")
        variable = Variable(value, name=name, trainable=trainable)
        variable.requires_grad = trainable and self._trainable
        self._own_weights.append(variable)
        return variable

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._sublayers:
            layer.trainable = value
        for v in self._own_weights:
            v.requires_grad = v.trainable and self._trainable

    @property
    def weights(self) -> list[Variable]:
        """Every weight, trainable first, then non-trainable (as Keras orders them)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self._trainable:
            return []
        found = [v for v in self._own_weights if v.trainable]
        for layer in self._sublayers:
            found += layer.trainable_weights
        return _unique(found)

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
        return int(sum(v.data.size for v in self.weights))

    # ------------------------------------------------------------------ calling
    def build(self, input_shape: Any) -> None:
        """Creates the weights for inputs of ``input_shape`` (batch axis included)."""

    def call(self, inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define call(inputs)")

    def __call__(self, inputs: Any, training: Optional[bool] = None, **kwargs: Any) -> Any:
        # A built layer given a Tensor of its dtype (every call of a training loop) goes
        # straight to the checks and call().
        if inputs.__class__ is not Tensor or not self.built or inputs.data.dtype != self.dtype:
            if is_symbolic(inputs):
                if training is not None:
                    kwargs["training"] = training
                return call_symbolic(self, inputs, kwargs)
            inputs = self._as_inputs(inputs)
            if not self.built:
                if self._device is None:  # weights are made where the first inputs are
                    first = inputs[0] if isinstance(inputs, list) else inputs
                    self._device = first.device
                self._build_for(_shapes_of(inputs))
        if self.input_spec is not None:
            self.input_spec.check(self, inputs.shape)
        if self._call_takes_training:
            return self.call(inputs, training=training, **kwargs)
        return self.call(inputs, **kwargs)

    def _as_inputs(self, inputs: Any) -> Any:
        """Tensors of the layer's dtype (arrays and other dtypes are converted)."""
        if isinstance(inputs, (list, tuple)):
            return [self._as_inputs(x) for x in inputs]
        if isinstance(inputs, Tensor):
            if inputs.data.dtype != self.dtype and inputs.data.dtype.kind in "fiub":
                return inputs.astype(self.dtype) if inputs.requires_grad else \
                    Tensor(inputs.data.astype(self.dtype))
            return inputs
        if is_gpu_array(inputs):
            return Tensor(inputs.astype(self.dtype, copy=False))
        return Tensor(np.asarray(inputs, dtype=self.dtype))

    def _build_for(self, input_shape: Any) -> None:
        self.build(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for inputs of ``input_shape`` (batch axis None), found by running
        the layer on one zero sample."""
        if not self.built:
            self._build_for(input_shape)
        xp = array_library(self._device or "cpu")
        batch = [xp.zeros((1,) + tuple(1 if d is None else d for d in s[1:]), self.dtype)
                 for s in (input_shape if isinstance(input_shape, list) else [input_shape])]
        with no_grad():
            out = self(batch if isinstance(input_shape, list) else batch[0], training=False)
        if isinstance(out, (list, tuple)):
            shapes = [(None,) + tuple(o.shape[1:]) for o in out]
            self.output_shape = shapes
            return shapes
        self.output_shape = (None,) + tuple(out.shape[1:])
        return self.output_shape

    def _rank_hint(self) -> str:
        """Appended to a rank error: what the dimensions mean for this layer."""
        return ""

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


def _shapes_of(inputs: Any) -> Any:
    if isinstance(inputs, list):
        return [tuple(x.shape) for x in inputs]
    return tuple(inputs.shape)


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

