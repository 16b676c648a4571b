"""Convolution on fastdl's kernels: conv2d and conv1d (cross-correlation, as in Keras and
PyTorch) with the bias and relu/sigmoid/tanh fused, the convolution fused with the max
pooling that follows it (which Sequential models run for a Conv2D then MaxPooling2D pair), and
the transposed convolutions (conv2d_transpose, conv1d_transpose), which are the convolution's
adjoint: its input gradient forward, the convolution and its weight gradient backward.

Images are NHWC and weights HWIO (Keras's layouts); ``data_format='channels_first'`` input is
transposed at the edge. The geometry is resolved here, once, for every device's kernels.
"""
from __future__ import annotations

from typing import Any, Optional

from fastdl.autograd import Function
from fastdl.backend import kernels_for
from fastdl.backend.geometry import (NCHW_TO_NHWC, NHWC_TO_NCHW, channels_first,
                                     channels_first_image, conv1d_geometry, conv2d_geometry,
                                     conv2d_transpose_geometry, epilogue_activation,
                                     require_rank)
from fastdl.ops.common import operand
from fastdl.ops.shaping import squeeze, transpose, unsqueeze
from fastdl.tensor import Tensor


def _conv_operands(x, w, b):
    """x, w and b (or None) in one floating dtype, as the convolution kernels take them."""
    if x.dtype == w.dtype and (b is None or b.dtype == x.dtype):
        return x, w, b
    harmonize = kernels_for(x).as_float_arrays
    x, w, *rest = harmonize("conv2d", x, w, *([] if b is None else [b]))
    return x, w, rest[0] if rest else None


class Conv2d(Function):
    """``activation(conv(x, w) + b)`` on NHWC ``x`` and HWIO ``w`` with the geometry resolved
    (strides and dilation pairs, padding as (top, bottom, left, right))."""

    @staticmethod
    def forward(ctx, x, w, b, strides, padding, dilation, activation):
        x, w, b = _conv_operands(x, w, b)
        out = kernels_for(x).conv2d_forward(x, w, b, strides, padding, dilation, activation)
        if ctx.requires_grad:
            ctx.x, ctx.w, ctx.activation = x, w, activation
            ctx.geometry = (strides, padding, dilation)
            ctx.out = out if activation else None
        return out

    @staticmethod
    def backward(ctx, grad):
        dx, dw, db = conv2d_gradients(kernels_for(grad), grad, ctx.x, ctx.w, ctx.geometry,
                                      (ctx.needs_grad(0), ctx.needs_grad(1), ctx.needs_grad(2)),
                                      ctx.activation, ctx.out)
        return dx, dw, db, None, None, None, None


def conv2d_gradients(kernels: Any, grad: Any, x: Any, w: Any, geometry: tuple, need: tuple,
                     activation: Optional[str], out: Any) -> tuple:
    """(dx, dw, db) of ``activation(conv(x, w) + b)`` by a device's kernels (``kernels``, the
    backend module), given the gradient of its output ``out``; ``need`` says which are wanted
    (the others are None). relu, sigmoid and tanh differentiate from their output.

    The activation's derivative is applied once, up front, when dx (or db alone) is wanted;
    the weight gradient alone applies it itself as it reads ``grad``, saving a pass."""
    need_x, need_w, need_b = need
    if activation and (need_x or not need_w):
        grad, activation, out = kernels.activation_backward(activation, grad, out), None, None
    return kernels.conv2d_backward(grad, x, w, *geometry, need_x, need_w, need_b, activation, out)


class Conv2dMaxPool2d(Function):
    """``max_pool2d(activation(conv(x, w) + b))`` on NHWC data in one kernel call (see
    :func:`fastdl.backend.cpu.conv2d_max_pool2d`): the same values and gradients as
    :class:`Conv2d` then :class:`fastdl.ops.pooling.MaxPool2d`."""

    @staticmethod
    def forward(ctx, x, w, b, strides, padding, dilation, activation, window):
        x, w, b = _conv_operands(x, w, b)
        geometry = (strides, padding, dilation)
        y, argmax = kernels_for(x).conv2d_max_pool2d(x, w, b, *geometry, activation, *window)
        if ctx.requires_grad:
            ctx.x, ctx.w, ctx.y, ctx.argmax = x, w, y, argmax
            ctx.geometry, ctx.activation, ctx.window = geometry, activation, window
        return y

    @staticmethod
    def backward(ctx, grad):
        dx, dw, db = kernels_for(grad).conv2d_max_pool2d_backward(
            grad, ctx.x, ctx.w, ctx.y, ctx.argmax, *ctx.geometry, ctx.activation, *ctx.window,
            ctx.needs_grad(0), ctx.needs_grad(1), ctx.needs_grad(2))
        return dx, dw, db, None, None, None, None, None


