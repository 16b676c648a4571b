"""Inverted dropout on the CPU (``fastdl._C``). The mask is drawn from a counter-based stream
keyed by ``seed``: a function of (seed, element index) only, the same for any thread count."""
from __future__ import annotations

import numpy as np

from fastdl import _C

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, p: float, seed: int) -> tuple:
    """``(y, keep)``: ``y = x / (1 - p)`` where ``keep``, else 0, with ``keep`` (uint8) 1 for
    each element with probability ``1 - p``."""
    return _C.dropout_forward(x, p, seed)


def dropout_backward(grad, keep, p: float) -> np.ndarray:
    """``grad / (1 - p)`` where ``keep`` (the mask :func:`dropout_forward` returned), else 0."""
    return _C.dropout_backward(grad, keep, p)
