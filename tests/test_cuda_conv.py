"""GPU convolution (fastdl.backend.cuda.conv) against the CPU kernels on identical inputs (the CPU
computing in float64): the CPU tests' awkward geometries and the MNIST CNN's layers, forward,
dx, dw and db, fused activations, the convolution followed by max pooling, and the errors."""
import numpy as np
import pytest

from cuda_support import requires_gpu, to_cpu, to_gpu
from fastdl.backend import cpu
from fastdl.backend.geometry import conv2d_geometry
from fastdl.ops.convolution import conv2d_gradients
from fastdl.testing.op_cases.conv import CONV2D_GEOMETRIES as CASES
from fastdl.testing.op_cases.conv import CONV_POOL_GEOMETRIES as CONV_POOL_CASES

pytestmark = requires_gpu

# (batch, height, width, in_channels, kernel_h, kernel_w, out_channels, strides, padding,
#  dilation), beyond the CPU tests' cases: the GPU's paths and tile edges.
GPU_CASES = [
    # the MNIST CNN's convolutions: one input channel (the direct kernels), then 32 -> 64
    # channels (float4 loads) at batch 64 (32-row tiles) and 256 (64-row tiles)
    (64, 28, 28, 1, 3, 3, 32, 1, "valid", 1),
    (64, 13, 13, 32, 3, 3, 64, 1, "valid", 1),
    (256, 13, 13, 32, 3, 3, 64, 1, "valid", 1),
    # output channels past a tile: float4 with a partial tile, then scalars
    (3, 10, 11, 8, 3, 3, 68, 1, "same", 1),
    (2, 9, 9, 12, 3, 3, 65, 2, "same", 1),
    # float4 loads with strides, dilation and uneven padding
    (2, 17, 15, 8, 3, 3, 16, (2, 3), ((1, 2), (0, 3)), (2, 1)),
    # a large image, batch 1
    (1, 150, 130, 4, 5, 5, 24, 2, "same", 1),
    # a pointwise product over many channels; one input channel with a patch too long for the
    # direct kernels; three input channels (direct) with many output channels
    (2, 16, 16, 96, 1, 1, 40, 1, "valid", 1),
    (2, 20, 20, 1, 7, 7, 16, 1, "same", 1),
    (4, 32, 32, 3, 3, 3, 96, 1, "same", 1),
    # two input channels with float4 loads of dy and w in the direct input gradient
    (2, 11, 9, 2, 3, 3, 8, (1, 2), "same", 1),
]
ACTIVATIONS = ["relu", "sigmoid", "tanh"]


def _cuda():
    from fastdl.backend.cuda import conv
    return conv


def _arrays(rng, case):
    n, h, w, c, kh, kw, co = case[:7]
    return (rng.standard_normal((n, h, w, c)).astype(np.float32),
            (rng.standard_normal((kh, kw, c, co)) * 0.3).astype(np.float32),
            rng.standard_normal(co).astype(np.float32))


def _f64(*arrays):
    return [None if a is None else np.asarray(a, np.float64) for a in arrays]


def _gpu(*arrays):
    return [None if a is None else to_gpu(a) for a in arrays]


def _close(got, want, reduction):
    """float32 against float64: the error of a sum grows with the square root of its length."""
    got = to_cpu(got)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * np.sqrt(max(reduction, 1)))


def _reductions(k, y_shape):
    """The lengths of the sums behind y (a patch), dx and dw/db (every output pixel)."""
    kh, kw, c, co = k.shape
    pixels = y_shape[0] * y_shape[1] * y_shape[2]
    return kh * kw * c, kh * kw * co, pixels


@pytest.mark.parametrize("case", CASES + GPU_CASES)
def test_forward_and_gradients_match_cpu(rng, case):
    x, k, b = _arrays(rng, case)
    geometry = conv2d_geometry(x.shape, k.shape, *case[7:])
    want = cpu.conv2d_forward(*_f64(x, k, b), *geometry)
    forward, backward_x, backward_w = _reductions(k, want.shape)
    _close(_cuda().conv2d_forward(*_gpu(x, k, b), *geometry), want, forward)
    _close(_cuda().conv2d_forward(*_gpu(x, k), None, *geometry), want - b, forward)
    dy = rng.standard_normal(want.shape).astype(np.float32)
    dx, dw, db = _cuda().conv2d_backward(*_gpu(dy, x, k), *geometry)
    want_dx, want_dw, want_db = cpu.conv2d_backward(*_f64(dy, x, k), *geometry)
    _close(dx, want_dx, backward_x)
    _close(dw, want_dw, backward_w)
    _close(db, want_db, backward_w)


