"""Elementwise activation kernels beyond the table of operation cases (which checks values and
gradients against float64 references at awkward sizes, tests/test_op_cases.py): exact values
at the kinks, NaN, infinities, non-contiguous inputs, thread counts, the type rule and bad
input, on both kernel sets (the `isa` fixture)."""
import math

import numpy as np
import pytest

import fastdl
from fastdl import _C
from fastdl.backend import cpu

import reference as ref

NAMES = ["relu", "leaky_relu", "sigmoid", "tanh", "step", "gelu", "gelu_tanh"]
ALPHA = 0.2
USES_OUTPUT = {"sigmoid", "tanh"}


def sample(rng, n, dtype):
    # Spread wide enough to reach the saturated tails of sigmoid, tanh and gelu.
    return (rng.standard_normal(n) * 4).astype(dtype)


def forward(name, x):
    return _C.activation_forward(name, x, ALPHA)


def saved_for(name, x):
    """What the forward pass keeps for the backward: the output for sigmoid/tanh, else x."""
    return forward(name, x) if name in USES_OUTPUT else x


def test_kinks_have_exact_values(isa):
    for dtype in (np.float32, np.float64):
        x = np.array([-0.0, 0.0, -1.0, 1.0], dtype)
        ones = np.ones_like(x)
        np.testing.assert_array_equal(forward("relu", x), [0, 0, 0, 1])
        np.testing.assert_array_equal(_C.activation_backward("relu", ones, x), [0, 0, 0, 1])
        y = forward("relu", x)  # relu differentiates from its output too
        np.testing.assert_array_equal(_C.activation_backward("relu", ones, y), [0, 0, 0, 1])
        np.testing.assert_array_equal(
            _C.activation_backward("leaky_relu", ones, x, 0.25), [0.25, 0.25, 0.25, 1])
        np.testing.assert_array_equal(forward("step", x), [0, 0, 0, 1])
        np.testing.assert_array_equal(_C.activation_backward("step", ones * 7, x), [0, 0, 0, 0])
        # A zero derivative stays zero whatever the upstream gradient holds.
        bad = np.array([np.inf, np.nan, -np.inf, 1.0], dtype)
        assert _C.activation_backward("relu", bad, x)[:3].tolist() == [0, 0, 0]
        assert _C.activation_backward("step", bad, x).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_nan_passes_through(isa, name, dtype):
    x = np.array([1.0, np.nan, -2.0, 0.5, np.nan, 3.0, -1.0, 2.0, np.nan], dtype)
    nan = np.isnan(x)
    y = forward(name, x)
    assert np.array_equal(np.isnan(y), nan)
    dx = _C.activation_backward(name, np.ones_like(x), saved_for(name, x), ALPHA)
    assert np.array_equal(np.isnan(dx), nan)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_infinities_saturate(isa, dtype):
    x = np.array([-np.inf, np.inf], dtype)
    expected_forward = {"relu": [0, np.inf], "leaky_relu": [-np.inf, np.inf], "sigmoid": [0, 1],
                        "tanh": [-1, 1], "step": [0, 1], "gelu": [0, np.inf],
                        "gelu_tanh": [0, np.inf]}
    for name, expected in expected_forward.items():
        np.testing.assert_array_equal(forward(name, x), np.array(expected, dtype), err_msg=name)
    for name in ("gelu", "gelu_tanh"):
        dx = _C.activation_backward(name, np.ones_like(x), x)
        np.testing.assert_array_equal(dx, np.array([0, 1], dtype), err_msg=name)


def test_float32_tanh_is_odd_bounded_and_within_its_stated_ulps(isa):
    # The float32 tanh is a rational function of x^2 (csrc/cpu/activation/vector_math.h):
    # within 6 ulp of the exact value with FMA, 8 without (the portable build), exactly odd, and
    # never past +-1 (the gradient 1 - y^2 must not turn negative).
    x = np.concatenate([np.linspace(0, 10, 2_000_001, dtype=np.float32),
                        np.geomspace(1e-30, 1e-2, 10_001).astype(np.float32)])
    y = forward("tanh", x)
    exact = np.tanh(x.astype(np.float64))
    ulps = np.abs(y - exact) / np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert ulps.max() <= (8 if isa == "generic" else 6), (ulps.max(), x[ulps.argmax()])
    np.testing.assert_array_equal(forward("tanh", -x), -y)
    assert np.abs(y).max() <= 1


def test_float32_gelu_is_within_the_ulps_its_tail_conditioning_allows(isa):
    # x Phi(x) below 0 is x times a Gaussian tail, e^{-x^2/2} times a smooth factor: rounding
    # x^2 alone costs about x^2 / 2 ulp there. The kernel stays within 7 + x^2 / 2 ulp of the
    # exact value everywhere (7 near 0, from the roundings of the product), and is exactly 0
    # where that underflows.
    x = np.linspace(-40, 40, 200_001).astype(np.float32)
    exact = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    y = forward("gelu", x).astype(np.float64)
    underflows = exact.astype(np.float32) == 0
    assert np.all(y[underflows] == 0)
    spacing = np.spacing(np.abs(exact[~underflows]).astype(np.float32)).astype(np.float64)
    ulps = np.abs(y[~underflows] - exact[~underflows]) / spacing
    allowed = 7 + x[~underflows].astype(np.float64) ** 2 / 2
    assert np.all(ulps <= allowed), x[~underflows][np.argmax(ulps - allowed)]


