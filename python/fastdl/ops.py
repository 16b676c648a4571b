"""Differentiable operations: one :class:`~fastdl.autograd.Function` per operation.

``forward`` works on arrays and calls fastdl's kernels for the hot operations (matmul, linear,
activations, softmax, cross-entropy, pooling) and NumPy for the glue; ``backward`` returns one
gradient per positional argument, reduced to that argument's shape where NumPy broadcast it.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from fastdl import random as _random
from fastdl.autograd import Function
from fastdl.backend import array_module, cpu, device_of, is_gpu_array, kernels_for, to_device
from fastdl.tensor import Tensor


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sums ``grad`` over the axes that broadcasting added or stretched to reach its shape
    from ``shape``."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def _xp(*values: Any):
    """cupy when one of ``values`` is a GPU array, else numpy."""
    for v in values:
        if is_gpu_array(v):
            return array_module(v)
    return np


def _shape(x: Any) -> tuple:
    return x.shape if isinstance(x, np.ndarray) else np.shape(x)


def _broadcast_error(op: str, a, b) -> ValueError:
    """NumPy's broadcasting error, reworded to name the operation."""
    return ValueError(f"{op}: shapes {_shape(a)} and {_shape(b)} do not broadcast together")


# --------------------------------------------------------------------------- arithmetic

