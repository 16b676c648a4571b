"""Convolution layers on fastdl's NHWC / NWC kernels (HWIO / WIO kernels, as Keras stores),
and the transposed convolutions on the same kernels."""
from __future__ import annotations

from typing import Any, Optional

from fastdl import activations, ops
from fastdl.backend.geometry import conv_transpose_axis, pair
from fastdl.layers.base import InputSpec, Layer
from fastdl.layers.core import ActivationMixin, _data_format
from fastdl.layers.pooling import (MaxPooling2D, _spatial_axes, _spatial_shape,
                                   window_output_size)
from fastdl.tensor import Tensor

__all__ = ["Conv2D", "Conv1D", "Conv2DTranspose", "Conv1DTranspose"]


class _Conv(ActivationMixin, Layer):
    """What Conv1D and Conv2D share: the arguments, the weights and the call."""

    rank = 2
    op = staticmethod(ops.conv2d)

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: Any = "valid",
                 data_format: Optional[str] = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        if int(filters) <= 0:
            raise ValueError(f"{name}: filters must be a positive integer, got {filters}")
        self.filters = int(filters)
        self.kernel_size = self._tuple("kernel_size", kernel_size)
        self.strides = self._tuple("strides", strides)
        self.dilation_rate = self._tuple("dilation_rate", dilation_rate)
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.data_format = _data_format(name, data_format)
        self._set_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _tuple(self, what: str, value: Any) -> tuple:
        values = pair(what, value, type(self).__name__) if self.rank == 2 else \
            (int(value if isinstance(value, int) else value[0]),)
        if any(v <= 0 for v in values):
            raise ValueError(f"{type(self).__name__}: {what} must be positive, got {value}")
        return values

    @property
    def _channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def build(self, input_shape):
        channels = input_shape[self._channel_axis]
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, self.filters),
                                      self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer) \
            if self.use_bias else None
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs: Tensor) -> Tensor:
        # conv2d takes (height, width) pairs, conv1d plain ints.
        strides, dilation = ((self.strides, self.dilation_rate) if self.rank == 2
                             else (self.strides[0], self.dilation_rate[0]))
        out = self.op(inputs, self.kernel, self.bias, strides, self.padding, dilation,
                      self._fused_activation, self.data_format)
        return out if self._after is None else self._after(out)

    def compute_output_shape(self, input_shape):
        spatial = [window_output_size(size, window, stride, dilation, padding)
                   for size, window, stride, dilation, padding in zip(
                       _spatial_axes(self, input_shape), self.kernel_size, self.strides,
                       self.dilation_rate, self._axis_paddings())]
        return _spatial_shape(self, input_shape, spatial, self.filters)

    def _axis_paddings(self) -> list:
        """The padding of each spatial axis: a mode, or its (before, after) amounts."""
        padding = self.padding
        if isinstance(padding, str):
            return [padding] * self.rank
        if hasattr(padding, "__index__"):
            return [(int(padding), int(padding))] * self.rank
        if self.rank == 1:
            return [tuple(int(p) for p in padding)]
        return [(p, p) if hasattr(p, "__index__") else tuple(p) for p in padding]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}


class Conv2D(_Conv):
    """2-D convolution over images ``(batch, height, width, channels)`` (or channels first).

    >>> import fastdl
    >>> layer = fastdl.layers.Conv2D(32, (3, 3), activation="relu")
    >>> layer(fastdl.ones(2, 28, 28, 1)).shape, layer.kernel.shape
    ((2, 26, 26, 32), (3, 3, 1, 32))
    """

    def _rank_hint(self) -> str:
        return (" (batch, height, width, channels); for single-channel images add a channel "
                "axis, e.g. x[..., None] or x.reshape(-1, 28, 28, 1)")

    def fuses_max_pool(self, pool: Layer) -> bool:
        """Whether this layer followed by ``pool`` runs as one operation
        (:func:`fastdl.ops.conv2d_max_pool2d`, the same results) when a model calls them:
        for a MaxPooling2D whose windows do not overlap, after a built Conv2D with one input
        channel (an image's first layer, whose large output is then pooled in cache instead
        of being stored), both channels_last and neither with a custom ``call``.

        >>> import fastdl
        >>> conv = fastdl.layers.Conv2D(32, 3, activation="relu")
        >>> _ = conv(fastdl.ones((1, 28, 28, 1)))  # builds it: one input channel
        >>> conv.fuses_max_pool(fastdl.layers.MaxPooling2D(2))
        True
        """
        return (self.built and type(self).call is Conv2D.call and self._after is None
                and self.data_format == "channels_last" and self.kernel.shape[2] == 1
                and self.kernel.shape[:2] != (1, 1)
                and isinstance(pool, MaxPooling2D) and type(pool).call is MaxPooling2D.call
                and pool.data_format == "channels_last"
                and all(s >= p for s, p in zip(pool.strides, pool.pool_size)))

    def call_with_pool(self, inputs: Tensor, pool: Layer) -> Tensor:
        """This layer then ``pool`` (a layer for which :meth:`fuses_max_pool` holds) as one
        operation, on a Tensor of the layer's dtype without a mask: what a model runs for the
        pair, with the input check of a call and none of the rest of ``__call__``'s work."""
        if self.input_spec is not None:
            self.input_spec.check(self, inputs.shape)
        return ops.conv2d_max_pool2d(inputs, self.kernel, self.bias, self.strides,
                                     self.padding, self.dilation_rate, self._fused_activation,
                                     pool.pool_size, pool.strides, pool.padding)


