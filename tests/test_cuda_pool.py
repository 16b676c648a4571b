"""GPU pooling (fastdl.backend.cuda.pool) against the CPU kernels on identical inputs: the CPU
tests' windows, paddings and channel counts, ties, NaN, large and empty inputs, unaligned arrays
(the scalar path), and the errors, which must read as the CPU's word for word."""
import numpy as np
import pytest

import fastdl

from cuda_support import assert_matches_cpu, requires_gpu, to_cpu, to_gpu
from fastdl.backend import cpu
from fastdl.testing.op_cases.pool import CHANNELS, IMAGES, WINDOWS

pytestmark = requires_gpu

# 32 and 8 channels take the float4 path; the CPU tests' counts are not multiples of 4 or are 1.
GPU_CHANNELS = CHANNELS + [8, 32]


def _cuda():
    from fastdl.backend.cuda import pool
    return pool


def _unaligned(a: np.ndarray):
    """A C-contiguous GPU copy of `a` that starts 4 bytes past a 16-byte boundary."""
    import cupy
    flat = cupy.empty(a.size + 1, a.dtype)[1:]
    flat[...] = cupy.asarray(a.ravel())
    return flat.reshape(a.shape)


def _check_pools(x: np.ndarray, gx, pool, strides, padding, rng):
    """Every pooling of gx (a GPU copy of x) against the CPU's: maxima, argmaxes and their
    gradient exactly (the same comparisons and sums in the same order), averages within
    rounding."""
    y, argmax = _cuda().max_pool2d_with_argmax(gx, pool, strides, padding)
    y_cpu, argmax_cpu = cpu.max_pool2d_with_argmax(x, pool, strides, padding)
    np.testing.assert_array_equal(to_cpu(y), y_cpu)
    np.testing.assert_array_equal(to_cpu(argmax), argmax_cpu)
    np.testing.assert_array_equal(to_cpu(_cuda().max_pool2d(gx, pool, strides, padding)), y_cpu)
    g = rng.standard_normal(y_cpu.shape).astype(np.float32)
    np.testing.assert_array_equal(
        to_cpu(_cuda().max_pool2d_backward(to_gpu(g), argmax, x.shape, pool, strides, padding)),
        cpu.max_pool2d_backward(g, argmax_cpu, x.shape, pool, strides, padding))
    assert_matches_cpu(_cuda().avg_pool2d(gx, pool, strides, padding),
                       cpu.avg_pool2d(x, pool, strides, padding), rtol=1e-6, atol=1e-7)
    assert_matches_cpu(_cuda().avg_pool2d_backward(to_gpu(g), x.shape, pool, strides, padding),
                       cpu.avg_pool2d_backward(g, x.shape, pool, strides, padding), rtol=1e-6,
                       atol=1e-7)


@pytest.mark.parametrize("channels", GPU_CHANNELS)
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool,stride", WINDOWS)
def test_pools_match_cpu(rng, pool, stride, padding, channels):
    for n, h, w in IMAGES:
        x = rng.standard_normal((n, h, w, channels)).astype(np.float32)
        _check_pools(x, to_gpu(x), pool, stride, padding, rng)


@pytest.mark.parametrize("pool,strides,padding,size", [
    ((2, 3), (1, 2), "same", (6, 7)),
    ((3, 2), (2, 1), "same", (7, 6)),
    ((3, 1), (1, 3), "valid", (5, 7)),
    ((4, 4), (1, 1), "same", (5, 6)),
    ((3, 3), (3, 3), "valid", (8, 10)),
    ((2, 2), (3, 3), "valid", (7, 8)),
])
@pytest.mark.parametrize("channels", [11, 12])
def test_rectangular_windows(rng, pool, strides, padding, size, channels):
    x = rng.standard_normal((2,) + size + (channels,)).astype(np.float32)
    _check_pools(x, to_gpu(x), pool, strides, padding, rng)


