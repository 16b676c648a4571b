"""keras.random on the GPU: the fills against a NumPy Philox4x32-10 model of the stream GPU
dropout draws from (bit for bit where the transform is exact), the same values for any array
length, the distributions' statistics (the tolerances of test_keras_random), the operations
placed on the GPU, and the errors. (The CPU draws from another stream, so the devices' values
differ.)"""
import math

import numpy as np
import pytest

from cuda_support import requires_gpu, to_cpu, to_gpu
from test_cuda_dropout import philox4x32_10
from test_keras_random import (KS_N, N, assert_moments, assert_uncorrelated, ks_bound,
                               ks_statistic, normal_cdf, redraw_key, sigmas,
                               truncated_normal_moments)

pytestmark = requires_gpu

_M32 = np.uint64(0xFFFFFFFF)
KEY = 0x243F6A8885A308D3
F32 = np.dtype(np.float32)


def _cuda():
    from fastdl.backend import cuda
    return cuda


def _kernels():
    from fastdl.backend.cuda import runtime
    return runtime.kernels()


def _stream() -> int:
    from fastdl.backend.cuda import runtime
    return runtime.stream()


def words(key: int, count: int) -> np.ndarray:
    """Words 0 .. count - 1 of the stream: word w % 4 of Philox at counter w // 4."""
    groups = np.arange((count + 3) // 4, dtype=np.uint64)
    zeros = np.zeros_like(groups)
    out = philox4x32_10((groups & _M32, groups >> np.uint64(32), zeros, zeros),
                        (key & 0xFFFFFFFF, key >> 32))
    return np.stack(out, axis=1).ravel()[:count]


def reference_normals(key: int, n: int) -> np.ndarray:
    w = words(key, 2 * ((n + 1) // 2)).astype(np.float64)
    r = np.sqrt(-2 * np.log((np.floor(w[0::2] / 256) + 1) / 2**24))
    turn = w[1::2] / 2**32
    return np.stack([r * np.cos(2 * np.pi * turn), r * np.sin(2 * np.pi * turn)], 1).ravel()[:n]


@pytest.mark.parametrize("n", [1, 3, 4, 5, 1023, 4097])
def test_uniforms_are_the_top_24_bits_of_philox_words(n):
    got = to_cpu(_cuda().random_uniform((n,), F32, KEY, 0.0, 1.0))
    np.testing.assert_array_equal(got, (words(KEY, n) >> np.uint64(8)).astype(np.float32) / 2**24)
    scaled = to_cpu(_cuda().random_uniform((n,), F32, KEY, -2.0, 6.0))
    np.testing.assert_allclose(scaled, -2.0 + 8.0 * got, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("low, high", [(0, 1), (-7, 13), (-2**31, 2**31 - 1)])
def test_integers_scale_64_random_bits_onto_the_range(dtype, low, high):
    n = 999
    got = to_cpu(_cuda().random_integers((n,), np.dtype(dtype), KEY, low, high))
    w = words(KEY, 2 * n)
    bits = [(int(hi) << 32) | int(lo) for hi, lo in zip(w[0::2], w[1::2])]
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [low + (b * (high - low) >> 64) for b in bits])


@pytest.mark.parametrize("n", [1, 2, 5, 1001, 4099])
def test_normals_are_box_muller_on_the_documented_words(n):
    got = to_cpu(_cuda().random_normal((n,), F32, KEY, 0.0, 1.0))
    # The GPU's logf and sincospif are within a few ulp.
    np.testing.assert_allclose(got, reference_normals(KEY, n), rtol=1e-5, atol=1e-5)


def test_truncated_normals_redraw_the_values_outside_two_from_their_pair():
    n = 4000
    got = to_cpu(_cuda().random_truncated_normal((n,), F32, KEY, 0.0, 1.0))
    first = to_cpu(_cuda().random_normal((n,), F32, KEY, 0.0, 1.0))
    inside = np.abs(first) <= 2
    assert 0 < (~inside).sum() < n
    np.testing.assert_array_equal(got[inside], first[inside])
    for i in np.flatnonzero(~inside):
        round_ = 1
        while abs(value := to_cpu(_cuda().random_normal((n,), F32, redraw_key(KEY, round_),
                                                        0.0, 1.0))[i]) > 2:
            round_ += 1
        assert got[i] == value


@pytest.mark.parametrize("fill", ["random_uniform", "random_normal", "random_truncated_normal"])
def test_values_do_not_depend_on_the_length_or_alignment(fill):
    import cupy
    full = to_cpu(getattr(_cuda(), fill)((100_003,), F32, KEY, 0.0, 1.0))
    np.testing.assert_array_equal(to_cpu(getattr(_cuda(), fill)((1001,), F32, KEY, 0.0, 1.0)),
                                  full[:1001])
    # An output that is not 16-byte aligned takes the element-by-element stores.
    out = cupy.empty(1002, np.float32)[1:]
    getattr(_kernels(), fill)(out, KEY, 0.0, 1.0, _stream())
    np.testing.assert_array_equal(to_cpu(out), full[:1001])


def test_statistics():
    from fastdl.keras import random
    z = sigmas(9)
    u = to_cpu(random.uniform((N,), seed=1, device="cuda").data)
    assert u.min() >= 0 and u.max() < 1
    assert_moments(u, 0.5, 1 / 12, 1 / 80, z)
    x = to_cpu(random.normal((N,), seed=2, device="cuda").data)
    assert_moments(x, 0.0, 1.0, 3.0, z)
    assert ks_statistic(x[:KS_N], normal_cdf) < ks_bound(KS_N, 9)
    t = to_cpu(random.truncated_normal((N,), seed=3, device="cuda").data)
    assert np.abs(t).max() <= 2
    assert_moments(t, 0.0, *truncated_normal_moments(2.0), z)
    for lag in (1, 2, 3):
        assert_uncorrelated(x[:-lag].astype(np.float64), x[lag:].astype(np.float64), z)
    k = 10
    counts = np.bincount(to_cpu(random.randint((N,), 0, k, seed=4, device="cuda").data),
                         minlength=k)
    assert (np.abs(counts - N / k) < sigmas(k) * math.sqrt(N / k * (1 - 1 / k))).all()


def test_operations_run_where_their_input_is():
    import fastdl
    from fastdl.keras import random
    a = random.normal((3, 4), seed=5, device="cuda")
    assert a.device == "cuda" and a.dtype == np.float32
    np.testing.assert_array_equal(to_cpu(random.normal((3, 4), seed=5, device="cuda").data),
                                  to_cpu(a.data))
    assert random.uniform((3,), dtype="float16", device="cuda").dtype == np.float16
    x = fastdl.tensor(np.arange(1.0, 13.0, dtype=np.float32).reshape(3, 4)).to("cuda")
    x.requires_grad_()
    y = random.dropout(x, 0.5, noise_shape=(None, 1), seed=6)
    assert y.device == "cuda"
    y.sum().backward()
    np.testing.assert_array_equal(to_cpu(x.grad.data), to_cpu(y.data) / to_cpu(x.data))
    s = random.shuffle(x, axis=1, seed=7)
    assert s.device == "cuda"
    np.testing.assert_array_equal(np.sort(to_cpu(s.data), axis=1), to_cpu(x.data))


def test_errors_name_the_operation():
    from fastdl.keras import random
    with pytest.raises(TypeError, match="random_normal: the CUDA kernels take float32"):
        random.normal((2,), dtype="float64", device="cuda")
    with pytest.raises(TypeError, match="random_integers: out must be int32 or int64"):
        _kernels().random_integers(to_gpu(np.zeros(2, np.float32)), 1, 0, 3, _stream())
    with pytest.raises(ValueError, match=r"random_integers: the range \[3, 3\) is empty"):
        _cuda().random_integers((2,), np.int32, 1, 3, 3)
    with pytest.raises(TypeError, match="random_uniform: .*out"):
        _kernels().random_uniform(np.zeros(2, np.float32), 1, 0.0, 1.0, 0)
