"""Batch normalization."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl import ops
from fastdl.backend import array_module
from fastdl.layers.base import InputSpec, Layer
from fastdl.ops.normalization import BatchNorm
from fastdl.tensor import Tensor

__all__ = ["BatchNormalization"]

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
