"""GPU dropout: the mask against a NumPy Philox4x32-10 reference bit for bit, its statistics,
determinism and scaling, and the backward pass against the CPU kernel on the same mask. (The
CPU draws its masks from another generator, so the two devices' masks differ.)"""
import numpy as np
import pytest

from cuda_support import requires_gpu, to_cpu, to_gpu
from fastdl import _C

pytestmark = requires_gpu

_M32 = np.uint64(0xFFFFFFFF)


def _cuda():
    from fastdl.backend import cuda
    return cuda


def philox4x32_10(counter, key):
    """Philox4x32-10 (Salmon et al., SC 2011) on arrays: counter = four arrays of 32-bit words,
    key = two words; returns the four output words, as uint64 arrays."""
    c0, c1, c2, c3 = (np.asarray(c, np.uint64) for c in counter)
    k0, k1 = (np.uint64(k) for k in key)
    for round_ in range(10):
        if round_:
            k0 = (k0 + np.uint64(0x9E3779B9)) & _M32
            k1 = (k1 + np.uint64(0xBB67AE85)) & _M32
        p0 = np.uint64(0xD2511F53) * c0  # < 2^64: no wrap-around
        p1 = np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & _M32,
                          (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & _M32)
    return c0, c1, c2, c3


def expected_keep(n: int, p: float, seed: int) -> np.ndarray:
    """The documented mask: element i is kept when word i % 4 of Philox at counter i // 4,
    keyed by the seed's halves, is at least p * 2^32."""
    groups = np.arange((n + 3) // 4, dtype=np.uint64)
    zeros = np.zeros_like(groups)
    words = philox4x32_10((groups & _M32, groups >> np.uint64(32), zeros, zeros),
                          (seed & 0xFFFFFFFF, seed >> 32))
    draws = np.stack(words, axis=1).ravel()[:n]
    threshold = min(int(p * 2.0**32), 2**32 - 1)
    return (draws >= threshold).astype(np.uint8)


def test_reference_generator_gives_the_known_answers():
    # Random123's kat_vectors: counter, key -> output.
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for counter, key, want in cases:
        got = philox4x32_10([[c] for c in counter], key)
        assert [int(w[0]) for w in got] == list(want)


@pytest.mark.parametrize("n", [1, 3, 4, 5, 1023, 4097, 1 << 20])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5])
def test_mask_is_philox_and_output_is_scaled(n, p):
    seed = 0x9ABCDEF012345678
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    out, keep = _cuda().dropout_forward(to_gpu(x), p, seed)
    keep = to_cpu(keep)
    assert keep.dtype == np.uint8
    np.testing.assert_array_equal(keep, expected_keep(n, p, seed))
    scale = np.float32(1.0 / (1.0 - p))
    np.testing.assert_array_equal(to_cpu(out), np.where(keep == 1, x * scale, np.float32(0)))


def test_unaligned_arrays_and_other_shapes_give_the_same_mask():
    import cupy
    n, p, seed = 1001, 0.4, 77
    x = np.arange(n + 1, dtype=np.float32)
    gx = cupy.asarray(x)[1:]  # not 16-byte aligned: the element-by-element path
    out, keep = _cuda().dropout_forward(gx, p, seed)
    np.testing.assert_array_equal(to_cpu(keep), expected_keep(n, p, seed))
    _, keep2d = _cuda().dropout_forward(to_gpu(x[1:].copy().reshape(7, 143)), p, seed)
    np.testing.assert_array_equal(to_cpu(keep2d).ravel(), to_cpu(keep))
    # A shorter array gets a prefix of the mask: it depends on the index only.
    _, prefix = _cuda().dropout_forward(to_gpu(x[:100]), p, seed)
    np.testing.assert_array_equal(to_cpu(prefix), to_cpu(keep)[:100])


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_fraction_is_binomial(p):
    n = 1 << 22
    _, keep = _cuda().dropout_forward(to_gpu(np.ones(n, np.float32)), p, 2024)
    keep = to_cpu(keep).astype(bool)
    q = 1.0 - p

    def within_bounds(hits, trials, prob):  # six standard deviations of a binomial
        return abs(hits / trials - prob) <= 6 * np.sqrt(prob * (1 - prob) / trials)

    assert within_bounds(keep.sum(), n, q)
    # Neighbours are independent, inside a group of four draws and across groups.
    assert within_bounds((keep[0::2] & keep[1::2]).sum(), n // 2, q * q)
    assert within_bounds((keep[3:-1:4] & keep[4::4]).sum(), n // 4 - 1, q * q)


def test_same_seed_same_mask_other_seed_other_mask():
    x = to_gpu(np.ones(1 << 16, np.float32))
    _, a = _cuda().dropout_forward(x, 0.5, 123)
    _, b = _cuda().dropout_forward(x, 0.5, 123)
    _, c = _cuda().dropout_forward(x, 0.5, 124)
    _, d = _cuda().dropout_forward(x, 0.5, 123 + (1 << 32))  # the seed's high half counts
    a, b, c, d = map(to_cpu, (a, b, c, d))
    np.testing.assert_array_equal(a, b)
    for other in (c, d):
        assert 0.4 < (a != other).mean() < 0.6


def test_largest_seed():
    seed = 2**64 - 1
    _, keep = _cuda().dropout_forward(to_gpu(np.ones(37, np.float32)), 0.5, seed)
    np.testing.assert_array_equal(to_cpu(keep), expected_keep(37, 0.5, seed))


@pytest.mark.parametrize("n", [1, 5, 4096, 100003])
def test_backward_matches_cpu_on_the_same_mask(n):
    rng = np.random.default_rng(n)
    dy = rng.standard_normal(n).astype(np.float32)
    p = 0.25
    _, keep = _cuda().dropout_forward(to_gpu(np.ones(n, np.float32)), p, n)
    dx = _cuda().dropout_backward(to_gpu(dy), keep, p)
    np.testing.assert_array_equal(to_cpu(dx), _C.dropout_backward(dy, to_cpu(keep), p))


def test_p_zero_keeps_everything():
    x = np.linspace(-3, 3, 999, dtype=np.float32)
    out, keep = _cuda().dropout_forward(to_gpu(x), 0.0, 5)
    np.testing.assert_array_equal(to_cpu(keep), 1)
    np.testing.assert_array_equal(to_cpu(out), x)


def test_bad_inputs_raise_naming_the_operation():
    import cupy
    x = cupy.ones(8, cupy.float32)
    with pytest.raises(ValueError, match=r"dropout_forward: p must be in \[0, 1\)"):
        _cuda().dropout_forward(x, 1.0, 0)
    with pytest.raises(ValueError, match=r"dropout_backward: p must be in \[0, 1\)"):
        _cuda().dropout_backward(x, cupy.ones(8, cupy.uint8), -0.1)
    with pytest.raises(TypeError, match="dropout_forward: the CUDA kernels take float32"):
        _cuda().dropout_forward(cupy.ones(8, cupy.float64), 0.5, 0)
    with pytest.raises(RuntimeError, match="dropout_forward: expected every operand on the GPU"):
        _cuda().dropout_forward(np.ones(8, np.float32), 0.5, 0)
    with pytest.raises(TypeError, match="dropout_backward: keep must be the uint8 mask"):
        _cuda().dropout_backward(x, cupy.ones(8, cupy.float32), 0.5)
    with pytest.raises(ValueError, match=r"dropout_backward: grad has shape \(8,\) but keep has "
                                         r"shape \(7,\)"):
        _cuda().dropout_backward(x, cupy.ones(7, cupy.uint8), 0.5)
