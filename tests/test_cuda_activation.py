"""GPU activations against the CPU kernels, on identical inputs."""
import numpy as np
import pytest

from cuda_support import assert_matches_cpu, requires_gpu, to_gpu
from fastdl.backend import cpu

pytestmark = requires_gpu

NAMES = ["none", "relu", "leaky_relu", "sigmoid", "tanh", "step", "gelu", "gelu_tanh"]
# Sizes off every vector width, one that vectorizes, and one large enough for the whole grid.
SIZES = [1, 3, 4, 1023, 4096, 1 << 20]


def _cuda():
    from fastdl.backend import cuda
    return cuda


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", SIZES)
def test_forward_and_backward_match_cpu(name, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    x[: min(n, 2)] = 0.0  # the kinks
    dy = rng.standard_normal(n).astype(np.float32)
    y_cpu = cpu.activation_forward(name, x, 0.1)
    y_gpu = _cuda().activation_forward(name, to_gpu(x), 0.1)
    assert_matches_cpu(y_gpu, y_cpu, rtol=2e-6, atol=2e-6)
    saved = y_cpu if name in ("sigmoid", "tanh") else x
    assert_matches_cpu(_cuda().activation_backward(name, to_gpu(dy), to_gpu(saved), 0.1),
                       cpu.activation_backward(name, dy, saved, 0.1), rtol=1e-5, atol=1e-6)


def test_unaligned_view_takes_the_scalar_path():
    x = np.linspace(-2, 2, 1001, dtype=np.float32)
    gx = to_gpu(x)[1:]  # 4 bytes past an aligned start: not float4-aligned
    assert_matches_cpu(_cuda().activation_forward("tanh", gx), cpu.activation_forward("tanh", x[1:]), rtol=2e-6,
                       atol=2e-6)


def test_nan_propagates():
    x = np.array([np.nan, 1.0, -1.0, np.nan], np.float32)
    for name in ("relu", "step", "gelu"):
        y = _cuda().activation_forward(name, to_gpu(x))
        assert np.isnan(float(y[0])) and np.isnan(float(y[3])), name


def test_float64_and_cpu_operands_are_refused():
    import cupy
    with pytest.raises(TypeError, match="relu: the CUDA kernels take float32"):
        _cuda().activation_forward("relu", cupy.zeros(3, cupy.float64))
    with pytest.raises(RuntimeError, match="relu: expected every operand on the GPU"):
        _cuda().activation_forward("relu", np.zeros(3, np.float32))
