"""Random fills on the GPU (``fastdl._cuda``), the names and signatures of
:mod:`fastdl.backend.cpu.random`'s: new CuPy arrays whose value ``i`` depends only on the key
and ``i``, drawn from Philox4x32-10 (the stream GPU dropout draws from) in the layout of
``csrc/include/fastdl/random.h``. The same key gives the same array on every run and launch
shape, but not the array the CPU draws from it (another generator). Floats are float32 only,
as for every CUDA kernel; integers int32 or int64.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fastdl.backend.cuda import runtime

__all__ = ["random_uniform", "random_normal", "random_truncated_normal", "random_integers"]


def _float32_output(op: str, shape: Sequence[int], dtype: Any):
    if np.dtype(dtype) != np.float32:
        raise TypeError(f"{op}: the CUDA kernels take float32; got {np.dtype(dtype)}")
    return runtime.empty(tuple(shape), np.float32)


def random_uniform(shape: Sequence[int], dtype: Any, key: int, low: float, high: float):
    """Uniform on ``[low, high)`` (24 random bits)."""
    out = _float32_output("random_uniform", shape, dtype)
    runtime.kernels().random_uniform(out, key, float(low), float(high), runtime.stream())
    return out


def random_normal(shape: Sequence[int], dtype: Any, key: int, mean: float, stddev: float):
    """Normal with this mean and standard deviation (Box-Muller)."""
    out = _float32_output("random_normal", shape, dtype)
    runtime.kernels().random_normal(out, key, float(mean), float(stddev), runtime.stream())
    return out


def random_truncated_normal(shape: Sequence[int], dtype: Any, key: int, mean: float,
                            stddev: float):
    """Normal conditioned on lying within two standard deviations of the mean (the values
    outside are drawn again)."""
    out = _float32_output("random_truncated_normal", shape, dtype)
    runtime.kernels().random_truncated_normal(out, key, float(mean), float(stddev),
                                              runtime.stream())
    return out


def random_integers(shape: Sequence[int], dtype: Any, key: int, low: int, high: int):
    """Uniform on the integers ``[low, high)``, as int32 or int64."""
    out = runtime.empty(tuple(shape), np.dtype(dtype))
    runtime.kernels().random_integers(out, key, int(low), int(high), runtime.stream())
    return out
