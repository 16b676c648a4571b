"""Arrays in, batches out: how fit, evaluate and predict see their data."""
from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import numpy as np

from fastdl.tensor import Tensor


def as_inputs(op: str, x: Any, dtype: np.dtype) -> list[np.ndarray]:
    """The model's inputs as a list of C-contiguous arrays of ``dtype`` (converted once, not
    per batch: uint8 images and float64 arrays alike)."""
    if x is None:
        raise ValueError(f"{op}: x is required")
    arrays = list(x) if isinstance(x, (list, tuple)) else [x]
    out = []
    for a in arrays:
        a = a.data if isinstance(a, Tensor) else np.asarray(a)
        if a.dtype.kind not in "fiub":
            raise TypeError(f"{op}: inputs must be numeric arrays, got dtype {a.dtype}")
        out.append(np.ascontiguousarray(a, dtype=dtype))
    sizes = {len(a) for a in out}
    if len(sizes) > 1:
        raise ValueError(f"{op}: the inputs have different numbers of samples: "
                         f"{[len(a) for a in out]}")
    return out


def as_targets(op: str, y: Any, samples: int, dtype: np.dtype) -> np.ndarray:
    """Targets as an array (floating targets in the model's dtype, integer labels kept)."""
    if y is None:
        raise ValueError(f"{op}: y is required to compute the loss")
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
    if y.dtype.kind == "f" and y.dtype != dtype:
        y = y.astype(dtype)
    if len(y) != samples:
        raise ValueError(f"{op}: x has {samples} samples but y has {len(y)}; they must match")
    return y


def batch_size_or_default(op: str, batch_size: Optional[int], default: int = 32) -> int:
    if batch_size is None:
        return default
    if int(batch_size) <= 0:
        raise ValueError(f"{op}: batch_size must be positive, got {batch_size}")
    return int(batch_size)


def batches(xs: Sequence[np.ndarray], y: Optional[np.ndarray], batch_size: int,
            order: Optional[np.ndarray] = None) -> Iterator[tuple[list, Any]]:
    """(inputs, targets) per batch, in ``order`` (a permutation) or in sequence."""
    n = len(xs[0])
    for lo in range(0, n, batch_size):
        if order is None:
            sl = slice(lo, lo + batch_size)
            yield [a[sl] for a in xs], (None if y is None else y[sl])
        else:
            idx = order[lo:lo + batch_size]
            yield [a.take(idx, axis=0) for a in xs], (None if y is None else y.take(idx, axis=0))


def split_validation(xs: list, y: np.ndarray, fraction: float) -> tuple:
    """Keras's ``validation_split``: the last ``fraction`` of the samples, before shuffling."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fit: validation_split must be in (0, 1), got {fraction}")
    n = len(y)
    cut = int(n * (1.0 - fraction))
    if cut == 0 or cut == n:
        raise ValueError(f"fit: validation_split={fraction} leaves no training or no "
                         f"validation samples out of {n}")
    return ([a[:cut] for a in xs], y[:cut]), ([a[cut:] for a in xs], y[cut:])
