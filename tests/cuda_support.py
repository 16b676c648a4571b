"""What the CUDA tests share: they run only where a GPU, CuPy and fastdl's CUDA kernels are all
present, and compare every GPU kernel with the CPU kernel on identical inputs."""
from __future__ import annotations

import numpy as np
import pytest

import fastdl


def _gpu_ready() -> bool:
    if not fastdl.build_info()["cuda"]:
        return False
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    from fastdl import _cuda
    return _cuda.device_count() > 0


GPU_READY = _gpu_ready()

# Apply to a test module with `pytestmark = requires_gpu`.
requires_gpu = pytest.mark.skipif(
    not GPU_READY, reason="needs a CUDA GPU, CuPy and fastdl built with its CUDA kernels")


def to_gpu(a: np.ndarray):
    import cupy
    return cupy.asarray(a)


def to_cpu(a) -> np.ndarray:
    import cupy
    return cupy.asnumpy(a)


def assert_matches_cpu(gpu_result, cpu_result, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """The GPU result, brought back, equals the CPU kernel's within float32 tolerances."""
    got = to_cpu(gpu_result)
    assert got.shape == np.shape(cpu_result)
    np.testing.assert_allclose(got, cpu_result, rtol=rtol, atol=atol)
