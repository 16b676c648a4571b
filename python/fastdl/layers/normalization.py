"""Batch, layer and RMS normalization."""
from __future__ import annotations

import warnings
from typing import Any, Optional, Sequence, Union

import numpy as np

from fastdl import ops
from fastdl.backend import array_module
from fastdl.layers.base import InputSpec, Layer, callable_regularizer
from fastdl.layers.signature import layer_label
from fastdl.ops.normalization import BatchNorm, normalize
from fastdl.tensor import Tensor

__all__ = ["BatchNormalization", "LayerNormalization", "RMSNormalization"]

# Added to the count of kept steps of a masked batch (Keras's epsilon).
_COUNT_EPSILON = 1e-7


class BatchNormalization(Layer):
    """Normalizes each channel (``axis``) by the batch's mean and variance during training,
    and by their moving averages at inference, then scales by ``gamma`` and shifts by
    ``beta``. Keras's defaults: ``momentum=0.99``, ``epsilon=1e-3``. As in Keras, a layer with
    ``trainable=False`` always runs in inference mode.

    >>> import fastdl
    >>> bn = fastdl.layers.BatchNormalization()
    >>> y = bn(fastdl.randn(64, 8) * 3 + 5, training=True)
    >>> bool(abs(y.numpy().mean()) < 1e-5), [w.name for w in bn.weights]
    (True, ['gamma', 'beta', 'moving_mean', 'moving_variance'])

    With a mask (``(batch, steps)`` for ``(batch, steps, channels)`` inputs, as Keras layers
    pass them), training uses the moments of the kept steps only; the mask is passed on.
    """

    supports_masking = True

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._initializers = (gamma_initializer, beta_initializer, moving_mean_initializer,
                              moving_variance_initializer)

    def build(self, input_shape):
        ndim = len(input_shape)
        axis = self.axis % ndim
        channels = input_shape[axis]
        gamma_init, beta_init, mean_init, var_init = self._initializers
        self.gamma = self.add_weight("gamma", (channels,), gamma_init) if self.scale else None
        self.beta = self.add_weight("beta", (channels,), beta_init) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", (channels,), mean_init,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (channels,), var_init,
                                               trainable=False)
        self._reduce_axes = tuple(a for a in range(ndim) if a != axis)
        # Per-channel vectors shaped to broadcast against the input.
        self._broadcast_shape = tuple(channels if a == axis else 1 for a in range(ndim))
        self._channels_last = axis == ndim - 1
        self.input_spec = InputSpec(ndim=ndim, axes={axis: channels})

    def _per_channel(self, v: Optional[Tensor], fill: float) -> Any:
        if v is None:
            return self.dtype.type(fill)
        return v if self._channels_last else v.reshape(self._broadcast_shape)

    def call(self, inputs: Tensor, training: Optional[bool] = None,
             mask: Optional[Tensor] = None) -> Tensor:
        gamma = self._per_channel(self.gamma, 1.0)
        beta = self._per_channel(self.beta, 0.0)
        if training and self.trainable:
            if mask is not None:
                return self._masked_training_call(inputs, mask, gamma, beta)
            out, mean, var = BatchNorm.apply(inputs, gamma, beta, self._reduce_axes,
                                             self.epsilon)
            self._update_moving(mean.data, var.data)
            return out
        mean = self.moving_mean.data.reshape(self._broadcast_shape)
        inv_std = 1.0 / np.sqrt(self.moving_variance.data.reshape(self._broadcast_shape)
                                + self.dtype.type(self.epsilon))
        return (inputs - mean) * inv_std * gamma + beta

    def _masked_training_call(self, inputs: Tensor, mask: Tensor, gamma: Any,
                              beta: Any) -> Tensor:
        """Normalizes by the mean and variance of the kept steps (each step weighted by its
        mask, as Keras computes them), and updates the moving statistics with those."""
        if mask.ndim != inputs.ndim - 1:
            raise ValueError(f"layer {self.name!r} (BatchNormalization): the mask must have one "
                             f"axis less than the inputs; received a mask of shape "
                             f"{tuple(mask.shape)} for inputs of shape {tuple(inputs.shape)}")
        xp = array_module(inputs.data)
        keep = xp.broadcast_to(mask.data[..., None], inputs.shape)
        axes = self._reduce_axes
        # + epsilon: a channel with no kept step gets moments of 0, not a division by zero.
        count = keep.sum(axis=axes, keepdims=True).astype(self.dtype) + _COUNT_EPSILON
        mean = ops.sum(ops.where(keep, inputs, 0.0), axis=axes, keepdims=True) / count
        centered = ops.where(keep, inputs - mean, 0.0)
        var = ops.sum(centered * centered, axis=axes, keepdims=True) / count
        self._update_moving(mean.data.reshape(-1), var.data.reshape(-1))
        return (inputs - mean) / ops.sqrt(var + self.dtype.type(self.epsilon)) * gamma + beta

    def _update_moving(self, mean: np.ndarray, var: np.ndarray) -> None:
        m = self.dtype.type(self.momentum)
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
            moving.data *= m
            moving.data += (1 - m) * batch

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale}


def _axis_argument(layer: str, axis: Any) -> Union[int, list]:
    """Keras's ``axis`` of the per-sample normalizations: an int, or a list of ints."""
    if isinstance(axis, (list, tuple)) and all(isinstance(a, (int, np.integer))
                                               and not isinstance(a, bool) for a in axis):
        return [int(a) for a in axis]
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    raise TypeError(f"{layer}: axis must be an int or a list/tuple of ints; received {axis!r}")