@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[-3], GPU_CASES[0], GPU_CASES[1],
                                  GPU_CASES[4]])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("need_x", [True, False], ids=["with dx", "first layer"])
def test_fused_activation(rng, case, activation, need_x):
    x, k, b = _arrays(rng, case)
    geometry = conv2d_geometry(x.shape, k.shape, *case[7:])
    y = _cuda().conv2d_forward(*_gpu(x, k, b), *geometry, activation)
    want = cpu.conv2d_forward(*_f64(x, k, b), *geometry, activation)
    forward, backward_x, backward_w = _reductions(k, want.shape)
    _close(y, want, forward)
    # Both sides differentiate from the GPU's output, so that a value at relu's kink cannot
    # fall on different sides of it.
    dy = rng.standard_normal(want.shape).astype(np.float32)
    got = conv2d_gradients(_cuda(), to_gpu(dy), *_gpu(x, k), geometry, (need_x, True, True),
                           activation, y)
    want = conv2d_gradients(cpu, *_f64(dy, x, k), geometry, (need_x, True, True), activation,
                            to_cpu(y).astype(np.float64))
    if need_x:
        _close(got[0], want[0], backward_x)
    else:
        assert got[0] is None
    _close(got[1], want[1], backward_w)
    _close(got[2], want[2], backward_w)


def test_gradients_asked_for_alone(rng):
    case = GPU_CASES[1]
    x, k, _ = _arrays(rng, case)
    geometry = conv2d_geometry(x.shape, k.shape, *case[7:])
    y = _cuda().conv2d_forward(*_gpu(x, k), None, *geometry, "relu")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    out = to_cpu(y).astype(np.float64)
    for need in ([True, False, False], [False, True, False], [False, False, True]):
        got = conv2d_gradients(_cuda(), to_gpu(dy), *_gpu(x, k), geometry, need, "relu", y)
        want = conv2d_gradients(cpu, *_f64(dy, x, k), geometry, need, "relu", out)
        for g, w, r in zip(got, want, _reductions(k, y.shape)[1:] + (y[..., 0].size,)):
            if w is None:
                assert g is None
            else:
                _close(g, w, r)


def test_unaligned_and_non_contiguous_operands(rng):
    import cupy
    case = GPU_CASES[5]
    x, k, b = _arrays(rng, case)
    geometry = conv2d_geometry(x.shape, k.shape, *case[7:])
    want = cpu.conv2d_forward(*_f64(x, k, b), *geometry)

    def unaligned(a):  # contiguous, 4 bytes past a 16-byte boundary: the scalar path
        flat = cupy.empty(a.size + 1, np.float32)[1:]
        flat[...] = cupy.asarray(a.ravel())
        return flat.reshape(a.shape)

    forward, backward_x, backward_w = _reductions(k, want.shape)
    _close(_cuda().conv2d_forward(unaligned(x), unaligned(k), to_gpu(b), *geometry), want, forward)
    transposed = cupy.asarray(np.ascontiguousarray(x.transpose(0, 2, 1, 3))).transpose(0, 2, 1, 3)
    _close(_cuda().conv2d_forward(transposed, to_gpu(k), to_gpu(b), *geometry), want, forward)
    dy = rng.standard_normal(want.shape).astype(np.float32)
    got = _cuda().conv2d_backward(unaligned(dy), unaligned(x), unaligned(k), *geometry)
    for g, w, r in zip(got, cpu.conv2d_backward(*_f64(dy, x, k), *geometry),
                       (backward_x, backward_w, backward_w)):
        _close(g, w, r)


@pytest.mark.parametrize("case", CONV_POOL_CASES)
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_convolution_with_max_pooling_matches_cpu(rng, case, activation):
    x, k, b = _arrays(rng, case)
    geometry = conv2d_geometry(x.shape, k.shape, *case[7:10])
    pooling = case[10:]
    y, argmax = _cuda().conv2d_max_pool2d(*_gpu(x, k, b), *geometry, activation, *pooling)
    want, _ = cpu.conv2d_max_pool2d(*_f64(x, k, b), *geometry, activation, *pooling)
    forward, backward_x, _ = _reductions(k, want.shape)
    _close(y, want, forward)
    # The pooling of the GPU's convolution, exactly: the same maxima at the same positions.
    conv = to_cpu(_cuda().conv2d_forward(*_gpu(x, k, b), *geometry, activation))
    want_y, want_argmax = cpu.max_pool2d_with_argmax(conv, *pooling)
    np.testing.assert_array_equal(to_cpu(y), want_y)
    np.testing.assert_array_equal(to_cpu(argmax), want_argmax)

    dy = rng.standard_normal(want_y.shape).astype(np.float32)
    for need_x in (True, False):
        got = _cuda().conv2d_max_pool2d_backward(to_gpu(dy), *_gpu(x, k), y, argmax, *geometry,
                                                 activation, *pooling, need_x, True, True)
        want = cpu.conv2d_max_pool2d_backward(*_f64(dy, x, k, want_y), want_argmax, *geometry,
                                              activation, *pooling, need_x, True, True)
        reductions = (backward_x, conv[..., 0].size, conv[..., 0].size)
        for g, w, r in zip(got, want, reductions):
            if w is None:
                assert g is None
            else:
                _close(g, w, r)


