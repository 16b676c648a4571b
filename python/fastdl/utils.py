"""Helpers Keras users reach for: ``to_categorical`` and ``set_random_seed``."""
from __future__ import annotations

import random
from typing import Any, Optional

import numpy as np

from fastdl import random as _random

__all__ = ["to_categorical", "set_random_seed"]


def to_categorical(y: Any, num_classes: Optional[int] = None, dtype: Any = "float32"
                   ) -> np.ndarray:
    """One-hot rows for integer labels (a trailing axis of 1 is dropped, as Keras does).

    >>> import fastdl
    >>> fastdl.utils.to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.dtype.kind == "f":
        if not np.array_equal(labels, np.round(labels)):
            raise ValueError("to_categorical: labels must be integers")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"to_categorical: labels must be integers, got dtype {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: labels must be non-negative, got {labels.min()}")
    top = int(labels.max()) + 1 if labels.size else 0
    num_classes = top if num_classes is None else int(num_classes)
    if top > num_classes:
        raise ValueError(f"to_categorical: label {top - 1} does not fit num_classes="
                         f"{num_classes}")
    out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def set_random_seed(seed: int) -> None:
    """Seeds fastdl (initializers, dropout, shuffling, and the global SeedGenerator of
    ``fastdl.keras.random``'s operations called without a seed), NumPy's global generator and
    Python's ``random``, so that two runs on the CPU give bitwise identical results.

    >>> import fastdl
    >>> from fastdl.keras import random
    >>> fastdl.utils.set_random_seed(1); a = fastdl.rand(2); b = random.normal((2,))
    >>> fastdl.utils.set_random_seed(1); c = fastdl.rand(2); d = random.normal((2,))
    >>> bool((a.numpy() == c.numpy()).all()), bool((b.numpy() == d.numpy()).all())
    (True, True)
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"set_random_seed: seed must be an int, got {seed!r} "
                         f"({type(seed).__name__})")
    _random.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
