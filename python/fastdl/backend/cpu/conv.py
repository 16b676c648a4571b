"""2-D convolution on the CPU (``fastdl._C``): NHWC images, HWIO weights, the geometry resolved
beforehand (:func:`fastdl.backend.geometry.conv2d_geometry`), and the convolution fused with the
max pooling that follows it."""
from __future__ import annotations

from typing import Optional

import numpy as np

from fastdl import _C
from fastdl.backend.cpu.glue import sum_leading_axes
from fastdl.backend.geometry import epilogue_activation

__all__ = ["conv2d_forward", "conv2d_backward", "conv2d_backward_input", "conv2d_max_pool2d",
           "conv2d_max_pool2d_backward"]


def conv2d_forward(x: np.ndarray, w: np.ndarray, b, strides: tuple, padding: tuple,
                   dilation: tuple, activation: Optional[str] = None) -> np.ndarray:
    """``activation(conv(x, w) + b)`` on NHWC ``x`` and HWIO ``w`` with the geometry resolved:
    strides and dilation as (height, width), padding as (top, bottom, left, right).

    >>> import numpy as np
    >>> from fastdl.backend import cpu, geometry
    >>> x, w = np.ones((1, 4, 4, 1), np.float32), np.ones((3, 3, 1, 2), np.float32)
    >>> y = cpu.conv2d_forward(x, w, None, *geometry.conv2d_geometry(x.shape, w.shape, 1,
    ...                                                              "same", 1))
    >>> y.shape, float(y[0, 0, 0, 0]), float(y[0, 1, 1, 0])
    ((1, 4, 4, 2), 4.0, 9.0)
    """
    act = epilogue_activation("conv2d", activation)
    return _C.conv2d_forward(x, w, b, strides, padding, dilation, act)


def conv2d_backward(grad: np.ndarray, x: np.ndarray, w: np.ndarray, strides: tuple,
                    padding: tuple, dilation: tuple, need_x: bool = True, need_w: bool = True,
                    need_b: bool = True, activation: Optional[str] = None,
                    out: Optional[np.ndarray] = None) -> tuple:
    """(dx, dw, db) of :func:`conv2d_forward`; an entry is None when not needed.

    ``grad`` is the gradient of the convolution's output, through its activation, except when
    the weight gradient alone is wanted (no dx): then ``activation`` and the forward output
    ``out`` may be given, and the weight gradient applies the activation's derivative row by
    row as it reads ``grad`` (:class:`fastdl.ops.convolution.Conv2d` decides)."""
    if need_x and need_w:
        # One call for both: where Winograd's algorithms give them, one pass over grad.
        return _C.conv2d_backward(grad, x, w, strides, padding, dilation, True, True, need_b)
    dx = conv2d_backward_input(grad, w, x.shape, strides, padding, dilation) if need_x else None
    dw = db = None
    if need_w:
        dw, db = _C.conv2d_backward_weight(x, grad, w.shape[:2], strides, padding, dilation,
                                           need_b, activation or "none", out)
    elif need_b:
        db = sum_leading_axes(grad, 3)
    return dx, dw, db


def conv2d_backward_input(grad: np.ndarray, w: np.ndarray, x_shape: tuple, strides: tuple,
                          padding: tuple, dilation: tuple, b=None,
                          activation: Optional[str] = None) -> np.ndarray:
    """The gradient of :func:`conv2d_forward` with respect to an input of shape ``x_shape``
    (NHWC), given that of its output: the adjoint of the convolution, which is also the
    transposed convolution's forward pass, hence the optional ``activation(... + b)`` (``b``
    one value per channel of ``x_shape``), applied to each image as it is finished.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> grad, w = np.ones((1, 2, 2, 1), np.float32), np.ones((2, 2, 1, 1), np.float32)
    >>> cpu.conv2d_backward_input(grad, w, (1, 3, 3, 1), (1, 1), (0, 0, 0, 0), (1, 1))[0, ..., 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
    """
    act = epilogue_activation("conv2d_transpose", activation)
    return _C.conv2d_backward_input(grad, w, tuple(x_shape), strides, padding, dilation, b, act)


def conv2d_max_pool2d(x: np.ndarray, w: np.ndarray, b, strides: tuple, padding: tuple,
                      dilation: tuple, activation: Optional[str], pool_size, pool_strides=None,
                      pool_padding: str = "valid") -> tuple[np.ndarray, np.ndarray]:
    """``max_pool2d(conv2d_forward(x, w, b, ...), pool_size, pool_strides, pool_padding)`` and
    its argmax (see :func:`fastdl.backend.cpu.max_pool2d_with_argmax`), equal to the two calls
    in sequence. With one input channel the convolution's output is pooled while it is in
    cache, never stored.

    >>> import numpy as np
    >>> from fastdl.backend import cpu, geometry
    >>> x, w = np.ones((1, 6, 6, 1), np.float32), np.ones((3, 3, 1, 2), np.float32)
    >>> conv = geometry.conv2d_geometry(x.shape, w.shape, 1, "valid", 1)
    >>> y, argmax = cpu.conv2d_max_pool2d(x, w, None, *conv, "relu", 2)
    >>> y.shape, float(y[0, 0, 0, 0])
    ((1, 2, 2, 2), 9.0)
    """
    act = "none" if activation is None else activation
    return _C.conv2d_max_pool2d_forward(x, w, b, strides, padding, dilation, act, pool_size,
                                        pool_strides, pool_padding)


def conv2d_max_pool2d_backward(grad: np.ndarray, x: np.ndarray, w: np.ndarray,
                               pooled: np.ndarray, argmax: np.ndarray, strides: tuple,
                               padding: tuple, dilation: tuple, activation: Optional[str],
                               pool_size, pool_strides=None, pool_padding: str = "valid",
                               need_x: bool = True, need_w: bool = True,
                               need_b: bool = True) -> tuple:
    """(dx, dw, db) of :func:`conv2d_max_pool2d` given the gradient of its output ``pooled``
    and its ``argmax``; an entry is None when not needed. A first layer (no dx) with one input
    channel builds the convolution's output gradient row by row inside the weight gradient."""
    act = "none" if activation is None else activation
    return _C.conv2d_max_pool2d_backward(grad, x, w, pooled, argmax, strides, padding, dilation,
                                         act, pool_size, pool_strides, pool_padding, need_x,
                                         need_w, need_b)
