"""Device-independent argument parsing, written once for every device's kernels: image layouts,
the window geometry of convolution and pooling (Keras-style arguments, an int or a pair,
``'valid'``, ``'same'`` or explicit amounts, turned into the explicit numbers the kernels take),
output shapes, axis and rank checks, and the activation names a kernel epilogue applies.

Operations call these before choosing a device's kernels, and the device backends call them for
what they check themselves, so that a bad argument gets the same message on every device.

>>> from fastdl.backend.geometry import pair, resolve_padding
>>> pair("strides", 2)
(2, 2)
>>> resolve_padding("same", (28, 28), (3, 3), (1, 1), (1, 1))  # top, bottom, left, right
(1, 1, 1, 1)
>>> resolve_padding("same", (28, 28), (2, 2), (2, 2), (1, 1))
(0, 0, 0, 0)
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

Pair = tuple[int, int]
Padding = tuple[int, int, int, int]  # top, bottom, left, right


def pair(name: str, value: Any, op: str = "conv2d") -> Pair:
    """``value`` as (height, width): an int applies to both."""
    if isinstance(value, (int,)) or hasattr(value, "__index__"):
        v = int(value)
        return (v, v)
    try:
        a, b = value
        return (int(a), int(b))
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}") from None


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Keras's 'same': ``ceil(size / stride)`` outputs; the padding they need, the smaller half
    before (an odd total puts the extra row or column after)."""
    out = -(-size // stride)
    span = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: Any, size: Sequence[int], kernel: Sequence[int],
                    strides: Sequence[int], dilation: Sequence[int],
                    op: str = "conv2d") -> Padding:
    """(top, bottom, left, right) from ``'valid'``, ``'same'``, an int (all sides), a pair
    (height, width: both sides) or a pair of pairs ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0, 0, 0)
        if mode == "same":
            top, bottom = same_padding(size[0], kernel[0], strides[0], dilation[0])
            left, right = same_padding(size[1], kernel[1], strides[1], dilation[1])
            return (top, bottom, left, right)
        raise ValueError(f"{op}: padding must be 'valid', 'same' or amounts, got {padding!r}")
    if isinstance(padding, int) or hasattr(padding, "__index__"):
        p = int(padding)
        return (p, p, p, p)
    try:
        h, w = padding
        if isinstance(h, int) and isinstance(w, int):
            return (h, h, w, w)
        (top, bottom), (left, right) = h, w
        return (int(top), int(bottom), int(left), int(right))
    except (TypeError, ValueError):
        raise ValueError(
            f"{op}: padding must be 'valid', 'same', an int, (pad_h, pad_w) or "
            f"((top, bottom), (left, right)); got {padding!r}"
        ) from None


def require_matmul_ranks(shape_a: tuple, shape_b: tuple) -> None:
    """ValueError naming matmul when an operand of ``a @ b`` is 0-d."""
    if not shape_a or not shape_b:
        raise ValueError(
            f"matmul: operands must have at least 1 dimension; a has shape {tuple(shape_a)}, "
            f"b has shape {tuple(shape_b)}"
        )


def linear_sizes(x_shape: tuple, w_shape: tuple) -> tuple[int, int]:
    """(in, out) of the dense product ``x @ w`` for ``x`` of shape (..., in) and ``w`` of
    shape (in, out); ValueError naming linear when they do not fit.

    >>> linear_sizes((64, 784), (784, 128))
    (784, 128)
    """
    if len(w_shape) != 2:
        raise ValueError(f"linear: w must be 2-D (in, out); got shape {tuple(w_shape)}")
    n_in, n_out = w_shape
    if len(x_shape) < 1 or x_shape[-1] != n_in:
        raise ValueError(
            f"linear: x has shape {tuple(x_shape)} but w has shape {tuple(w_shape)}; "
            f"expected x of shape (..., {n_in})"
        )
    return n_in, n_out


def matmul_batch(shape_a: tuple, shape_b: tuple, k_a: int, k_b: int, batch_a: tuple,
                 batch_b: tuple) -> tuple:
    """The broadcast batch shape of ``a @ b`` for operands of ``shape_a`` and ``shape_b`` (as
    the user gave them) whose inner sizes are ``k_a`` and ``k_b`` and batch shapes
    ``batch_a`` and ``batch_b``; ValueError naming matmul when they do not fit. Both devices'
    matmul call it, so the errors read the same."""
    if k_a != k_b:
        raise ValueError(
            f"matmul: inner dimensions do not match: a has shape {shape_a}, b has shape "
            f"{shape_b} ({k_a} != {k_b})"
        )
    try:
        return np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions do not broadcast: a has shape {shape_a}, "
            f"b has shape {shape_b}"
        ) from None


# ---------------------------------------------------------------- activations in an epilogue

#: The activations the matmul and convolution kernels apply as their output leaves the
#: registers; "none" is the identity.
EPILOGUE_ACTIVATIONS = ("none", "relu", "sigmoid", "tanh")


def epilogue_activation(op: str, activation: Optional[str]) -> str:
    """``activation`` as a kernel epilogue takes it (None becomes ``'none'``); ValueError naming
    ``op`` for one no epilogue applies.

    >>> epilogue_activation("linear", None), epilogue_activation("conv2d", "relu")
    ('none', 'relu')
    """
    act = "none" if activation is None else activation
    if act not in EPILOGUE_ACTIVATIONS:
        raise ValueError(
            f"{op}: unknown activation {activation!r}; expected None, 'relu', 'sigmoid' or 'tanh'"
        )
    return act


# ---------------------------------------------------------------- axes and ranks

def axis_index(op: str, ndim: int, axis: Any) -> int:
    """``axis`` as a non-negative index into ``ndim`` dimensions (``ndim`` >= 1); TypeError or
    ValueError naming ``op`` otherwise.

    >>> axis_index("softmax", 3, -1)
    2
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dimension; got shape ()")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for an array of {ndim} dimensions")
    return int(axis) % ndim


