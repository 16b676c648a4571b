"""2-D pooling on the GPU (``fastdl._cuda``), with the names, signatures and results of
:mod:`fastdl.backend.cpu`'s pooling functions. The kernel entry points parse and check the window
with the CPU's own code, so a bad argument raises the CPU's error, word for word.
"""
from __future__ import annotations

from fastdl.backend.cuda import runtime
from fastdl.backend.geometry import pool2d_output_shape

__all__ = ["max_pool2d", "max_pool2d_with_argmax", "max_pool2d_backward", "avg_pool2d",
           "avg_pool2d_backward"]


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
    shape = pool2d_output_shape(x.shape, pool_size, strides, padding)
    y = runtime.empty(shape)
    argmax = runtime.empty(shape, "int32") if with_argmax else None
    runtime.kernels().max_pool2d_forward(x, y, argmax, pool_size, strides, padding,
                                         runtime.stream())
    return y, argmax


def max_pool2d(x, pool_size=2, strides=None, padding: str = "valid"):
    """2-D max pooling of NHWC ``x``, as :func:`fastdl.backend.cpu.max_pool2d`."""
    return _max_pool(x, pool_size, strides, padding, False)[0]


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


def avg_pool2d(x, pool_size=2, strides=None, padding: str = "valid"):
    """2-D average pooling of NHWC ``x``, as :func:`fastdl.backend.cpu.avg_pool2d`."""
    (x,) = runtime.float32_operands("avg_pool2d", x)
    y = runtime.empty(pool2d_output_shape(x.shape, pool_size, strides, padding))
    runtime.kernels().avg_pool2d_forward(x, y, pool_size, strides, padding, runtime.stream())
    return y


def avg_pool2d_backward(grad, x_shape, pool_size=2, strides=None, padding: str = "valid"):
    """Gradient of :func:`avg_pool2d`, as :func:`fastdl.backend.cpu.avg_pool2d_backward`."""
    (grad,) = runtime.float32_operands("avg_pool2d_backward", grad)
    dx = runtime.empty(_input_shape(x_shape))
    runtime.kernels().avg_pool2d_backward(grad, tuple(x_shape), dx, pool_size, strides, padding,
                                          runtime.stream())
    return dx