# ---------------------------------------------------------------- errors


def _same_error(cpu_call, gpu_call):
    """Both calls raise the same exception with the same message."""
    with pytest.raises(Exception) as want:
        cpu_call()
    with pytest.raises(want.type) as got:
        gpu_call()
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("x_shape,w_shape,b_shape,kwargs", [
    ((28, 28, 1), (3, 3, 1, 8), None, {}),
    ((1, 2, 2, 1), (3, 3, 1, 8), None, {}),
    ((1, 8, 8, 3), (3, 3, 4, 8), None, {}),
    ((1, 8, 8, 3), (3, 3, 3, 8), None, {"strides": 0}),
    ((1, 8, 8, 3), (3, 3, 3, 8), None, {"strides": (1, -2)}),
    ((1, 8, 8, 3), (3, 3, 3, 8), None, {"dilation": 0}),
    ((1, 8, 8, 3), (3, 3, 3, 8), None, {"padding": -1}),
    ((1, 8, 8, 3), (3, 3, 3), None, {}),
    ((1, 8, 8, 3), (0, 3, 3, 8), None, {}),
    ((1, 8, 8, 3), (3, 3, 3, 8), (7,), {}),
    ((1, 8, 8, 3), (3, 3, 3, 8), None, {"activation": "softplus"}),
])
def test_forward_errors_read_as_the_cpu_s(x_shape, w_shape, b_shape, kwargs):
    geometry = conv2d_geometry(x_shape, w_shape, kwargs.get("strides", 1),
                                   kwargs.get("padding", "valid"), kwargs.get("dilation", 1))
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    b = None if b_shape is None else np.zeros(b_shape, np.float32)
    activation = kwargs.get("activation")
    _same_error(lambda: cpu.conv2d_forward(x, w, b, *geometry, activation),
                lambda: _cuda().conv2d_forward(*_gpu(x, w, b), *geometry, activation))


@pytest.mark.parametrize("need_x,activation,wrong_dy", [
    (True, None, True),    # the input gradient's dy check
    (False, None, True),   # the weight gradient's
    (False, "relu", False),  # an activation without its output
])
def test_backward_errors_read_as_the_cpu_s(rng, need_x, activation, wrong_dy):
    x, k, _ = _arrays(rng, CASES[0])
    geometry = conv2d_geometry(x.shape, k.shape, *CASES[0][7:])
    dy = cpu.conv2d_forward(x, k, None, *geometry)
    if wrong_dy:
        dy = dy[:, 1:].copy()
    _same_error(
        lambda: cpu.conv2d_backward(dy, x, k, *geometry, need_x, True, True, activation, None),
        lambda: _cuda().conv2d_backward(*_gpu(dy, x, k), *geometry, need_x, True, True,
                                        activation, None))


def test_geometry_beyond_32_bit_counts_is_refused():
    x, w = np.ones((1, 4, 4, 1), np.float32), np.ones((1, 1, 1, 1), np.float32)
    geometry = conv2d_geometry(x.shape, w.shape, (2**30, 1), "valid", 1)
    assert cpu.conv2d_forward(x, w, None, *geometry).shape == (1, 1, 4, 1)
    with pytest.raises(ValueError, match="conv2d: .* is beyond the CUDA kernels"):
        _cuda().conv2d_forward(*_gpu(x, w), None, *geometry)


def test_cpu_arrays_and_float64_are_refused(rng):
    import cupy
    x, k, _ = _arrays(rng, CASES[0])
    geometry = conv2d_geometry(x.shape, k.shape, 1, "valid", 1)
    with pytest.raises(RuntimeError, match="conv2d: expected every operand on the GPU"):
        _cuda().conv2d_forward(x, to_gpu(k), None, *geometry)
    with pytest.raises(TypeError, match="conv2d: the CUDA kernels take float32"):
        _cuda().conv2d_forward(cupy.asarray(x, np.float64), to_gpu(k), None, *geometry)