@pytest.mark.parametrize("shape", [(64, 26, 26, 32), (256, 11, 11, 64), (1, 300, 200, 8)])
def test_mnist_sizes_and_a_large_image(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    _check_pools(x, to_gpu(x), 2, None, "valid", rng)


def test_unaligned_arrays_take_the_scalar_path(rng):
    x = rng.standard_normal((2, 9, 8, 16)).astype(np.float32)
    _check_pools(x, _unaligned(x), 3, 2, "same", rng)
    y, argmax = cpu.max_pool2d_with_argmax(x, 2)
    g = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_array_equal(
        to_cpu(_cuda().max_pool2d_backward(_unaligned(g), _unaligned(argmax), x.shape, 2)),
        cpu.max_pool2d_backward(g, argmax, x.shape, 2))


def test_ties_padding_and_nan_follow_the_cpu():
    ties = np.zeros((1, 3, 3, 9), np.float32)
    _, argmax = _cuda().max_pool2d_with_argmax(to_gpu(ties), 2, 1)
    assert np.array_equal(to_cpu(argmax)[0, :, :, 0], [[0, 1], [3, 4]])
    padded = np.full((1, 3, 3, 5), -np.inf, np.float32)
    y, argmax = _cuda().max_pool2d_with_argmax(to_gpu(padded), 2, 2, "same")
    assert (to_cpu(y) == -np.inf).all()
    assert np.array_equal(to_cpu(argmax)[0, :, :, 0], [[0, 2], [6, 8]])
    x = np.arange(16 * 12, dtype=np.float32).reshape(1, 4, 4, 12)
    x[0, 0, 1, 3] = x[0, 1, 0, 3] = x[0, 3, 3, 9] = np.nan
    for gx in (to_gpu(x), _unaligned(x)):
        y, argmax = _cuda().max_pool2d_with_argmax(gx, 2)
        want_y, want_argmax = cpu.max_pool2d_with_argmax(x, 2)
        np.testing.assert_array_equal(to_cpu(y), want_y)  # NaN compares equal here
        np.testing.assert_array_equal(to_cpu(argmax), want_argmax)
        assert to_cpu(argmax)[0, 0, 0, 3] == 1
        assert np.array_equal(np.isnan(to_cpu(_cuda().avg_pool2d(gx, 2))),
                              np.isnan(cpu.avg_pool2d(x, 2)))


def test_overlapping_windows_add_their_gradients():
    x = np.zeros((1, 3, 3, 2), np.float32)
    x[0, 1, 1] = 1.0
    y, argmax = _cuda().max_pool2d_with_argmax(to_gpu(x), 2, 1)
    g = np.arange(1, 9, dtype=np.float32).reshape(y.shape)
    dx = to_cpu(_cuda().max_pool2d_backward(to_gpu(g), argmax, x.shape, 2, 1))
    assert dx[0, 1, 1].tolist() == [1 + 3 + 5 + 7, 2 + 4 + 6 + 8]
    assert np.count_nonzero(dx) == 2


def test_argmax_outside_its_window_contributes_nothing():
    y, argmax = _cuda().max_pool2d_with_argmax(to_gpu(np.ones((1, 4, 4, 2), np.float32)), 2)
    argmax[...] = to_gpu(np.array([[-7, 2**31 - 1]], np.int32))
    assert not to_cpu(_cuda().max_pool2d_backward(y, argmax, (1, 4, 4, 2), 2)).any()


@pytest.mark.parametrize("shape", [(0, 4, 4, 3), (2, 4, 4, 0)])
def test_empty_batch_or_channels(shape):
    gx = to_gpu(np.zeros(shape, np.float32))
    y, argmax = _cuda().max_pool2d_with_argmax(gx, 2)
    assert y.shape == argmax.shape == (shape[0], 2, 2, shape[3])
    assert _cuda().max_pool2d_backward(y, argmax, shape, 2).shape == shape
    assert _cuda().avg_pool2d(gx, 2).shape == y.shape
    assert _cuda().avg_pool2d_backward(y, shape, 2).shape == shape


@pytest.mark.parametrize("fn", ["max_pool2d", "avg_pool2d"])
def test_channels_first_is_the_transposed_channels_last(rng, fn):
    x = rng.standard_normal((2, 5, 7, 6)).astype(np.float32)
    gpu_x = fastdl.tensor(x, device="cuda")
    got = getattr(fastdl, fn)(gpu_x, 3, 2, "same", data_format="channels_first")
    want = getattr(fastdl, fn)(x, 3, 2, "same", data_format="channels_first")
    assert_matches_cpu(got.data, want.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_pools_match_cpu(rng, keepdims, data_format):
    x = rng.standard_normal((3, 5, 4, 6)).astype(np.float32)
    for fn in ("global_avg_pool2d", "global_max_pool2d"):
        got = getattr(fastdl, fn)(fastdl.tensor(x, device="cuda"), keepdims, data_format)
        assert got.dtype == np.float32 and got.device == "cuda"
        assert_matches_cpu(got.data, getattr(fastdl, fn)(x, keepdims, data_format).numpy(),
                           rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- errors


def _same_error(cpu_call, gpu_call):
    """Both calls raise the same exception with the same message."""
    with pytest.raises(Exception) as want:
        cpu_call()
    with pytest.raises(want.type) as got:
        gpu_call()
    assert str(got.value) == str(want.value)


def _first(x):
    return x[0]


def _plane(x):
    return x[0, :, :, 0]


def _whole(x):
    return x


@pytest.mark.parametrize("fn", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("view,args,kwargs", [
    (_first, (), {}),
    (_plane, (), {}),
    (_whole, (5,), {}),
    (_whole, ((2, 5), 1), {}),
    (_whole, (0,), {}),
    (_whole, (2, (1, -1)), {}),
    (_whole, (2,), {"padding": "full"}),
    (_whole, (2,), {"padding": 1}),
    (_whole, (2.0,), {}),
    (_whole, (2, (1, 2, 3)), {}),
    (_whole, (True,), {}),
    (_whole, (), {"data_format": "NHWC"}),
    (_first, (), {"data_format": "channels_first"}),
])
def test_errors_read_as_the_cpu_s(fn, view, args, kwargs):
    x = np.zeros((1, 4, 4, 3), np.float32)
    _same_error(lambda: getattr(cpu, fn)(view(x), *args, **kwargs),
                lambda: getattr(_cuda(), fn)(view(to_gpu(x)), *args, **kwargs))


_X_SHAPE = (1, 4, 4, 3)
_Y, _ARGMAX = np.zeros((1, 2, 2, 3), np.float32), np.zeros((1, 2, 2, 3), np.int32)


@pytest.mark.parametrize("fn,args", [
    ("max_pool2d_backward", (np.zeros((1, 3, 3, 3), np.float32), _ARGMAX, _X_SHAPE, 2)),
    ("max_pool2d_backward", (_Y, _ARGMAX[..., 0], _X_SHAPE, 2)),
    ("max_pool2d_backward", (_Y, _ARGMAX.astype(np.int64), _X_SHAPE, 2)),
    ("max_pool2d_backward", (_Y, _ARGMAX, _X_SHAPE[1:], 2)),
    ("max_pool2d_backward", (_Y, _ARGMAX, _X_SHAPE, 2, (1, 0))),
    ("avg_pool2d_backward", (_Y, (1, 4, -4, 3), 2)),
    ("avg_pool2d_backward", (_Y, _X_SHAPE, 3, 1, "same")),
    ("avg_pool2d_backward", (_Y, (1, 4, 4), 2)),
])
def test_backward_errors_read_as_the_cpu_s(fn, args):
    gpu_args = tuple(to_gpu(a) if isinstance(a, np.ndarray) else a for a in args)
    _same_error(lambda: getattr(cpu, fn)(*args), lambda: getattr(_cuda(), fn)(*gpu_args))


def test_windows_beyond_32_bit_arithmetic_are_refused():
    x = np.ones((1, 4, 4, 1), np.float32)
    assert cpu.max_pool2d(x, (2**30, 1), 1, "same").shape == x.shape
    with pytest.raises(ValueError, match=r"max_pool2d: an input of shape \(1, 4, 4, 1\) with "
                                         r"pool_size \(1073741824, 1\).* is beyond the CUDA"):
        _cuda().max_pool2d(to_gpu(x), (2**30, 1), 1, "same")


def test_cpu_arrays_and_float64_are_refused():
    import cupy
    with pytest.raises(RuntimeError, match="max_pool2d: expected every operand on the GPU"):
        _cuda().max_pool2d(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(TypeError, match="avg_pool2d: the CUDA kernels take float32"):
        _cuda().avg_pool2d(cupy.zeros((1, 4, 4, 3)))
    y, argmax = _cuda().max_pool2d_with_argmax(cupy.zeros((1, 4, 4, 3), np.float32), 2)
    with pytest.raises(RuntimeError, match="max_pool2d_backward: expected argmax on the GPU"):
        _cuda().max_pool2d_backward(y, to_cpu(argmax), (1, 4, 4, 3), 2)
