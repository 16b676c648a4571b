"""2-D pooling on fastdl's kernels: max and average pooling over windows, and the global
poolings over the whole image. The kernels work on NHWC images; ``data_format='channels_first'``
input is transposed at the edge, and its gradient back.

``pool_size`` and ``strides`` are an int or a (height, width) pair, ``strides=None`` meaning
``pool_size``; ``padding`` is ``'valid'`` or ``'same'`` with Keras's rules.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module, kernels_for
from fastdl.backend.geometry import (NCHW_TO_NHWC, NHWC_TO_NCHW, channels_first_image,
                                     global_pool_axes)
from fastdl.ops.common import operand
from fastdl.tensor import Tensor


class _Pool2d(Function):
    """A 2-D pooling computed on NHWC data: channels_first data is transposed at the edge, and
    its gradient back. Subclasses define ``pool(x)``, which may keep on the instance what
    ``unpool(grad)`` (the gradient with respect to x) needs."""

    op = "pool2d"

    @staticmethod
    def forward(ctx, x, pool_size, strides, padding, data_format):
        ctx.window = (pool_size, strides, padding)
        ctx.first = channels_first_image(ctx.op, data_format, x.ndim)
        if ctx.first:
            x = x.transpose(NCHW_TO_NHWC)
        ctx.x_shape = x.shape
        y = ctx.pool(x)
        return y.transpose(NHWC_TO_NCHW) if ctx.first else y

    @staticmethod
    def backward(ctx, grad):
        if ctx.first:
            grad = grad.transpose(NCHW_TO_NHWC)
        dx = ctx.unpool(grad)
        return dx.transpose(NHWC_TO_NCHW) if ctx.first else dx


class MaxPool2d(_Pool2d):
    """2-D max pooling (see :func:`max_pool2d`). When a gradient is wanted the forward keeps,
    per output element, the position of its maximum (the first one on ties); the backward
    sends each window's gradient there."""

    op = "max_pool2d"

    def pool(self, x):
        if not self.requires_grad:
            return kernels_for(x).max_pool2d(x, *self.window)
        y, self.argmax = kernels_for(x).max_pool2d_with_argmax(x, *self.window)
        return y

    def unpool(self, grad):
        return kernels_for(grad).max_pool2d_backward(grad, self.argmax, self.x_shape, *self.window)


class AvgPool2d(_Pool2d):
    """2-D average pooling (see :func:`avg_pool2d`); padding is not counted in a window's
    average, nor does it receive gradient."""

    op = "avg_pool2d"

    def pool(self, x):
        return kernels_for(x).avg_pool2d(x, *self.window)

    def unpool(self, grad):
        return kernels_for(grad).avg_pool2d_backward(grad, self.x_shape, *self.window)


class GlobalAvgPool2d(Function):
    """The mean of each channel over the image; every position gets 1 / (height * width) of
    its channel's gradient."""

    @staticmethod
    def forward(ctx, x, keepdims, data_format):
        (x,) = kernels_for(x).as_float_arrays("global_avg_pool2d", x)
        ctx.axes = global_pool_axes("global_avg_pool2d", x.shape, data_format)
        ctx.shape, ctx.keepdims = x.shape, keepdims
        return x.mean(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        g = grad if ctx.keepdims else np.expand_dims(grad, ctx.axes)
        count = ctx.shape[ctx.axes[0]] * ctx.shape[ctx.axes[1]]
        return np.broadcast_to(g / count, ctx.shape)


class GlobalMaxPool2d(Function):
    """The maximum of each channel over the image; its gradient goes to the first maximum in
    row-major order (as :class:`MaxPool2d` breaks ties)."""

    @staticmethod
    def forward(ctx, x, keepdims, data_format):
        (x,) = kernels_for(x).as_float_arrays("global_max_pool2d", x)
        axes = global_pool_axes("global_max_pool2d", x.shape, data_format)
        if ctx.requires_grad:
            ctx.x, ctx.axes, ctx.keepdims = x, axes, keepdims
        return x.max(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        x, axes = ctx.x, ctx.axes
        # The image axes flattened into one, at the position of the first of them.
        flat_shape = x.shape[:axes[0]] + (-1,) + x.shape[axes[1] + 1:]
        flat = x.reshape(flat_shape)
        first = np.expand_dims(np.argmax(flat, axis=axes[0]), axes[0])
        g = grad.reshape(first.shape)
        positions = array_module(x).arange(flat.shape[axes[0]]).reshape(
            (-1,) + (1,) * (flat.ndim - axes[0] - 1))
        dx = (positions == first) * g.astype(np.result_type(grad, x), copy=False)
        return dx.reshape(x.shape)


def max_pool2d(x: Any, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
               data_format: str = "channels_last") -> Tensor:
    """2-D max pooling: the largest value of each ``pool_size`` window, moved by ``strides``
    (``None``: ``pool_size``). ``padding="same"`` pads so that the output has
    ``ceil(size / stride)`` rows and columns (Keras's rule: the smaller half of the padding
    before the image); padded positions never win. ``x`` is (batch, height, width, channels),
    or (batch, channels, height, width) with ``data_format="channels_first"``.

    The gradient of each window goes to one element: its maximum, and among equal maxima the
    first in window scan order (row by row, left to right). A NaN in a window gives NaN.

    >>> import numpy as np, fastdl
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> fastdl.max_pool2d(x, 2)[0, :, :, 0]
    tensor([[ 5.,  7.],
            [13., 15.]])
    >>> fastdl.max_pool2d(x, 3, strides=2, padding="same")[0, :, :, 0]
    tensor([[10., 11.],
            [14., 15.]])
    """
    return MaxPool2d.apply(operand(x), pool_size, strides, padding, data_format)


def avg_pool2d(x: Any, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
               data_format: str = "channels_last") -> Tensor:
    """2-D average pooling, with the arguments of :func:`max_pool2d`. With
    ``padding="same"`` each window averages only its positions inside the image (padding is not
    counted), as in TensorFlow/Keras.

    >>> import numpy as np, fastdl
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> fastdl.avg_pool2d(x, 2, strides=1)[0, :, :, 0]
    tensor([[2., 3.],
            [5., 6.]])
    >>> fastdl.avg_pool2d(x, 2, padding="same")[0, :, :, 0]
    tensor([[2. , 3.5],
            [6.5, 8. ]])
    """
    return AvgPool2d.apply(operand(x), pool_size, strides, padding, data_format)


def global_avg_pool2d(x: Any, keepdims: bool = False,
                      data_format: str = "channels_last") -> Tensor:
    """The mean of each channel over the whole image: (batch, channels), or (batch, 1, 1,
    channels) with ``keepdims`` (channels_first: (batch, channels, 1, 1)).

    >>> import numpy as np, fastdl
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    >>> fastdl.global_avg_pool2d(x)
    tensor([[3., 4.]])
    """
    return GlobalAvgPool2d.apply(operand(x), keepdims, data_format)


def global_max_pool2d(x: Any, keepdims: bool = False,
                      data_format: str = "channels_last") -> Tensor:
    """The maximum of each channel over the whole image, shaped as in
    :func:`global_avg_pool2d`. Its gradient goes to the first maximum in row-major order, as
    with :func:`max_pool2d`.

    >>> import numpy as np, fastdl
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    >>> fastdl.global_max_pool2d(x, keepdims=True).shape
    (1, 1, 1, 2)
    >>> fastdl.global_max_pool2d(x)
    tensor([[6., 7.]])
    """
    return GlobalMaxPool2d.apply(operand(x), keepdims, data_format)
