"""Pooling layers on fastdl's NHWC pooling kernels."""
from __future__ import annotations

from typing import Any, Optional

from fastdl import ops
from fastdl.backend.geometry import pair
from fastdl.layers.base import InputSpec, Layer
from fastdl.layers.core import _data_format
from fastdl.tensor import Tensor

__all__ = ["MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D"]


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