def require_rank(op: str, name: str, shape: tuple, rank: int, layout: str) -> None:
    """ValueError naming ``op`` unless ``shape`` has ``rank`` dimensions (``layout`` says what
    they mean)."""
    if len(shape) != rank:
        raise ValueError(f"{op}: {name} has shape {tuple(shape)}; expected {rank} dimensions "
                         f"{layout}")


# ---------------------------------------------------------------- image layouts
#
# Kernels work on NHWC images (batch, height, width, channels), Keras's default; operations serve
# data_format="channels_first" (NCHW) by transposing at the edge.

NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)


def channels_first(op: str, data_format: str) -> bool:
    """Whether ``data_format`` is ``'channels_first'`` (else ``'channels_last'``); ValueError
    naming ``op`` for anything else."""
    if data_format == "channels_last":
        return False
    if data_format == "channels_first":
        return True
    raise ValueError(
        f"{op}: data_format must be 'channels_last' or 'channels_first'; got {data_format!r}"
    )


def channels_first_image(op: str, data_format: str, ndim: int) -> bool:
    """:func:`channels_first` for image operations, whose channels_first input must be 4-D
    (the kernels check channels_last input themselves)."""
    first = channels_first(op, data_format)
    if first and ndim != 4:
        raise ValueError(f"{op}: x must be 4-D (batch, channels, height, width) with "
                         f"data_format='channels_first'; got {ndim}-D input")
    return first


def global_pool_axes(op: str, shape: tuple, data_format: str) -> tuple[int, int]:
    """The (height, width) axes of a 4-D image batch of ``shape``; ValueError naming ``op``
    otherwise.

    >>> global_pool_axes("global_avg_pool2d", (2, 3, 5, 5), "channels_first")
    (2, 3)
    """
    first = channels_first_image(op, data_format, len(shape))
    if len(shape) != 4:
        hint = " (for a single image add a batch axis: x[None])" if len(shape) == 3 else ""
        raise ValueError(f"{op}: x must be 4-D (batch, height, width, channels); got shape "
                         f"{tuple(shape)}{hint}")
    return (2, 3) if first else (1, 2)


