"""Random fills on the CPU (``fastdl._C``): new arrays whose value ``i`` depends only on the
64-bit ``key`` and ``i``, drawn from the counter-based stream that dropout's masks come from, so
the same for any thread count or ISA. The layout of the stream's words and the transforms are
described in ``csrc/include/fastdl/random.h``; keys should be uniformly random 64-bit numbers
(:mod:`fastdl.random` makes them).

>>> import numpy as np
>>> from fastdl.backend import cpu
>>> cpu.random_uniform((4,), np.float32, 2024, 0.0, 1.0)
array([0.23169911, 0.5603066 , 0.00129384, 0.2169339 ], dtype=float32)
>>> cpu.random_integers((6,), np.int32, 2024, 0, 10)
array([2, 0, 0, 2, 9, 4], dtype=int32)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fastdl import _C

__all__ = ["random_uniform", "random_normal", "random_truncated_normal", "random_integers"]


def random_uniform(shape: Sequence[int], dtype: Any, key: int, low: float,
                   high: float) -> np.ndarray:
    """Uniform on ``[low, high)`` (float32: 24 random bits, float64: 53)."""
    return _C.random_uniform(tuple(shape), np.dtype(dtype), key, low, high)


def random_normal(shape: Sequence[int], dtype: Any, key: int, mean: float,
                  stddev: float) -> np.ndarray:
    """Normal with this mean and standard deviation (Box-Muller)."""
    return _C.random_normal(tuple(shape), np.dtype(dtype), key, mean, stddev)


def random_truncated_normal(shape: Sequence[int], dtype: Any, key: int, mean: float,
                            stddev: float) -> np.ndarray:
    """Normal conditioned on lying within two standard deviations of the mean (the values
    outside are drawn again)."""
    return _C.random_truncated_normal(tuple(shape), np.dtype(dtype), key, mean, stddev)


def random_integers(shape: Sequence[int], dtype: Any, key: int, low: int,
                    high: int) -> np.ndarray:
    """Uniform on the integers ``[low, high)``, as int32 or int64."""
    return _C.random_integers(tuple(shape), np.dtype(dtype), key, low, high)