class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        try:
            return a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return unbroadcast(grad, sa), unbroadcast(grad, sb)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        try:
            return a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return (unbroadcast(grad, sa) if ctx.needs_grad(0) else None,
                unbroadcast(-grad, sb) if ctx.needs_grad(1) else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.requires_grad:
            ctx.a, ctx.b = a, b
        try:
            return a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return (unbroadcast(grad * b, _shape(a)) if ctx.needs_grad(0) else None,
                unbroadcast(grad * a, _shape(b)) if ctx.needs_grad(1) else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            out = a / b
        except ValueError:
            raise _broadcast_error("div", a, b) from None
        if ctx.requires_grad:
            ctx.a, ctx.b, ctx.out = a, b, out
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        return (unbroadcast(grad / b, _shape(a)) if ctx.needs_grad(0) else None,
                unbroadcast(-grad * ctx.out / b, _shape(b)) if ctx.needs_grad(1) else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            out = a ** b
        except ValueError:
            raise _broadcast_error("pow", a, b) from None
        if ctx.requires_grad:
            ctx.a, ctx.b, ctx.out = a, b, out
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.a, ctx.b, ctx.out
        ga = gb = None
        if ctx.needs_grad(0):
            ga = unbroadcast(grad * b * a ** (b - 1), _shape(a))
        if ctx.needs_grad(1):
            gb = unbroadcast(grad * out * np.log(a), _shape(b))
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class ToDevice(Function):
    """A copy of the array on another device (see :meth:`Tensor.to`); the gradient is copied
    back to the source device."""

    @staticmethod
    def forward(ctx, a, device):
        ctx.source = device_of(a)
        return to_device(a, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.source)


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype)


# --------------------------------------------------------------------------- elementwise

class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.a


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.out)


class Abs(Function):
    """Gradient sign(x): 0 at 0."""

    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.sign(ctx.a)


class Clip(Function):
    """Gradient 1 inside [lo, hi], boundaries included, 0 outside."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.a, ctx.lo, ctx.hi = a, lo, hi
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.a
        inside = array_module(a).ones(a.shape, bool)
        if ctx.lo is not None:
            inside &= a >= ctx.lo
        if ctx.hi is not None:
            inside &= a <= ctx.hi
        return grad * inside


class _Extremum(Function):
    """maximum/minimum of two arrays; where they are equal each gets half the gradient."""

    pick = staticmethod(np.maximum)

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.a, ctx.b = a, b
        try:
            return cls.pick(a, b)
        except ValueError:
            raise _broadcast_error(cls.__name__.lower(), a, b) from None

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.a, ctx.b
        first = (cls.pick(a, b) == a).astype(grad.dtype)
        second = (cls.pick(a, b) == b).astype(grad.dtype)
        ties = first * second
        share_a = first - 0.5 * ties
        share_b = second - 0.5 * ties
        return (unbroadcast(grad * share_a, _shape(a)) if ctx.needs_grad(0) else None,
                unbroadcast(grad * share_b, _shape(b)) if ctx.needs_grad(1) else None)


class Maximum(_Extremum):
    pick = staticmethod(np.maximum)


class Minimum(_Extremum):
    pick = staticmethod(np.minimum)


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = _xp(condition, a, b).asarray(condition, bool)
        ctx.shapes = (_shape(a), _shape(b))
        return np.where(ctx.condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        c = ctx.condition
        sa, sb = ctx.shapes
        zero = array_module(grad).zeros((), grad.dtype)
        return (None,
                unbroadcast(np.where(c, grad, zero), sa) if ctx.needs_grad(1) else None,
                unbroadcast(np.where(c, zero, grad), sb) if ctx.needs_grad(2) else None)


# --------------------------------------------------------------------------- matrix products

def _swap_last(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


class MatMul(Function):
    """NumPy matmul semantics (batch dimensions broadcast, 1-D operands), on fastdl's GEMM."""

    @staticmethod
    def forward(ctx, a, b):
        if ctx.requires_grad:
            ctx.a, ctx.b = a, b
        return kernels_for(a).matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        # Work on >= 2-D operands; a 1-D operand contributed a dimension that the result lost.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:  # first: a 1-D @ 1-D product has a 0-d gradient
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        ga = gb = None
        if ctx.needs_grad(0):
            ga = unbroadcast(kernels_for(g).matmul(g, _swap_last(b2)), a2.shape).reshape(a.shape)
        if ctx.needs_grad(1):
            gb = unbroadcast(kernels_for(g).matmul(_swap_last(a2), g), b2.shape).reshape(b.shape)
        return ga, gb


class Linear(Function):
    """``activation(x @ w + b)`` in one fused kernel; x is (..., in), w (in, out), b (out,)."""

    @staticmethod
    def forward(ctx, x, w, b, activation):
        out = kernels_for(x).linear(x, w, b, activation)  # validates shapes, dtypes, activation
        if ctx.requires_grad:
            ctx.x, ctx.w, ctx.out, ctx.activation = x, w, out, activation
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, activation = ctx.x, ctx.w, ctx.activation or "none"
        flat = x.ndim != 2
        x2 = x.reshape(-1, x.shape[-1]) if flat else x
        g2 = grad.reshape(-1, grad.shape[-1]) if flat else grad
        need = (ctx.needs_grad(0), ctx.needs_grad(1), ctx.needs_grad(2))
        if x.dtype == w.dtype == grad.dtype:
            # One kernel call: activation derivative, dw, db and dx (relu, sigmoid and tanh
            # differentiate from the output, which is what was kept).
            out = None if activation == "none" else ctx.out.reshape(g2.shape) if flat else ctx.out
            gx, gw, gb = kernels_for(g2).linear_backward(g2, x2, w, out, activation, *need)
        else:  # mixed precision: matmul promotes
            if activation != "none":
                g2 = kernels_for(g2).activation_backward(activation, g2, ctx.out.reshape(g2.shape))
            gx = kernels_for(g2).matmul(g2, w.T) if need[0] else None
            gw = kernels_for(g2).matmul(x2.T, g2) if need[1] else None
            gb = g2.sum(axis=0) if need[2] else None
        if gx is not None and flat:
            gx = gx.reshape(x.shape)
        return gx, gw, gb, None


# --------------------------------------------------------------------------- reductions

def _normalize_axis(axis, ndim: int) -> Optional[tuple]:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim if ndim else 0 for a in axes)


