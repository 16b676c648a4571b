"""The GPU: whether one can be used, waiting for it, and the options of its kernels.

GPU tensors hold CuPy arrays (``pip install 'fastdl[cuda]'``); fastdl's CUDA kernels run on
CuPy's current stream, so a ``with cupy.cuda.Stream():`` block moves them to another stream.

>>> import fastdl
>>> isinstance(fastdl.cuda.is_available(), bool)
True
>>> fastdl.cuda.allow_tf32  # float32 matrix products stay exact float32 unless this is set
False
"""
from __future__ import annotations

#: When True, float32 matrix products (Dense layers, matmul) on the GPU use the TF32 tensor
#: cores: operands rounded to 10 mantissa bits, products accumulated in float32. Several times
#: faster on Ampere and Hopper GPUs, with relative errors near 1e-3 instead of 1e-6.
allow_tf32: bool = False


def _kernels():
    try:
        from fastdl import _cuda
    except ImportError:
        return None
    return _cuda


def is_available() -> bool:
    """True when GPU tensors work here: fastdl was built with its CUDA kernels, CuPy is
    installed and a GPU is visible."""
    kernels = _kernels()
    if kernels is None or kernels.device_count() == 0:
        return False
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


def device_count() -> int:
    """The number of visible GPUs (0 without a driver or without fastdl's CUDA kernels)."""
    kernels = _kernels()
    return 0 if kernels is None else kernels.device_count()


def get_device_name(index: int = 0) -> str:
    """The name of GPU ``index``, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    from fastdl.backend.cuda import runtime
    return runtime.kernels().device_name(index)


def synchronize() -> None:
    """Waits until all work queued on the GPU has finished (for timing: kernels are
    asynchronous)."""
    from fastdl.backend.cuda import runtime
    runtime.kernels().synchronize()