# ---------------------------------------------------------------- convolution geometry

def conv2d_geometry(x_shape: tuple, w_shape: tuple, strides, padding, dilation,
                    op: str = "conv2d") -> tuple:
    """(strides, (top, bottom, left, right), dilation) for NHWC ``x_shape`` and HWIO
    ``w_shape``. Shapes of the wrong rank are left to the kernel entry point to report.

    >>> conv2d_geometry((1, 28, 28, 1), (3, 3, 1, 32), 1, "same", 1)
    ((1, 1), (1, 1, 1, 1), (1, 1))
    """
    strides, dilation = pair("strides", strides, op), pair("dilation", dilation, op)
    if len(x_shape) != 4 or len(w_shape) != 4:
        return strides, (0, 0, 0, 0), dilation
    return strides, resolve_padding(padding, x_shape[1:3], w_shape[:2], strides, dilation,
                                    op), dilation


def conv1d_geometry(x_shape: tuple, w_shape: tuple, strides, padding, dilation,
                    op: str = "conv1d") -> tuple:
    """The :func:`conv2d_geometry` of a 1-D convolution run as a 2-D one of height 1: ``x``
    (batch, steps, channels) becomes (batch, 1, steps, channels), ``w`` (kernel, in, out)
    becomes (1, kernel, in, out). ``padding`` is ``'valid'``, ``'same'``, ``'causal'`` (all of
    it before the sequence, so that no output sees a later step), an int or (before, after).

    >>> conv1d_geometry((1, 5, 1), (2, 1, 1), 1, "causal", 1)
    ((1, 1), (0, 0, 1, 0), (1, 1))
    """
    def scalar(name, v):
        if hasattr(v, "__index__"):
            return int(v)
        raise ValueError(f"{op}: {name} must be an int, got {v!r}")

    stride, rate = scalar("strides", strides), scalar("dilation", dilation)
    if len(x_shape) != 3 or len(w_shape) != 3:
        return (1, stride), (0, 0, 0, 0), (1, rate)
    if isinstance(padding, str) and padding.lower() == "causal":
        before, after = (w_shape[0] - 1) * rate, 0
    elif isinstance(padding, str):
        _, _, before, after = resolve_padding(padding, (1, x_shape[1]), (1, w_shape[0]),
                                              (1, stride), (1, rate), op)
    elif hasattr(padding, "__index__"):
        before = after = int(padding)
    else:
        try:
            before, after = (int(p) for p in padding)
        except (TypeError, ValueError):
            raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or "
                             f"(before, after); got {padding!r}") from None
    return (1, stride), (0, 0, before, after), (1, rate)