def _expand_reduced(grad: np.ndarray, shape: tuple, axis: Optional[tuple],
                    keepdims: bool) -> np.ndarray:
    """``grad`` of a reduction, with its reduced axes back (size 1), ready to broadcast."""
    if axis is None:
        return grad.reshape((1,) * len(shape))
    return grad if keepdims else np.expand_dims(grad, axis)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, _normalize_axis(axis, a.ndim), keepdims
        return array_module(a).asarray(a.sum(axis=ctx.axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, _normalize_axis(axis, a.ndim), keepdims
        out = array_module(a).asarray(a.mean(axis=ctx.axis, keepdims=keepdims))
        ctx.count = a.size // max(out.size, 1) if a.size else 0
        return out

    @staticmethod
    def backward(ctx, grad):
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g / ctx.count, ctx.shape)


class _ArgExtreme(Function):
    """max/min over axes; tied elements share the gradient equally."""

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, a, axis, keepdims):
        axis = _normalize_axis(axis, a.ndim)
        ctx.a, ctx.axis, ctx.keepdims = a, axis, keepdims
        return array_module(a).asarray(cls.reduce(a, axis=axis, keepdims=keepdims))

    @classmethod
    def backward(cls, ctx, grad):
        a = ctx.a
        best = cls.reduce(a, axis=ctx.axis, keepdims=True)
        mask = (a == best).astype(grad.dtype)
        mask /= mask.sum(axis=ctx.axis, keepdims=True)
        return _expand_reduced(grad, a.shape, ctx.axis, ctx.keepdims) * mask


class Max(_ArgExtreme):
    reduce = staticmethod(np.max)


class Min(_ArgExtreme):
    reduce = staticmethod(np.min)


class Var(Function):
    @staticmethod
    def forward(ctx, a, axis, keepdims, ddof):
        axis = _normalize_axis(axis, a.ndim)
        ctx.a, ctx.axis, ctx.keepdims = a, axis, keepdims
        out = array_module(a).asarray(a.var(axis=axis, keepdims=keepdims, ddof=ddof))
        ctx.divisor = a.size // max(out.size, 1) - ddof
        return out

    @staticmethod
    def backward(ctx, grad):
        a = ctx.a
        centered = a - a.mean(axis=ctx.axis, keepdims=True)
        g = _expand_reduced(grad, a.shape, ctx.axis, ctx.keepdims)
        return g * centered * (2.0 / ctx.divisor)


# --------------------------------------------------------------------------- shape

class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                             f"({a.size} elements) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, a, axes):
        axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(int(x) % a.ndim for x in axes)
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{a.ndim} axes of a tensor of shape {a.shape}")
        ctx.inverse = tuple(np.argsort(axes))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse)


def squeeze(x: Tensor, axis=None) -> Tensor:
    """Removes axes of size 1 (all of them, or those in ``axis``)."""
    shape = x.shape
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = _normalize_axis(axis, len(shape))
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of a tensor of shape {shape} has size "
                                 f"{shape[a]}, not 1")
        new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return Reshape.apply(x, shape=new)


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    """Inserts an axis of size 1 at position ``axis``."""
    shape = list(x.shape)
    axis = axis if axis >= 0 else axis + len(shape) + 1
    shape.insert(axis, 1)
    return Reshape.apply(x, shape=tuple(shape))


def as_index(index: Any) -> Any:
    """An index with Tensors replaced by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _is_basic(index: Any) -> bool:
    """Basic (view) indexing: ints, slices, None and Ellipsis only."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        out = array_module(grad).zeros(ctx.shape, ctx.dtype)
        if _is_basic(ctx.index):
            out[ctx.index] = grad
        else:
            kernels_for(grad).index_add(out, ctx.index, grad)  # repeated indices add up
        return out


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.offsets = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.offsets, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.axis, 0))


class Pad(Function):
    @staticmethod
    def forward(ctx, a, pad_width, value):
        pads = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a.ndim, 2))
        ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, a.shape))
        return np.pad(a, pads, constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.slices]


# --------------------------------------------------------------------------- convolution

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
        out = kernels_for(x).conv2d_nhwc(x, w, b, strides, padding, dilation, activation)
        if ctx.requires_grad:
            ctx.x, ctx.w, ctx.activation = x, w, activation
            ctx.geometry = (strides, padding, dilation)
            ctx.out = out if activation else None
        return out

    @staticmethod
    def backward(ctx, grad):
        # relu, sigmoid and tanh differentiate from their output, kept in ctx.out.
        dx, dw, db = kernels_for(grad).conv2d_backward(
            grad, ctx.x, ctx.w, *ctx.geometry, ctx.needs_grad(0), ctx.needs_grad(1),
            ctx.needs_grad(2), ctx.activation, ctx.out)
        return dx, dw, db, None, None, None, None


