"""What every CUDA backend module needs: CuPy (imported on first use, so that fastdl imports
without it), the compiled kernels, the stream to launch on and operand checks.

Kernels launch on CuPy's current stream, so they order correctly with the CuPy glue around them
and inside ``with cupy.cuda.Stream():`` blocks.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np


@functools.lru_cache(maxsize=None)
def cupy():
    """The ``cupy`` module; RuntimeError saying how to install it when it is missing."""
    try:
        import cupy as cp
    except ImportError as e:
        raise RuntimeError(
            "fastdl's GPU tensors are CuPy arrays, and CuPy is not installed: "
            "pip install 'fastdl[cuda]' (CUDA 13 drivers) or 'fastdl[cuda12]' (CUDA 12)"
        ) from e
    return cp


@functools.lru_cache(maxsize=None)
def kernels():
    """``fastdl._cuda``; RuntimeError when this build of fastdl has no CUDA kernels."""
    try:
        from fastdl import _cuda
    except ImportError as e:
        raise RuntimeError(
            "this build of fastdl has no CUDA kernels (nvcc was not found when it was built, "
            "or FASTDL_CUDA=OFF); reinstall it on a machine with the CUDA toolkit"
        ) from e
    return _cuda


def stream() -> int:
    """The handle of CuPy's current stream."""
    return cupy().cuda.get_current_stream().ptr


def is_cuda_array(a: Any) -> bool:
    """True for arrays in GPU memory (CuPy's, or anything with __cuda_array_interface__)."""
    return hasattr(a, "__cuda_array_interface__")


def empty(shape, dtype=np.float32):
    return cupy().empty(shape, dtype)


def float32_operands(op: str, *arrays):
    """The arrays as C-contiguous float32 CuPy arrays. Python numbers and NumPy arrays are
    refused (nothing moves between devices implicitly), and so is any dtype but float32: the
    CUDA kernels compute in float32."""
    cp = cupy()
    out = []
    for a in arrays:
        if not isinstance(a, cp.ndarray):
            where = "the CPU" if isinstance(a, np.ndarray) else type(a).__name__
            raise RuntimeError(
                f"{op}: expected every operand on the GPU, got one on {where} (shape "
                f"{np.shape(a)}); move it with .to('cuda') first"
            )
        if a.dtype != np.float32:
            shapes = ", ".join(str(x.shape) for x in arrays)
            raise TypeError(
                f"{op}: the CUDA kernels take float32; got {a.dtype} (operand shapes {shapes})"
            )
        out.append(cp.ascontiguousarray(a))
    return out
