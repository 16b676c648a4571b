"""Core layers: Dense, Activation, Dropout, Identity, Flatten, Reshape, and the model input."""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from fastdl import activations
from fastdl import random as _random
from fastdl.layers.base import InputSpec, Layer
from fastdl.layers.symbolic import Node, SymbolicTensor
from fastdl.ops.products import Linear
from fastdl.ops.regularization import Dropout as DropoutFunction
from fastdl.tensor import Tensor

__all__ = ["Dense", "Activation", "Dropout", "Identity", "Flatten", "Reshape", "InputLayer",
           "Input"]


class ActivationMixin:
    """An ``activation`` argument: the kernel applies relu or tanh in its epilogue, any other
    activation runs after it. Sigmoid runs after it too, as an operation of its own: a
    cross-entropy loss then finds the logits under it and differentiates from them, as Keras
    does, where probabilities clipped to [1e-7, 1 - 1e-7] would stop the gradient of every
    saturated output (a VAE decoder's dark pixels)."""

    def _set_activation(self, activation: Any) -> None:
        self.activation = activations.get(activation)
        fused = activations.fused_name(self.activation)
        self._fused_activation = None if fused == "sigmoid" else fused
        self._after = None if (self._fused_activation is not None
                               or self.activation is activations.linear) else self.activation


class Dense(ActivationMixin, Layer):
    """``activation(inputs @ kernel + bias)``, the product, bias and relu or tanh in one
    kernel (a sigmoid after it: see :class:`ActivationMixin`). Inputs of rank > 2 are
    multiplied along their last axis.

    >>> import fastdl
    >>> layer = fastdl.layers.Dense(4, activation="relu")
    >>> layer(fastdl.ones(2, 3)).shape, [w.shape for w in layer.weights]
    ((2, 4), [(3, 4), (4,)])
    """

    supports_masking = True

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units}")
        self.units = int(units)
        self._set_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError(f"layer {self.name!r} (Dense): the last axis of the input must be "
                             f"known to build the kernel; got input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (in_features, self.units),
                                      self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) \
            if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_features})

    def call(self, inputs: Tensor) -> Tensor:
        out = Linear.apply(inputs, self.kernel, self.bias, self._fused_activation)
        return out if self._after is None else self._after(out)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}