class Conv2dMaxPool2d(Function):
    """``max_pool2d(activation(conv(x, w) + b))`` on NHWC data in one kernel call (see
    :func:`fastdl.backend.cpu.conv2d_max_pool2d`): the same values and gradients as
    :class:`Conv2d` then :class:`MaxPool2d`."""

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


def conv2d_max_pool2d(x: Tensor, w: Tensor, b: Optional[Tensor] = None, strides=1,
                      padding="valid", dilation=1, activation: Optional[str] = None,
                      pool_size=2, pool_strides=None, pool_padding: str = "valid") -> Tensor:
    """``max_pool2d(conv2d(x, w, b, ..., activation=activation), pool_size, pool_strides,
    pool_padding)`` for NHWC ``x`` as one operation, which a Conv2D layer followed by a
    MaxPooling2D layer runs (see :meth:`fastdl.layers.Conv2D.fuses_max_pool`)."""
    geometry = cpu.conv2d_geometry(x.shape, w.shape, strides, padding, dilation)
    return Conv2dMaxPool2d.apply(x, w, b, *geometry, activation,
                                 (pool_size, pool_strides, pool_padding))


def conv2d(x: Tensor, w: Tensor, b: Optional[Tensor] = None, strides=1, padding="valid",
           dilation=1, activation: Optional[str] = None,
           data_format: str = "channels_last") -> Tensor:
    nchw = cpu.channels_first_image("conv2d", data_format, x.ndim)
    if nchw:
        x = x.transpose(0, 2, 3, 1)
    geometry = cpu.conv2d_geometry(x.shape, w.shape, strides, padding, dilation)
    y = Conv2d.apply(x, w, b, *geometry, activation)
    return y.transpose(0, 3, 1, 2) if nchw else y


def conv1d(x: Tensor, w: Tensor, b: Optional[Tensor] = None, strides=1, padding="valid",
           dilation=1, activation: Optional[str] = None,
           data_format: str = "channels_last") -> Tensor:
    nct = cpu.channels_first("conv1d", data_format)
    cpu._require_rank("conv1d", "x", x.data, 3, "(batch, steps, channels)")
    cpu._require_rank("conv1d", "w", w.data, 3, "(kernel, in_channels, out_channels)")
    if nct:
        x = x.transpose(0, 2, 1)
    geometry = cpu.conv1d_geometry(x.shape, w.shape, strides, padding, dilation)
    y = Conv2d.apply(unsqueeze(x, 1), unsqueeze(w, 0), b, *geometry, activation)
    y = squeeze(y, 1)
    return y.transpose(0, 2, 1) if nct else y


# --------------------------------------------------------------------------- activations

class Activation(Function):
    """An elementwise activation on fastdl's kernels. sigmoid and tanh keep their output for
    backward, the others their input."""

    @staticmethod
    def forward(ctx, x, name, alpha):
        out = kernels_for(x).activation_forward(name, x, alpha)
        if ctx.requires_grad:
            ctx.name, ctx.alpha = name, alpha
            ctx.saved = out if name in ("sigmoid", "tanh", "relu") else x
        return out

    @staticmethod
    def backward(ctx, grad):
        kernels = kernels_for(grad)
        return kernels.activation_backward(ctx.name, grad, ctx.saved, ctx.alpha), None, None


def relu(x: Tensor) -> Tensor:
    return Activation.apply(x, "relu", 0.0)


def leaky_relu(x: Tensor, alpha: float = 0.2) -> Tensor:
    return Activation.apply(x, "leaky_relu", float(alpha))


def sigmoid(x: Tensor) -> Tensor:
    return Activation.apply(x, "sigmoid", 0.0)


def tanh(x: Tensor) -> Tensor:
    return Activation.apply(x, "tanh", 0.0)


