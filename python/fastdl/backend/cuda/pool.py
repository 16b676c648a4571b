"""2-D pooling on the GPU (``fastdl._cuda``), with the names, signatures and results of
:mod:`fastdl.backend.cpu`'s pooling functions. The kernel entry points parse and check the window
with the CPU's own code, so a bad argument raises the CPU's error, word for word.
"""
from __future__ import annotations

import numpy as np

from fastdl.backend.cpu import _global_pool_axes, in_nhwc
from fastdl.backend.cuda import runtime


def _pair(v) -> tuple[int, int]:
    """An int, or a pair of them, as (height, width); anything else raises."""
    if np.ndim(v) == 0:
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def _output_shape(x_shape, pool_size, strides, padding) -> tuple:
    """The (batch, height, width, channels) output of pooling a well-formed ``x_shape``; an
    empty shape for arguments the kernel entry point will reject, naming the problem."""
    try:
        n, h, w, c = x_shape
        ph, pw = _pair(pool_size)
        sh, sw = (ph, pw) if strides is None else _pair(strides)
        if padding.lower() == "same":
            oh, ow = -(-h // sh), -(-w // sw)
        else:
            oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    except (AttributeError, TypeError, ValueError, ZeroDivisionError):
        return (0,)
    return (n, max(oh, 0), max(ow, 0), c)


def _input_shape(x_shape) -> tuple:
    """``x_shape`` to allocate an input gradient with; an empty shape for what the kernel entry
    point will reject."""
    try:
        dims = tuple(int(d) for d in x_shape)
    except (TypeError, ValueError):
        return (0,)
    return dims if all(d >= 0 for d in dims) else (0,)


def _indices(op: str, argmax):
    """``argmax`` as a C-contiguous GPU array (the entry point checks its dtype and shape)."""
    cp = runtime.cupy()
    if not isinstance(argmax, cp.ndarray):
        raise RuntimeError(f"{op}: expected argmax on the GPU, got {type(argmax).__name__}; "
                           "move it with .to('cuda') first")
    return cp.ascontiguousarray(argmax)


def _max_pool(x, pool_size, strides, padding, with_argmax: bool):
    (x,) = runtime.float32_operands("max_pool2d", x)
    shape = _output_shape(x.shape, pool_size, strides, padding)
    y = runtime.empty(shape)
    argmax = runtime.empty(shape, "int32") if with_argmax else None
    runtime.kernels().max_pool2d_forward(x, y, argmax, pool_size, strides, padding,
                                         runtime.stream())
    return y, argmax


def max_pool2d(x, pool_size=2, strides=None, padding: str = "valid",
               data_format: str = "channels_last"):
    """2-D max pooling, as :func:`fastdl.backend.cpu.max_pool2d`."""
    return in_nhwc("max_pool2d", data_format, x,
                   lambda v: _max_pool(v, pool_size, strides, padding, False)[0])


def max_pool2d_with_argmax(x, pool_size=2, strides=None, padding: str = "valid"):
    """(y, argmax) of an NHWC array, as :func:`fastdl.backend.cpu.max_pool2d_with_argmax`."""
    return _max_pool(x, pool_size, strides, padding, True)


def max_pool2d_backward(grad, argmax, x_shape, pool_size=2, strides=None,
                        padding: str = "valid"):
    """Gradient of :func:`max_pool2d`, as :func:`fastdl.backend.cpu.max_pool2d_backward`."""
    op = "max_pool2d_backward"
    (grad,) = runtime.float32_operands(op, grad)
    argmax = _indices(op, argmax)
    dx = runtime.empty(_input_shape(x_shape))
    runtime.kernels().max_pool2d_backward(grad, argmax, tuple(x_shape), dx, pool_size, strides,
                                          padding, runtime.stream())
    return dx


def avg_pool2d(x, pool_size=2, strides=None, padding: str = "valid",
               data_format: str = "channels_last"):
    """2-D average pooling, as :func:`fastdl.backend.cpu.avg_pool2d`."""
    def pool(v):
        (v,) = runtime.float32_operands("avg_pool2d", v)
        y = runtime.empty(_output_shape(v.shape, pool_size, strides, padding))
        runtime.kernels().avg_pool2d_forward(v, y, pool_size, strides, padding, runtime.stream())
        return y

    return in_nhwc("avg_pool2d", data_format, x, pool)


def avg_pool2d_backward(grad, x_shape, pool_size=2, strides=None, padding: str = "valid"):
    """Gradient of :func:`avg_pool2d`, as :func:`fastdl.backend.cpu.avg_pool2d_backward`."""
    (grad,) = runtime.float32_operands("avg_pool2d_backward", grad)
    dx = runtime.empty(_input_shape(x_shape))
    runtime.kernels().avg_pool2d_backward(grad, tuple(x_shape), dx, pool_size, strides, padding,
                                          runtime.stream())
    return dx


def global_avg_pool2d(x, keepdims: bool = False, data_format: str = "channels_last"):
    """The mean of each channel over the whole image, as
    :func:`fastdl.backend.cpu.global_avg_pool2d` (a CuPy reduction)."""
    (x,) = runtime.float32_operands("global_avg_pool2d", x)
    return x.mean(axis=_global_pool_axes("global_avg_pool2d", x, data_format), keepdims=keepdims)


def global_max_pool2d(x, keepdims: bool = False, data_format: str = "channels_last"):
    """The maximum of each channel over the whole image, as
    :func:`fastdl.backend.cpu.global_max_pool2d` (a CuPy reduction)."""
    (x,) = runtime.float32_operands("global_max_pool2d", x)
    return x.max(axis=_global_pool_axes("global_max_pool2d", x, data_format), keepdims=keepdims)