def test_shapes_and_non_contiguous_inputs(isa, rng):
    base = rng.standard_normal((6, 10, 14)).astype(np.float32)
    for x in (base, base[:, ::2, 1::3], base.transpose(2, 0, 1), base[0], np.array(-1.5, np.float32)):
        for name in NAMES:
            y = forward(name, x)
            assert y.shape == np.shape(x) and y.dtype == np.float32 and y.flags.c_contiguous
            assert not np.shares_memory(y, x)
            np.testing.assert_allclose(y, ref.activation(name, x, ALPHA), rtol=1e-4, atol=1e-5)
            dy = np.ones_like(x)
            dx = _C.activation_backward(name, dy, saved_for(name, x), ALPHA)
            assert dx.shape == np.shape(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outputs_larger_than_the_caches_match_those_computed_in_pieces(isa, rng, dtype):
    # From 16 MiB the kernels store the output past the caches, from its first vector-aligned
    # element on: the values must be those of the same kernels on pieces below that size.
    n = (16 << 20) // np.dtype(dtype).itemsize + 13
    x = sample(rng, n, dtype)
    pieces = np.array_split(np.arange(n), 5)
    for name in ("relu", "tanh", "gelu"):
        y = forward(name, x)
        np.testing.assert_array_equal(y, np.concatenate([forward(name, x[p]) for p in pieces]))
        np.testing.assert_allclose(y[::997], ref.activation(name, x[::997], ALPHA), rtol=1e-4,
                                   atol=1e-5)
        saved = saved_for(name, x)
        dx = _C.activation_backward(name, x, saved, ALPHA)
        np.testing.assert_array_equal(dx, np.concatenate(
            [_C.activation_backward(name, x[p], saved[p], ALPHA) for p in pieces]))


def test_threads_give_identical_results(rng):
    x = sample(rng, 300001, np.float32)
    old = fastdl.get_num_threads()
    try:
        fastdl.set_num_threads(1)
        single = {name: forward(name, x) for name in NAMES}
        fastdl.set_num_threads(2)
        for name in NAMES:
            np.testing.assert_array_equal(forward(name, x), single[name])
    finally:
        fastdl.set_num_threads(old)


# ---------------------------------------------------------------- Python API


def test_lists_are_converted_by_the_type_rule():
    # The array kernels take lists as NumPy does (float64); the public ops as fastdl.tensor
    # does (float32).
    assert cpu.activation_forward("relu", [1.0, -1.0]).dtype == np.float64
    assert fastdl.relu([1.0, -1.0]).dtype == np.float32


def test_python_backward_promotes_mixed_dtypes():
    x = np.array([-1.0, 2.0], np.float64)
    dx = cpu.activation_backward("leaky_relu", np.ones(2, np.float32), x, alpha=0.5)
    assert dx.dtype == np.float64
    np.testing.assert_array_equal(dx, [0.5, 1.0])


def test_bad_dtype_names_op_dtype_and_shape():
    with pytest.raises(TypeError, match=r"relu.*int64.*\(3,\)"):
        fastdl.relu(np.arange(3, dtype=np.int64))
    with pytest.raises(TypeError, match=r"sigmoid: unsupported dtype int32 for x \(shape \(2, 2\)\)"):
        _C.activation_forward("sigmoid", np.zeros((2, 2), np.int32))
    with pytest.raises(TypeError, match=r"tanh_backward: grad has dtype float32 but saved has"):
        _C.activation_backward("tanh", np.zeros(2, np.float32), np.zeros(2))


def test_shape_mismatch_names_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"relu_backward: grad has shape \(2, 3\) but saved has "
                                         r"shape \(3, 2\)"):
        cpu.activation_backward("relu", np.zeros((2, 3)), np.zeros((3, 2)))


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        _C.activation_forward("swish", np.zeros(2))
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        cpu.activation_backward("swish", np.zeros(2), np.zeros(2))


# ---------------------------------------------------------------- GEMM epilogue


@pytest.mark.parametrize("activation", ["leaky_relu", "step", "gelu", "gelu_tanh"])
def test_gemm_epilogue_other_activations(isa, rng, activation):
    x = rng.standard_normal((23, 40)).astype(np.float32)
    w = (rng.standard_normal((40, 19)) / 6).astype(np.float32)
    y = _C.gemm(x, w, None, activation, 1.0, ALPHA)
    expected = ref.activation(activation, ref.matmul(x, w), ALPHA)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