class Conv1D(_Conv):
    """1-D convolution over sequences ``(batch, steps, channels)``; ``padding='causal'``
    pads on the left only.

    >>> import fastdl
    >>> fastdl.layers.Conv1D(8, 3, padding="causal")(fastdl.ones(2, 10, 4)).shape
    (2, 10, 8)
    """

    rank = 1
    op = staticmethod(ops.conv1d)

    def _rank_hint(self) -> str:
        return " (batch, steps, channels)"


class _ConvTranspose(_Conv):
    """What Conv1DTranspose and Conv2DTranspose share: Keras's kernel layout (the spatial
    axes, then filters, then the input channels), ``output_padding`` and the output sizes of
    :func:`fastdl.conv2d_transpose`."""

    op = staticmethod(ops.conv2d_transpose)

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: Optional[str] = None,
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer, **kwargs)
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or 'same', got "
                             f"{padding!r}")
        self.output_padding = None if output_padding is None else \
            self._tuple_allowing_zero("output_padding", output_padding)

    def _tuple_allowing_zero(self, what: str, value: Any) -> tuple:
        values = pair(what, value, type(self).__name__) if self.rank == 2 else \
            (int(value if hasattr(value, "__index__") else value[0]),)
        for v, stride in zip(values, self.strides):
            if not 0 <= v < stride:
                raise ValueError(f"{type(self).__name__}: output_padding must be in [0, strides)"
                                 f" = [0, {stride}) on each axis, got {value}")
        return values

    def build(self, input_shape):
        channels = input_shape[self._channel_axis]
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, channels),
                                      self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer) \
            if self.use_bias else None
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def call(self, inputs: Tensor) -> Tensor:
        one = self.rank == 1
        output_padding = self.output_padding
        if one and output_padding is not None:
            output_padding = output_padding[0]
        out = self.op(inputs, self.kernel, self.bias,
                      self.strides[0] if one else self.strides, self.padding, output_padding,
                      self.dilation_rate[0] if one else self.dilation_rate,
                      self._fused_activation, self.data_format)
        return out if self._after is None else self._after(out)

    def compute_output_shape(self, input_shape):
        extra = self.output_padding or (None,) * self.rank
        spatial = [None if size is None else
                   conv_transpose_axis(size, kernel, stride, dilation, self.padding, pad,
                                       type(self).__name__)[0]
                   for size, kernel, stride, dilation, pad in zip(
                       _spatial_axes(self, input_shape), self.kernel_size, self.strides,
                       self.dilation_rate, extra)]
        return _spatial_shape(self, input_shape, spatial, self.filters)

    def get_config(self):
        return {**super().get_config(), "output_padding": self.output_padding}


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution (the adjoint of a convolution: it upsamples by ``strides``),
    as a GAN's generator or a VAE's decoder uses it; kernel (kernel_h, kernel_w, filters,
    in_channels), Keras's output sizes (``'same'``: input x strides).

    >>> import fastdl
    >>> layer = fastdl.layers.Conv2DTranspose(32, 3, strides=2, padding="same")
    >>> layer(fastdl.ones(2, 7, 7, 64)).shape, layer.kernel.shape
    ((2, 14, 14, 32), (3, 3, 32, 64))
    """


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution over sequences ``(batch, steps, channels)``; kernel
    (kernel, filters, in_channels).

    >>> import fastdl
    >>> fastdl.layers.Conv1DTranspose(4, 3, strides=2, padding="same")(fastdl.ones(2, 5, 8)).shape
    (2, 10, 4)
    """

    rank = 1
    op = staticmethod(ops.conv1d_transpose)
