"""Window geometry shared by the convolution and pooling kernels of every device: turning the
Keras-style arguments (an int or a pair; ``'valid'``, ``'same'`` or explicit amounts) into the
explicit numbers the kernels take.

>>> from fastdl.backend.geometry import pair, resolve_padding
>>> pair("strides", 2)
(2, 2)
>>> resolve_padding("same", (28, 28), (3, 3), (1, 1), (1, 1))  # top, bottom, left, right
(1, 1, 1, 1)
>>> resolve_padding("same", (28, 28), (2, 2), (2, 2), (1, 1))
(0, 0, 0, 0)
"""
from __future__ import annotations

from typing import Any, Sequence

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