def conv_transpose_axis(size: int, kernel: int, stride: int, dilation: int, padding: str,
                     output_padding: Optional[int], op: str) -> tuple[int, int, int]:
    """(output size, padding before, padding after) of one axis of a transposed convolution,
    the padding being that of the convolution it is the adjoint of. Keras's sizes: 'valid'
    gives ``(size - 1) * stride + max(span, stride)``, 'same' ``size * stride``;
    ``output_padding`` adds rows after a base size of ``(size - 1) * stride + span`` ('valid')
    or ``(size - 1) * stride + span % 2`` ('same')."""
    span = (kernel - 1) * dilation + 1
    if output_padding is not None and not 0 <= output_padding < stride:
        raise ValueError(f"{op}: output_padding must be in [0, stride) = [0, {stride}); got "
                         f"{output_padding}")
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        before, after = span - 1, span - 1 + extra  # the zero padding of the strided input
    else:
        total = stride + span - 2 if output_padding is None else \
            span + span % 2 - 2 + output_padding
        before = min(total // 2 + total % 2, span - 1)
        after = total - before
    out = (size - 1) * stride + 1 + before + after - (span - 1)
    # The convolution whose adjoint this is pads by what the strided input was not padded by;
    # output rows past its last window get no contribution (they are zeros).
    return out, span - 1 - before, max(0, span - 1 - after)


def conv2d_transpose_geometry(x_shape: tuple, w_shape: tuple, strides, padding, output_padding,
                              dilation, op: str = "conv2d_transpose") -> tuple:
    """(output shape, strides, (top, bottom, left, right), dilation) of a transposed
    convolution of NHWC ``x_shape`` by ``w_shape`` (kernel_h, kernel_w, filters, in_channels):
    the output is the input gradient, of that shape, of the convolution by the same weights
    with that geometry. ``padding`` is ``'valid'`` or ``'same'``; ``output_padding`` None, an
    int or a pair.

    >>> conv2d_transpose_geometry((2, 7, 7, 64), (3, 3, 32, 64), 2, "same", None, 1)
    ((2, 14, 14, 32), (2, 2), (0, 1, 0, 1), (1, 1))
    """
    strides, dilation = pair("strides", strides, op), pair("dilation", dilation, op)
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    extra = (None, None) if output_padding is None else pair("output_padding", output_padding, op)
    require_rank(op, "inputs", x_shape, 4, "(batch, height, width, channels)")
    require_rank(op, "kernel", w_shape, 4, "(kernel_h, kernel_w, filters, in_channels)")
    if w_shape[3] != x_shape[3]:
        raise ValueError(f"{op}: the kernel {tuple(w_shape)} takes {w_shape[3]} input channels "
                         f"(its last axis), the inputs {tuple(x_shape)} have {x_shape[3]}")
    (oh, top, bottom), (ow, left, right) = (
        conv_transpose_axis(x_shape[1 + i], w_shape[i], strides[i], dilation[i], padding.lower(),
                         extra[i], op) for i in range(2))
    return ((x_shape[0], oh, ow, w_shape[2]), strides, (top, bottom, left, right), dilation)


def conv2d_output_shape(x_shape: tuple, w_shape: tuple, strides: Pair, padding: Padding,
                        dilation: Pair) -> tuple:
    """The (N, OH, OW, CO) output of a well-formed NHWC convolution with the geometry resolved;
    ``(0,)`` for operands the kernel entry point will reject, naming the problem.

    >>> conv2d_output_shape((2, 28, 28, 1), (3, 3, 1, 32), (1, 1), (0, 0, 0, 0), (1, 1))
    (2, 26, 26, 32)
    """
    try:
        (n, h, w, _), (kh, kw, _, co) = x_shape, w_shape
        oh = (h + padding[0] + padding[1] - dilation[0] * (kh - 1) - 1) // strides[0] + 1
        ow = (w + padding[2] + padding[3] - dilation[1] * (kw - 1) - 1) // strides[1] + 1
    except (TypeError, ValueError, ZeroDivisionError):
        return (0,)
    return (n, max(oh, 0), max(ow, 0), co)


# ---------------------------------------------------------------- pooling geometry

def pool2d_output_shape(x_shape: tuple, pool_size, strides, padding) -> tuple:
    """The NHWC output of pooling a well-formed ``x_shape`` (``strides=None`` meaning
    ``pool_size``; Keras's ``'valid'`` and ``'same'``); ``(0,)`` for arguments the kernel entry
    point will reject, naming the problem.

    >>> pool2d_output_shape((1, 7, 7, 3), 2, None, "same")
    (1, 4, 4, 3)
    """
    try:
        n, h, w, c = x_shape
        ph, pw = _ints(pool_size)
        sh, sw = (ph, pw) if strides is None else _ints(strides)
        if padding.lower() == "same":
            oh, ow = -(-h // sh), -(-w // sw)
        else:
            oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    except (AttributeError, TypeError, ValueError, ZeroDivisionError):
        return (0,)
    return (n, max(oh, 0), max(ow, 0), c)


def _ints(v) -> Pair:
    """An int, or a pair of them, as (height, width); anything else raises."""
    if np.ndim(v) == 0:
        return int(v), int(v)
    a, b = v
    return int(a), int(b)
