"""2-D convolution on the GPU (``fastdl._cuda``), with the names, signatures and results of
:mod:`fastdl.backend.cpu`'s: NHWC images, HWIO weights, the geometry resolved beforehand
(:func:`fastdl.backend.geometry.conv2d_geometry`). The convolution fused with max pooling runs
here as the two kernels one after the other, with the same results.
"""
from __future__ import annotations

from typing import Optional

from fastdl.backend.cuda import runtime
from fastdl.backend.cuda.activation import activation_backward, activation_forward
from fastdl.backend.cuda.pool import max_pool2d_backward, max_pool2d_with_argmax
from fastdl.backend.geometry import conv2d_output_shape, epilogue_activation

__all__ = ["conv2d_forward", "conv2d_backward", "conv2d_backward_input", "conv2d_max_pool2d",
           "conv2d_max_pool2d_backward"]


def conv2d_forward(x, w, b, strides: tuple, padding: tuple, dilation: tuple,
                   activation: Optional[str] = None):
    """:func:`fastdl.backend.cpu.conv2d_forward`: ``activation(conv(x, w) + b)`` with the bias
    and the activation applied in the kernel."""
    act = epilogue_activation("conv2d", activation)
    x, w, *bias = runtime.float32_operands("conv2d", x, w, *(() if b is None else (b,)))
    y = runtime.empty(conv2d_output_shape(x.shape, w.shape, strides, padding, dilation))
    runtime.kernels().conv2d_forward(x, w, bias[0] if bias else None, y, strides, padding,
                                     dilation, act, runtime.stream())
    return y


def conv2d_backward(grad, x, w, strides: tuple, padding: tuple, dilation: tuple,
                    need_x: bool = True, need_w: bool = True, need_b: bool = True,
                    activation: Optional[str] = None, out=None) -> tuple:
    """(dx, dw, db) of :func:`conv2d_forward`, as :func:`fastdl.backend.cpu.conv2d_backward`
    (whose docstring says when ``activation`` and ``out`` may be given); an entry is None when
    not needed."""
    grad, x, w = runtime.float32_operands("conv2d_backward", grad, x, w)
    kernels, stream = runtime.kernels(), runtime.stream()
    dw = db = None
    dx = conv2d_backward_input(grad, w, x.shape, strides, padding, dilation) if need_x else None
    if need_w:
        dw = runtime.empty(w.shape)
        db = runtime.empty(w.shape[3:]) if need_b else None
        if activation and out is not None:
            (out,) = runtime.float32_operands("conv2d_backward", out)
        kernels.conv2d_backward_weight(x, grad, dw, db, strides, padding, dilation,
                                       activation or "none", out if activation else None, stream)
    elif need_b:
        db = grad.sum(axis=(0, 1, 2))
    return dx, dw, db


def conv2d_backward_input(grad, w, x_shape: tuple, strides: tuple, padding: tuple,
                          dilation: tuple, b=None, activation: Optional[str] = None):
    """:func:`fastdl.backend.cpu.conv2d_backward_input`: the adjoint of the convolution (the
    transposed convolution's forward pass) into a new array of shape ``x_shape``, then
    ``activation(... + b)`` when they are given (by separate kernels here)."""
    act = epilogue_activation("conv2d_transpose", activation)
    grad, w, *bias = runtime.float32_operands("conv2d_backward_input", grad, w,
                                              *(() if b is None else (b,)))
    dx = runtime.empty(tuple(x_shape))
    runtime.kernels().conv2d_backward_input(grad, w, dx, strides, padding, dilation,
                                            runtime.stream())
    if bias:
        dx += bias[0]
    return dx if act == "none" else activation_forward(act, dx)


def conv2d_max_pool2d(x, w, b, strides: tuple, padding: tuple, dilation: tuple,
                      activation: Optional[str], pool_size, pool_strides=None,
                      pool_padding: str = "valid") -> tuple:
    """``max_pool2d(conv2d_forward(x, w, b, ...), pool_size, pool_strides, pool_padding)`` and its
    argmax, as :func:`fastdl.backend.cpu.conv2d_max_pool2d`."""
    return max_pool2d_with_argmax(conv2d_forward(x, w, b, strides, padding, dilation,
                                                 activation),
                                  pool_size, pool_strides, pool_padding)


def conv2d_max_pool2d_backward(grad, x, w, pooled, argmax, strides: tuple, padding: tuple,
                               dilation: tuple, activation: Optional[str], pool_size,
                               pool_strides=None, pool_padding: str = "valid",
                               need_x: bool = True, need_w: bool = True,
                               need_b: bool = True) -> tuple:
    """(dx, dw, db) of :func:`conv2d_max_pool2d` given the gradient of its output ``pooled`` and
    its ``argmax``, as :func:`fastdl.backend.cpu.conv2d_max_pool2d_backward`. The activation's
    derivative is taken from the pooled values: where the gradient flows they are its outputs."""
    if activation is not None and activation != "none":
        grad = activation_backward(activation, grad, pooled)
    conv_shape = conv2d_output_shape(x.shape, w.shape, strides, padding, dilation)
    grad = max_pool2d_backward(grad, argmax, conv_shape, pool_size, pool_strides, pool_padding)
    return conv2d_backward(grad, x, w, strides, padding, dilation, need_x, need_w, need_b)
