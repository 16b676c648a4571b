"""Pooling layers on fastdl's NHWC pooling kernels. The 1-D layers pool sequences of shape
(batch, steps, features) on the same kernels, as images one pixel wide."""
from __future__ import annotations

from typing import Any, Optional

from fastdl import ops
from fastdl.backend.geometry import pair
from fastdl.layers.base import InputSpec, Layer
from fastdl.layers.core import _data_format
from fastdl.layers.signature import layer_label
from fastdl.tensor import Tensor

__all__ = ["window_output_size", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D"]


def window_output_size(size: Optional[int], window: int, stride: int, dilation: int = 1,
                       padding: Any = "valid") -> Optional[int]:
    """How many positions a window of ``window`` (spread by ``dilation``) moved by ``stride``
    takes along an axis of ``size`` (None when the size is unknown): ``padding`` is
    ``'valid'``, ``'same'`` or ``'causal'`` (``ceil(size / stride)`` positions) or the
    amounts (before, after).

    >>> window_output_size(28, 3, 1), window_output_size(7, 2, 2, padding="same")
    (26, 4)
    """
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    before, after = (0, 0) if padding == "valid" else padding
    return max((size + before + after - dilation * (window - 1) - 1) // stride + 1, 0)


def _spatial_shape(layer: Layer, input_shape: tuple, spatial: list, channels: int) -> tuple:
    """The output shape of a layer mapping the spatial axes of ``input_shape`` to
    ``spatial`` and its channels to ``channels``, in the layer's data format."""
    if layer.data_format == "channels_first":
        return (input_shape[0], channels, *spatial)
    return (input_shape[0], *spatial, channels)


def _spatial_axes(layer: Layer, input_shape: tuple) -> tuple:
    return tuple(input_shape[2:] if layer.data_format == "channels_first"
                 else input_shape[1:-1])


def _channels(layer: Layer, input_shape: tuple) -> Optional[int]:
    return input_shape[1 if layer.data_format == "channels_first" else -1]


class _Pooling2D(Layer):
    op = staticmethod(ops.max_pool2d)

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        self.pool_size = pair("pool_size", pool_size, name)
        self.strides = self.pool_size if strides is None else pair("strides", strides, name)
        if min(self.pool_size + self.strides) <= 0:
            raise ValueError(f"{name}: pool_size and strides must be positive, got "
                             f"{self.pool_size} and {self.strides}")
        self.padding = padding.lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
        self.data_format = _data_format(name, data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Tensor) -> Tensor:
        return self.op(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        spatial = [window_output_size(size, window, stride, padding=self.padding)
                   for size, window, stride in zip(_spatial_axes(self, input_shape),
                                                   self.pool_size, self.strides)]
        return _spatial_shape(self, input_shape, spatial, _channels(self, input_shape))

    def _rank_hint(self) -> str:
        return " (batch, height, width, channels)"

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    """The maximum of each ``pool_size`` window (strides default to the window). In the
    backward pass a tie sends the gradient to the window's first maximum.

    >>> import fastdl
    >>> fastdl.layers.MaxPooling2D((2, 2))(fastdl.ones(1, 26, 26, 32)).shape
    (1, 13, 13, 32)
    """


class AveragePooling2D(_Pooling2D):
    """The mean of each window; with ``'same'`` padding the padding is left out of the mean.

    >>> import fastdl
    >>> fastdl.layers.AveragePooling2D(2, padding="same")(fastdl.ones(1, 5, 5, 3)).shape
    (1, 3, 3, 3)
    """

    op = staticmethod(ops.avg_pool2d)


class _GlobalPooling2D(Layer):
    op = staticmethod(ops.global_avg_pool2d)

    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Tensor) -> Tensor:
        return self.op(inputs, self.keepdims, self.data_format)

    def _rank_hint(self) -> str:
        return " (batch, height, width, channels)"

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """The mean over height and width of each channel.

    >>> import fastdl
    >>> fastdl.layers.GlobalAveragePooling2D()(fastdl.ones(2, 5, 5, 8)).shape
    (2, 8)
    """


class GlobalMaxPooling2D(_GlobalPooling2D):
    """The maximum over height and width of each channel.

    >>> import fastdl
    >>> fastdl.layers.GlobalMaxPooling2D(keepdims=True)(fastdl.ones(2, 5, 5, 8)).shape
    (2, 1, 1, 8)
    """

    op = staticmethod(ops.global_max_pool2d)


# --------------------------------------------------------------------------- sequences

def _as_image(inputs: Tensor, data_format: str) -> Tensor:
    """A sequence as an image one pixel wide: (batch, steps, 1, features), or (batch,
    features, steps, 1) for channels_first."""
    return inputs.reshape(inputs.shape + (1,) if data_format == "channels_first"
                          else inputs.shape[:2] + (1,) + inputs.shape[2:])


def _as_sequence(image: Tensor, data_format: str) -> Tensor:
    return image.reshape(image.shape[:3] if data_format == "channels_first"
                         else image.shape[:2] + image.shape[3:])


class _Pooling1D(Layer):
    op = staticmethod(ops.max_pool2d)

    def __init__(self, pool_size: int = 2, strides: Optional[int] = None,
                 padding: str = "valid", data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        self.pool_size = _one_int("pool_size", pool_size, name)
        self.strides = self.pool_size if strides is None else _one_int("strides", strides, name)
        self.padding = padding.lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
        self.data_format = _data_format(name, data_format)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        pooled = self.op(_as_image(inputs, self.data_format), (self.pool_size, 1),
                         (self.strides, 1), self.padding, self.data_format)
        return _as_sequence(pooled, self.data_format)

    def compute_output_shape(self, input_shape):
        steps = window_output_size(_spatial_axes(self, input_shape)[0], self.pool_size,
                                   self.strides, padding=self.padding)
        return _spatial_shape(self, input_shape, [steps], _channels(self, input_shape))

    def _rank_hint(self) -> str:
        return " (batch, steps, features)"

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


def _one_int(argument: str, value: Any, layer: str) -> int:
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if int(value) != value or int(value) <= 0:
        raise ValueError(f"{layer}: {argument} must be a positive integer, got {value!r}")
    return int(value)


class MaxPooling1D(_Pooling1D):
    """The maximum of each window of ``pool_size`` steps (strides default to the window).

    >>> import fastdl
    >>> fastdl.layers.MaxPooling1D(2)(fastdl.ones(4, 10, 3)).shape
    (4, 5, 3)
    """


class AveragePooling1D(_Pooling1D):
    """The mean of each window of steps; with ``'same'`` padding the padding is left out.

    >>> import fastdl
    >>> fastdl.layers.AveragePooling1D(3, strides=1, padding="same")(fastdl.ones(4, 10, 3)).shape
    (4, 10, 3)
    """

    op = staticmethod(ops.avg_pool2d)


class _GlobalPooling1D(Layer):
    op = staticmethod(ops.global_max_pool2d)

    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        pooled = self.op(_as_image(inputs, self.data_format), False, self.data_format)
        if not self.keepdims:
            return pooled
        return pooled.reshape(pooled.shape + (1,) if self.data_format == "channels_first"
                              else pooled.shape[:1] + (1,) + pooled.shape[1:])

    def _rank_hint(self) -> str:
        return " (batch, steps, features)"

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over the steps of each feature. As in Keras it does not support masking:
    a mask that reaches it is dropped with a warning, and the masked steps count in the
    maximum.

    >>> import fastdl
    >>> fastdl.layers.GlobalMaxPooling1D()(fastdl.ones(4, 10, 3)).shape
    (4, 3)
    """


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps of each feature; with a mask (True = keep), over the kept
    steps only, as in Keras.

    >>> import numpy as np, fastdl
    >>> x = np.array([[[1.0], [3.0], [100.0]]], np.float32)
    >>> layer = fastdl.layers.GlobalAveragePooling1D()
    >>> layer(x).numpy(), layer(x, mask=np.array([[True, True, False]])).numpy()
    (array([[34.666668]], dtype=float32), array([[2.]], dtype=float32))
    """

    op = staticmethod(ops.global_avg_pool2d)
    supports_masking = True

    def call(self, inputs: Tensor, mask: Any = None) -> Tensor:
        if mask is None:
            return super().call(inputs)
        steps = 2 if self.data_format == "channels_first" else 1
        if tuple(mask.shape) != (inputs.shape[0], inputs.shape[steps]):
            raise ValueError(f"{layer_label(self)}: the mask must have the shape (batch, steps) "
                             f"= {(inputs.shape[0], inputs.shape[steps])} of the input of "
                             f"shape {tuple(inputs.shape)}; received a mask of shape "
                             f"{tuple(mask.shape)}")
        kept = mask.data.astype(bool)
        kept = kept[:, None, :] if steps == 2 else kept[:, :, None]
        # As Keras: the masked steps count as zeros (whatever they hold, inf and NaN
        # included), and the sum is divided by the number of kept steps (a sample with
        # none gets NaN).
        total = ops.where(kept, inputs, 0.0).sum(axis=steps, keepdims=self.keepdims)
        return total / kept.sum(axis=steps, keepdims=self.keepdims).astype(inputs.data.dtype)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None  # the steps are gone