def _normalized_axes(layer: Layer, axes: list, input_shape: Sequence) -> list:
    """The normalized axes as sorted non-negative indices; ValueError naming the layer for an
    axis out of range or of undefined size."""
    ndim = len(input_shape)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{layer_label(layer)}: axis {a} is out of bounds for input shape "
                             f"{tuple(input_shape)}; received axis={axes!r}")
        if input_shape[a] is None:
            raise ValueError(f"{layer_label(layer)}: the normalized axis {a} of input shape "
                             f"{tuple(input_shape)} must have a defined size")
    return sorted(a % ndim for a in axes)


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (the last by default; an int or a list) to mean 0
    and variance 1, ``(x - mean) / sqrt(var + epsilon)``, then scales by ``gamma`` and shifts by
    ``beta``, weights spanning the normalized axes. Keras 3's arguments and defaults
    (``epsilon=1e-3``, ``center``, ``scale``, the initializers), on one fused kernel forward and
    one backward (``fastdl.ops.layer_normalization``). Masks pass through.

    ``rms_scaling=True`` is Keras's deprecated variant (it warns, as Keras does): a gamma only,
    and a division by ``sqrt(var + epsilon)`` without centering; :class:`RMSNormalization` is
    RMS normalization. A regularizer may be a callable of the weight returning a scalar loss;
    Keras's constraints are not available (NotImplementedError).

    >>> import fastdl
    >>> layer = fastdl.layers.LayerNormalization()
    >>> y = layer(fastdl.randn(4, 16) * 3 + 5)
    >>> bool(abs(y.numpy().mean(axis=-1)).max() < 1e-5), [w.name for w in layer.weights]
    (True, ['gamma', 'beta'])
    """

    supports_masking = True

    def __init__(self, axis: Union[int, Sequence[int]] = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        rms_scaling = bool(kwargs.pop("rms_scaling", False))
        if rms_scaling:
            warnings.warn("LayerNormalization: rms_scaling=True is deprecated, as in Keras: it "
                          "divides by the square root of the variance, not by the root mean "
                          "square; use keras.layers.RMSNormalization for RMS normalization",
                          UserWarning, stacklevel=2)
        for name, value in (("beta_constraint", beta_constraint),
                            ("gamma_constraint", gamma_constraint)):
            if value is not None:
                raise NotImplementedError(f"LayerNormalization: {name} is not available in "
                                          f"fastdl; received {name}={value!r} (leave it None)")
        self.axis = _axis_argument("LayerNormalization", axis)
        super().__init__(**kwargs)
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.rms_scaling = rms_scaling
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer = callable_regularizer("LayerNormalization", "beta_regularizer",
                                                      beta_regularizer)
        self.gamma_regularizer = callable_regularizer("LayerNormalization",
                                                       "gamma_regularizer", gamma_regularizer)

    def build(self, input_shape):
        # As Keras, the axis becomes a sorted list (its config's form from then on).
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self._axes = _normalized_axes(self, self.axis, input_shape)
        shape = tuple(input_shape[a] for a in self._axes)
        self.gamma = (self.add_weight(name="gamma", shape=shape,
                                      initializer=self.gamma_initializer)
                      if self.scale or self.rms_scaling else None)
        self.beta = (self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer)
                     if self.center and not self.rms_scaling else None)

    def call(self, inputs: Tensor) -> Tensor:
        for weight, regularizer in ((self.gamma, self.gamma_regularizer),
                                    (self.beta, self.beta_regularizer)):
            if weight is not None and regularizer is not None:
                self.add_loss(regularizer(weight))
        kind = "variance_scaling" if self.rms_scaling else "layer"
        return normalize("LayerNormalization", inputs, self.gamma, self.beta, self._axes,
                         self.epsilon, kind)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": self.rms_scaling,
                "beta_initializer": self.beta_initializer,
                "gamma_initializer": self.gamma_initializer}


class RMSNormalization(Layer):
    """Divides each sample by its root mean square over ``axis`` (the last by default),
    ``x / sqrt(mean(x**2) + epsilon)``, then multiplies by the weight ``scale`` (ones at first),
    spanning the normalized axes. Keras 3's arguments and defaults (``epsilon=1e-6``), on one
    fused kernel forward and one backward (``fastdl.ops.rms_normalization``).

    >>> import fastdl
    >>> layer = fastdl.layers.RMSNormalization()
    >>> layer(fastdl.tensor([[3.0, 4.0]])).numpy().round(4), [w.name for w in layer.weights]
    (array([[0.8485, 1.1314]], dtype=float32), ['scale'])
    """

    supports_masking = True

    def __init__(self, axis: Union[int, Sequence[int]] = -1, epsilon: float = 1e-6,
                 **kwargs: Any) -> None:
        self.axis = _axis_argument("RMSNormalization", axis)
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self._axes = _normalized_axes(self, self.axis, input_shape)
        self.scale = self.add_weight(name="scale", shape=tuple(input_shape[a] for a in self._axes),
                                     initializer="ones")

    def call(self, inputs: Tensor) -> Tensor:
        return normalize("RMSNormalization", inputs, self.scale, None, self._axes, self.epsilon,
                         "rms")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