class Conv2dTranspose(Function):
    """``activation(conv_transpose(x, w) + b)``: the input gradient, of shape ``out_shape``, of
    the convolution by ``w`` (HWIO with I = the output's channels, O = x's) with the geometry
    resolved. Its gradients are that convolution of the output's gradient (for x) and the
    convolution's weight gradient with the roles of input and output gradient exchanged."""

    @staticmethod
    def forward(ctx, x, w, b, out_shape, strides, padding, dilation, activation):
        x, w, b = _conv_operands(x, w, b)
        y = kernels_for(x).conv2d_backward_input(x, w, out_shape, strides, padding, dilation, b,
                                                 activation)
        if ctx.requires_grad:
            ctx.x, ctx.w, ctx.activation = x, w, activation
            ctx.geometry = (strides, padding, dilation)
            ctx.out = y if activation else None
        return y

    @staticmethod
    def backward(ctx, grad):
        kernels = kernels_for(grad)
        if ctx.activation:
            grad = kernels.activation_backward(ctx.activation, grad, ctx.out)
        dx = dw = db = None
        if ctx.needs_grad(0):
            dx = kernels.conv2d_forward(grad, ctx.w, None, *ctx.geometry)
        if ctx.needs_grad(1):
            # <conv_transpose(x, w), g> = <x, conv(g, w)>: the weight gradient of conv(g, w)
            # whose output gradient is x.
            dw = kernels.conv2d_backward(ctx.x, grad, ctx.w, *ctx.geometry, False, True,
                                         False)[1]
        if ctx.needs_grad(2):
            db = kernels.sum_leading_axes(grad, 3)
        return dx, dw, db, None, None, None, None, None


def _bias(b: Any) -> Any:
    return None if b is None else operand(b)


def conv2d(x: Any, w: Any, b: Any = None, strides: Any = 1, padding: Any = "valid",
           dilation: Any = 1, activation: Optional[str] = None,
           data_format: str = "channels_last") -> Tensor:
    """2-D convolution: ``activation(conv(x, w) + b)``.

    ``x`` is (batch, height, width, in_channels) — or (batch, in_channels, height, width) with
    ``data_format='channels_first'`` — and ``w`` is (kernel_h, kernel_w, in_channels,
    out_channels) in either case; ``b`` is (out_channels,) or None. ``strides`` and
    ``dilation`` are an int or a (height, width) pair; ``padding`` is ``'valid'`` (none),
    ``'same'`` (Keras: ``ceil(size / stride)`` outputs, an odd total padding puts the extra row
    or column after), an int, a (height, width) pair or ((top, bottom), (left, right)).
    ``activation`` is None, ``'relu'``, ``'sigmoid'`` or ``'tanh'``, applied in the kernel.

    >>> import numpy as np, fastdl
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> w = np.ones((2, 2, 1, 1), np.float32)
    >>> fastdl.conv2d(x, w, strides=2)[..., 0]
    tensor([[[10., 18.],
             [42., 50.]]])
    >>> fastdl.conv2d(x, w, padding="same").shape
    (1, 4, 4, 1)
    """
    x, w = operand(x), operand(w)
    nchw = channels_first_image("conv2d", data_format, x.ndim)
    if nchw:
        x = transpose(x, NCHW_TO_NHWC)
    geometry = conv2d_geometry(x.shape, w.shape, strides, padding, dilation)
    y = Conv2d.apply(x, w, _bias(b), *geometry, activation)
    return y.transpose(NHWC_TO_NCHW) if nchw else y


def conv1d(x: Any, w: Any, b: Any = None, strides: int = 1, padding: Any = "valid",
           dilation: int = 1, activation: Optional[str] = None,
           data_format: str = "channels_last") -> Tensor:
    """1-D convolution over sequences, by the :func:`conv2d` kernels: ``x`` is (batch, steps,
    channels) — (batch, channels, steps) with ``data_format='channels_first'`` — and ``w``
    (kernel, in_channels, out_channels). ``padding`` may also be ``'causal'`` (all of it before
    the sequence, so that no output sees a later step).

    >>> import numpy as np, fastdl
    >>> x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    >>> fastdl.conv1d(x, np.ones((2, 1, 1), np.float32))[0, :, 0]
    tensor([1., 3., 5., 7.])
    >>> fastdl.conv1d(x, np.ones((2, 1, 1), np.float32), padding="causal")[0, :, 0]
    tensor([0., 1., 3., 5., 7.])
    """
    x, w = operand(x), operand(w)
    nct = channels_first("conv1d", data_format)
    require_rank("conv1d", "x", x.shape, 3, "(batch, steps, channels)")
    require_rank("conv1d", "w", w.shape, 3, "(kernel, in_channels, out_channels)")
    if nct:
        x = transpose(x, (0, 2, 1))
    geometry = conv1d_geometry(x.shape, w.shape, strides, padding, dilation)
    y = squeeze(Conv2d.apply(unsqueeze(x, 1), unsqueeze(w, 0), _bias(b), *geometry,
                             activation), 1)
    return y.transpose(0, 2, 1) if nct else y