def step(x: Tensor) -> Tensor:
    return Activation.apply(x, "step", 0.0)


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    return Activation.apply(x, "gelu_tanh" if approximate else "gelu", 0.0)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis, log):
        kernels = kernels_for(x)
        out = kernels.log_softmax(x, axis) if log else kernels.softmax(x, axis)
        if ctx.requires_grad:
            ctx.out, ctx.axis, ctx.log = out, axis, log
        return out

    @staticmethod
    def backward(ctx, grad):
        kernels = kernels_for(grad)
        backward = kernels.log_softmax_backward if ctx.log else kernels.softmax_backward
        return backward(grad, ctx.out, ctx.axis), None, None


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return Softmax.apply(x, axis, False)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return Softmax.apply(x, axis, True)


class SoftmaxCrossEntropy(Function):
    """Mean cross-entropy of softmax(logits) against integer labels; the gradient comes from
    the same pass as the loss."""

    @staticmethod
    def forward(ctx, logits, labels):
        kernels = kernels_for(logits)
        if ctx.requires_grad:
            loss, ctx.dlogits = kernels.softmax_cross_entropy_with_grad(logits, labels)
        else:
            loss = kernels.softmax_cross_entropy(logits, labels)
        return array_module(logits).asarray(loss, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        return ctx.dlogits * grad, None


def softmax_cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    return SoftmaxCrossEntropy.apply(logits, labels)


# --------------------------------------------------------------------------- pooling

_NCHW_TO_NHWC = (0, 2, 3, 1)
_NHWC_TO_NCHW = (0, 3, 1, 2)


class _Pool2d(Function):
    """A 2-D pooling computed on NHWC data: channels_first data is transposed at the edge, and
    its gradient back. Subclasses define ``pool(x, window)``, which may keep on the instance
    what ``unpool(grad)`` (the gradient with respect to x) needs."""

    op = "pool2d"

    @staticmethod
    def forward(ctx, x, pool_size, strides, padding, data_format):
        ctx.window = (pool_size, strides, padding)
        ctx.first = cpu.channels_first_image(ctx.op, data_format, x.ndim)
        if ctx.first:
            x = x.transpose(_NCHW_TO_NHWC)
        ctx.x_shape = x.shape
        y = ctx.pool(x)
        return y.transpose(_NHWC_TO_NCHW) if ctx.first else y

    @staticmethod
    def backward(ctx, grad):
        if ctx.first:
            grad = grad.transpose(_NCHW_TO_NHWC)
        dx = ctx.unpool(grad)
        return dx.transpose(_NHWC_TO_NCHW) if ctx.first else dx


class MaxPool2d(_Pool2d):
    """2-D max pooling (see :func:`fastdl.max_pool2d`). When a gradient is wanted the forward
    keeps, per output element, the position of its maximum (the first one on ties); the
    backward sends each window's gradient there."""

    op = "max_pool2d"

    def pool(self, x):
        if not self.requires_grad:
            return kernels_for(x).max_pool2d(x, *self.window)
        y, self.argmax = kernels_for(x).max_pool2d_with_argmax(x, *self.window)
        return y

    def unpool(self, grad):
        return kernels_for(grad).max_pool2d_backward(grad, self.argmax, self.x_shape, *self.window)


class AvgPool2d(_Pool2d):
    """2-D average pooling (see :func:`fastdl.avg_pool2d`); padding is not counted in a
    window's average, nor does it receive gradient."""

    op = "avg_pool2d"

    def pool(self, x):
        return kernels_for(x).avg_pool2d(x, *self.window)

    def unpool(self, grad):
        return kernels_for(grad).avg_pool2d_backward(grad, self.x_shape, *self.window)


def _image_axes(data_format: str) -> tuple[int, int]:
    return (2, 3) if data_format == "channels_first" else (1, 2)


class GlobalAvgPool2d(Function):
    """The mean of each channel over the image; every position gets 1 / (height * width) of
    its channel's gradient."""

    @staticmethod
    def forward(ctx, x, keepdims, data_format):
        out = kernels_for(x).global_avg_pool2d(x, keepdims, data_format)
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, _image_axes(data_format), keepdims
        return out

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
        out = kernels_for(x).global_max_pool2d(x, keepdims, data_format)
        if ctx.requires_grad:
            ctx.x, ctx.axes, ctx.keepdims = x, _image_axes(data_format), keepdims
        return out

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


def max_pool2d(x: Tensor, pool_size=2, strides=None, padding: str = "valid",
               data_format: str = "channels_last") -> Tensor:
    return MaxPool2d.apply(x, pool_size, strides, padding, data_format)


def avg_pool2d(x: Tensor, pool_size=2, strides=None, padding: str = "valid",
               data_format: str = "channels_last") -> Tensor:
    return AvgPool2d.apply(x, pool_size, strides, padding, data_format)


def global_avg_pool2d(x: Tensor, keepdims: bool = False,
                      data_format: str = "channels_last") -> Tensor:
    return GlobalAvgPool2d.apply(x, keepdims, data_format)


def global_max_pool2d(x: Tensor, keepdims: bool = False,
                      data_format: str = "channels_last") -> Tensor:
    return GlobalMaxPool2d.apply(x, keepdims, data_format)


class Dropout(Function):
    """Inverted dropout: zeroes each element with probability p and scales the rest by
    1 / (1 - p), so that evaluation needs no rescaling. The mask comes from a counter-based
    stream keyed by one number drawn from ``generator``: the same whatever the thread count."""

    @staticmethod
    def forward(ctx, x, p, generator):
        seed = generator.bit_generator.random_raw()
        out, ctx.keep = kernels_for(x).dropout_forward(x, p, seed)
        ctx.p = p
        return out

    @staticmethod
    def backward(ctx, grad):
        return kernels_for(grad).dropout_backward(grad, ctx.keep, ctx.p), None, None


def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            generator: Optional[np.random.Generator] = None) -> Tensor:
    """Inverted dropout; the identity when ``training`` is False or ``p`` is 0. Random numbers
    come from ``generator`` or fastdl's (see :func:`fastdl.manual_seed`)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, float(p), generator or _random.generator())


class BatchNorm(Function):
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` with the mean and (biased) variance of
    the batch itself, taken over ``axes``; gamma and beta are shaped to broadcast against x.
    Returns the normalized output; the batch moments are left on the instance as ``mean`` and
    ``var`` for the caller's running averages."""

    @staticmethod
    def forward(ctx, x, gamma, beta, axes, eps):
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = np.mean(np.square(centered), axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + x.dtype.type(eps))
        x_hat = centered * inv_std
        ctx.mean, ctx.var = mean, var
        if ctx.requires_grad:
            ctx.x_hat, ctx.inv_std, ctx.gamma, ctx.axes = x_hat, inv_std, gamma, axes
            ctx.beta_shape = np.shape(beta)
        return x_hat * gamma + beta

    @staticmethod
    def backward(ctx, grad):
        axes, x_hat = ctx.axes, ctx.x_hat
        dbeta = grad.sum(axis=axes, keepdims=True)
        dgamma = (grad * x_hat).sum(axis=axes, keepdims=True)
        count = grad.size // dbeta.size
        # d/dx of the normalization, with the batch mean and variance depending on x.
        dx = (ctx.gamma * ctx.inv_std / count) * (count * grad - dbeta - x_hat * dgamma)
        return (dx, dgamma.reshape(np.shape(ctx.gamma)), dbeta.reshape(ctx.beta_shape),
                None, None)


# --------------------------------------------------------------------------- n-ary helpers

def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    shapes = [np.shape(t.data if isinstance(t, Tensor) else t) for t in tensors]
    try:
        return Concatenate.apply(*tensors, axis=axis)
    except ValueError as e:
        raise ValueError(
            f"concatenate: shapes {shapes} do not fit along axis {axis}: {e}") from None


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = [np.shape(t.data if isinstance(t, Tensor) else t) for t in tensors]
    if len(set(shapes)) > 1:
        raise ValueError(f"stack: all tensors must have the same shape; got {shapes}")
    return Stack.apply(*tensors, axis=axis)