class Activation(Layer):
    """Applies an activation (a name or a callable).

    >>> import fastdl
    >>> fastdl.layers.Activation("relu")(fastdl.tensor([-1.0, 1.0]))
    tensor([0., 1.])
    """

    supports_masking = True

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: Tensor) -> Tensor:
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs during training and scales the rest by
    ``1 / (1 - rate)``; the identity at inference. ``seed`` gives the layer its own generator
    (otherwise fastdl's, see :func:`fastdl.manual_seed`).

    >>> import fastdl
    >>> layer = fastdl.layers.Dropout(0.5, seed=4)
    >>> layer(fastdl.ones(6)).numpy()
    array([1., 1., 1., 1., 1., 1.], dtype=float32)
    >>> layer(fastdl.ones(6), training=True).numpy()
    array([2., 0., 0., 2., 0., 2.], dtype=float32)
    """

    supports_masking = True

    def __init__(self, rate: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def call(self, inputs: Tensor, training: Optional[bool] = None) -> Tensor:
        if not training or self.rate == 0.0:
            return inputs
        return DropoutFunction.apply(inputs, self.rate, self._generator or _random.generator())

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def _data_format(layer: str, data_format: Optional[str]) -> str:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    return data_format


class Identity(Layer):
    """Returns its inputs as they are (a placeholder in a model, as Keras's), masks included.

    >>> import fastdl
    >>> x = fastdl.ones(2, 3)
    >>> fastdl.layers.Identity()(x) is x
    True
    """

    supports_masking = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


class Flatten(Layer):
    """Flattens each sample to one axis. With ``data_format='channels_first'`` the channels are
    moved last first, so that the order matches the channels_last model's.

    >>> import fastdl
    >>> fastdl.layers.Flatten()(fastdl.ones(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format("Flatten", data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs: Tensor) -> Tensor:
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = inputs.transpose((0,) + tuple(range(2, inputs.ndim)) + (1,))
        return inputs.reshape(inputs.shape[0], -1)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1).

    >>> import fastdl
    >>> fastdl.layers.Reshape((4, -1))(fastdl.ones(2, 12)).shape
    (2, 4, 3)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1 or any(
                d == 0 or d < -1 for d in self.target_shape):
            raise ValueError(f"Reshape: target_shape may hold positive sizes and at most one "
                             f"-1, got {self.target_shape}")

    def call(self, inputs: Tensor) -> Tensor:
        per_sample = math.prod(inputs.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        fits = per_sample % known == 0 if -1 in self.target_shape else per_sample == known
        if not fits:
            raise ValueError(f"layer {self.name!r} (Reshape): cannot reshape input of shape "
                             f"{tuple(inputs.shape)} ({per_sample} values per sample) to "
                             f"{self.target_shape}")
        return inputs.reshape((inputs.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class InputLayer(Layer):
    """A model's input: data of ``shape`` per sample (or ``batch_shape``, batch axis
    included), of any ``dtype`` (float32 by default; integer indices and boolean masks too).

    It is made with its symbolic tensor, its :attr:`output`, which is what :func:`Input`
    returns. As the first layer of a Sequential model it declares the model's input; in a
    functional model it checks the data it is given and passes it through. Keras 2's
    ``input_shape=`` / ``batch_input_shape=`` are accepted for ``shape`` / ``batch_shape``.

    >>> import fastdl
    >>> layer = fastdl.layers.InputLayer(shape=(4,), name="features")
    >>> layer.batch_shape, layer.output.shape
    ((None, 4), (None, 4))
    """

    supports_masking = True  # the identity: a mask on the data stays on it

    def __init__(self, shape: Optional[Sequence[int]] = None, batch_size: Optional[int] = None,
                 dtype: Any = None, batch_shape: Optional[Sequence[Optional[int]]] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        shape = _one_of("shape", shape, "input_shape", kwargs.pop("input_shape", None))
        batch_shape = _one_of("batch_shape", batch_shape, "batch_input_shape",
                              kwargs.pop("batch_input_shape", None))
        if (shape is None) == (batch_shape is None):
            raise ValueError(f"InputLayer: pass either shape= (the shape of one sample) or "
                             f"batch_shape= (batch axis included); received shape={shape}, "
                             f"batch_shape={batch_shape}")
        super().__init__(name=name, input_shape=shape, batch_input_shape=batch_shape,
                         batch_size=batch_size, **kwargs)
        self.dtype = np.dtype(dtype or "float32")  # the data's: layers' must be floating
        self.batch_shape = self.batch_input_shape
        self.built = True
        self.output_shape = self.batch_shape
        Node(self).set_outputs(SymbolicTensor(self.batch_shape, self.dtype, name=self.name))

    def call(self, inputs: Tensor) -> Tensor:
        expected = self.batch_shape
        if len(inputs.shape) != len(expected) or any(
                e is not None and e != r for e, r in zip(expected[1:], inputs.shape[1:])):
            raise ValueError(f"Input {self.name!r} expects data of shape "
                             f"{_none_shape(expected)}, received {tuple(inputs.shape)}")
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype.name, "name": self.name}


def _one_of(name: str, value: Any, legacy_name: str, legacy_value: Any) -> Any:
    if value is not None and legacy_value is not None:
        raise ValueError(f"InputLayer: pass {name}= or {legacy_name}=, not both")
    return value if value is not None else legacy_value


def _none_shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def Input(shape: Optional[Sequence[int]] = None, batch_size: Optional[int] = None,
          dtype: Any = None, sparse: Optional[bool] = None,
          batch_shape: Optional[Sequence[Optional[int]]] = None,
          name: Optional[str] = None) -> SymbolicTensor:
    """The input of a model: a symbolic tensor of ``(batch_size,) + shape`` (or of
    ``batch_shape``), made by an :class:`InputLayer`. Functional models start from it; a
    Sequential model takes it as its first element.

    >>> import fastdl
    >>> x = fastdl.layers.Input(shape=(28, 28, 1))
    >>> y = fastdl.layers.Flatten()(x)
    >>> y.shape
    (None, 784)
    >>> fastdl.layers.Input(batch_shape=(16, 10, 5)).shape
    (16, 10, 5)
    """
    if sparse:
        raise ValueError("Input: fastdl has no sparse tensors; pass sparse=False (or leave it "
                         "out) and give dense data")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                      name=name).output