def conv2d_max_pool2d(x: Any, w: Any, b: Any = None, strides: Any = 1, padding: Any = "valid",
                      dilation: Any = 1, activation: Optional[str] = None, pool_size: Any = 2,
                      pool_strides: Any = None, pool_padding: str = "valid") -> Tensor:
    """``max_pool2d(conv2d(x, w, b, ..., activation=activation), pool_size, pool_strides,
    pool_padding)`` for NHWC ``x`` as one operation, which a Conv2D layer followed by a
    MaxPooling2D layer runs (see :meth:`fastdl.layers.Conv2D.fuses_max_pool`).

    >>> import numpy as np, fastdl
    >>> x, w = np.ones((1, 6, 6, 1), np.float32), np.ones((3, 3, 1, 2), np.float32)
    >>> fastdl.ops.conv2d_max_pool2d(x, w, activation="relu").shape
    (1, 2, 2, 2)
    """
    x, w = operand(x), operand(w)
    geometry = conv2d_geometry(x.shape, w.shape, strides, padding, dilation)
    return Conv2dMaxPool2d.apply(x, w, _bias(b), *geometry, activation,
                                 (pool_size, pool_strides, pool_padding))


def conv2d_transpose(x: Any, w: Any, b: Any = None, strides: Any = 1, padding: str = "valid",
                     output_padding: Any = None, dilation: Any = 1,
                     activation: Optional[str] = None,
                     data_format: str = "channels_last") -> Tensor:
    """2-D transposed convolution (the adjoint of :func:`conv2d`, which upsamples by
    ``strides``): ``activation(conv_transpose(x, w) + b)``, with Keras's output sizes.

    ``x`` is (batch, height, width, in_channels) (or channels first); ``w`` is (kernel_h,
    kernel_w, filters, in_channels), Keras's Conv2DTranspose layout; ``b`` (filters,) or None.
    ``padding='valid'`` gives ``(size - 1) * stride + max(kernel span, stride)`` rows,
    ``'same'`` gives ``size * stride``; ``output_padding`` (less than the stride) sets the
    rows added after a base size of ``(size - 1) * stride + span`` ('valid') or
    ``(size - 1) * stride + span % 2`` ('same'). ``activation`` is None, ``'relu'``,
    ``'sigmoid'`` or ``'tanh'``.

    >>> import numpy as np, fastdl
    >>> x = np.ones((1, 2, 2, 1), np.float32)
    >>> fastdl.conv2d_transpose(x, np.ones((3, 3, 1, 1), np.float32), strides=2)[0, ..., 0]
    tensor([[1., 1., 2., 1., 1.],
            [1., 1., 2., 1., 1.],
            [2., 2., 4., 2., 2.],
            [1., 1., 2., 1., 1.],
            [1., 1., 2., 1., 1.]])
    """
    x, w = operand(x), operand(w)
    nchw = channels_first_image("conv2d_transpose", data_format, x.ndim)
    if nchw:
        x = transpose(x, NCHW_TO_NHWC)
    out_shape, *geometry = conv2d_transpose_geometry(tuple(x.shape), tuple(w.shape), strides,
                                                     padding, output_padding, dilation)
    activation = epilogue_activation("conv2d_transpose", activation)
    y = Conv2dTranspose.apply(x, w, _bias(b), out_shape, *geometry,
                              None if activation == "none" else activation)
    return y.transpose(NHWC_TO_NCHW) if nchw else y


def conv1d_transpose(x: Any, w: Any, b: Any = None, strides: int = 1, padding: str = "valid",
                     output_padding: Optional[int] = None, dilation: int = 1,
                     activation: Optional[str] = None,
                     data_format: str = "channels_last") -> Tensor:
    """1-D transposed convolution: :func:`conv2d_transpose` over height 1. ``x`` is
    (batch, steps, in_channels) (or channels first), ``w`` (kernel, filters, in_channels).

    >>> import numpy as np, fastdl
    >>> x = np.ones((1, 3, 1), np.float32)
    >>> fastdl.conv1d_transpose(x, np.ones((2, 1, 1), np.float32), strides=2).shape
    (1, 6, 1)
    """
    x, w = operand(x), operand(w)
    first = channels_first("conv1d_transpose", data_format)
    require_rank("conv1d_transpose", "inputs", tuple(x.shape), 3,
                 "(batch, channels, steps)" if first else "(batch, steps, channels)")
    require_rank("conv1d_transpose", "kernel", tuple(w.shape), 3,
                 "(kernel, filters, in_channels)")
    if first:
        x = transpose(x, (0, 2, 1))
    y = conv2d_transpose(unsqueeze(x, 1), unsqueeze(w, 0), b, (1, int(strides)), padding,
                         None if output_padding is None else (0, int(output_padding)),
                         (1, int(dilation)), activation)
    y = squeeze(y, 1)
    return transpose(y, (0, 2, 1)) if first else y
