"""keras.random on the CPU: the fills against a NumPy model of the counter-based stream (the one
dropout draws its masks from), the same values for any thread count and ISA, the distributions'
statistics, Keras's seeding semantics and API, and the errors.

Statistical checks fail by chance less than once in a million runs: each test's tolerance is the
number of standard deviations (about 5) that all its checks together exceed with probability
below 1e-6, and the Kolmogorov-Smirnov bound is the Dvoretzky-Kiefer-Wolfowitz inequality's at
that probability.
"""
import math

import numpy as np
import pytest

import fastdl
from fastdl import _C
from fastdl import random as fastdl_random
from fastdl.keras import random

_M32 = np.uint64(0xFFFFFFFF)
FAILURE_PROBABILITY = 1e-6


# --------------------------------------------------------------------------- helpers

def sigmas(checks: int = 1) -> float:
    """Standard deviations z such that `checks` two-sided normal checks all pass but with
    probability below FAILURE_PROBABILITY (4.9 for one check, 5.3 for ten)."""
    lo, hi = 0.0, 20.0
    for _ in range(100):
        z = (lo + hi) / 2
        lo, hi = (z, hi) if checks * math.erfc(z / math.sqrt(2)) > FAILURE_PROBABILITY else (lo, z)
    return hi


def ks_statistic(samples: np.ndarray, cdf) -> float:
    """sup |empirical CDF - cdf|."""
    x = np.sort(np.asarray(samples, np.float64))
    f = cdf(x)
    n = len(x)
    return max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max())


def ks_bound(n: int, checks: int = 1) -> float:
    """P(KS statistic > bound) <= 2 exp(-2 n bound^2) (DKW), below the failure probability."""
    return math.sqrt(math.log(2 * checks / FAILURE_PROBABILITY) / (2 * n))


_erf = np.frompyfunc(math.erf, 1, 1)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.asarray(_erf(np.asarray(x) / math.sqrt(2)), np.float64))


def truncated_normal_moments(a: float = 2.0) -> tuple:
    """E[X^2], E[X^4] of a standard normal conditioned on |X| <= a (by parts:
    E[X^2k] = (2k - 1) E[X^(2k-2)] - 2 a^(2k-1) phi(a) / Z)."""
    z = math.erf(a / math.sqrt(2))
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    m2 = 1 - 2 * a * phi / z
    return m2, 3 * m2 - 2 * a ** 3 * phi / z


def assert_moments(x: np.ndarray, mean: float, var: float, fourth: float, z: float) -> None:
    """The sample mean and variance within z standard errors of the distribution's (fourth:
    its fourth central moment, which gives the variance's standard error)."""
    x = np.asarray(x, np.float64)
    n = len(x)
    assert abs(x.mean() - mean) < z * math.sqrt(var / n)
    assert abs(x.var() - var) < z * math.sqrt((fourth - var * var) / n)


def assert_uncorrelated(a: np.ndarray, b: np.ndarray, z: float) -> None:
    """The sample correlation within z of its standard error 1 / sqrt(n) around 0."""
    assert abs(np.corrcoef(a, b)[0, 1]) < z / math.sqrt(len(a))


# A NumPy model of the CPU stream (csrc/cpu/random/stream.h) and the layout of
# csrc/include/fastdl/random.h.

def _mix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(16))
    h = (h * np.uint64(0x7FEB352D)) & _M32
    h = h ^ (h >> np.uint64(15))
    h = (h * np.uint64(0x846CA68B)) & _M32
    return h ^ (h >> np.uint64(16))


def stream_words(key: int, index: np.ndarray) -> np.ndarray:
    """word(key, i) as uint64 arrays."""
    index = np.asarray(index, np.uint64)
    k0 = np.uint64(key & 0xFFFFFFFF) ^ _mix32(((index >> np.uint64(32)) + np.uint64(0x9E3779B9))
                                              & _M32)
    return _mix32(_mix32((index & _M32) ^ k0) ^ np.uint64(key >> 32))


def words64(key: int, n: int, first_word: int = 0, step: int = 2) -> np.ndarray:
    """The 64-bit numbers of words (first + step i, first + step i + 1) as Python ints."""
    w = stream_words(key, first_word + step * np.arange(n)[:, None] + np.arange(2))
    return [(int(hi) << 32) | int(lo) for hi, lo in w]


def reference_normals(key: int, n: int, dtype) -> np.ndarray:
    """Box-Muller in float64 on the words the kernel uses for each pair."""
    pairs = (n + 1) // 2
    if dtype == np.float32:
        w = stream_words(key, np.arange(2 * pairs)).astype(np.float64)
        u, turn = (np.floor(w[0::2] / 256) + 1) / 2**24, w[1::2] / 2**32
    else:
        b = np.array(words64(key, 2 * pairs), dtype=object)
        u = np.array([((x >> 11) + 1) / 2**53 for x in b[0::2]])
        turn = np.array([(x >> 11) / 2**53 for x in b[1::2]])
    r = np.sqrt(-2 * np.log(u))
    return np.stack([r * np.cos(2 * np.pi * turn), r * np.sin(2 * np.pi * turn)], 1).ravel()[:n]


def redraw_key(key: int, round_: int) -> int:
    return (key + round_ * 0x9E3779B97F4A7C15) & ((1 << 64) - 1)


KEY = 0x243F6A8885A308D3  # a well-mixed 64-bit key, as fastdl.random makes them
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


# --------------------------------------------------------------------------- the stream

def test_dropout_and_the_fills_draw_from_one_stream():
    n = 4099
    words = stream_words(KEY, np.arange(n))
    keep = _C.dropout_forward(np.ones(n, np.float32), 0.25, KEY)[1]
    np.testing.assert_array_equal(keep, (words >= 2**30).astype(np.uint8))
    uniform = _C.random_uniform((n,), F32, KEY, 0.0, 1.0)
    np.testing.assert_array_equal(uniform, (words >> np.uint64(8)).astype(np.float32) / 2**24)


def test_float64_uniforms_take_53_bits_from_two_words():
    got = _C.random_uniform((1001,), F64, KEY, 0.0, 1.0)
    np.testing.assert_array_equal(got, [(b >> 11) / 2**53 for b in words64(KEY, 1001)])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("low, high", [(0, 1), (-7, 13), (-2**31, 2**31 - 1)])
def test_integers_scale_64_random_bits_onto_the_range(dtype, low, high):
    got = _C.random_integers((999,), np.dtype(dtype), KEY, low, high)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [low + (b * (high - low) >> 64) for b in words64(KEY, 999)])


def test_full_int64_range():
    low, high = -2**63, 2**63 - 1
    got = _C.random_integers((257,), np.dtype(np.int64), KEY, low, high)
    np.testing.assert_array_equal(got, [low + (b * (high - low) >> 64) for b in words64(KEY, 257)])


@pytest.mark.parametrize("dtype, tol", [(F32, 1e-6), (F64, 1e-12)])
def test_normals_are_box_muller_on_the_documented_words(dtype, tol):
    n = 1001  # odd: the last pair loses its second value
    got = _C.random_normal((n,), dtype, KEY, 0.0, 1.0)
    np.testing.assert_allclose(got, reference_normals(KEY, n, dtype), rtol=tol, atol=tol)
    scaled = _C.random_normal((n,), dtype, KEY, -3.0, 0.5)
    np.testing.assert_allclose(scaled, -3.0 + 0.5 * got.astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_truncated_normals_redraw_the_values_outside_two_from_their_pair(dtype):
    n = 2000
    got = _C.random_truncated_normal((n,), dtype, KEY, 0.0, 1.0)
    first = _C.random_normal((n,), dtype, KEY, 0.0, 1.0)
    inside = np.abs(first) <= 2
    assert 0 < (~inside).sum() < n
    np.testing.assert_array_equal(got[inside], first[inside])
    for i in np.flatnonzero(~inside):
        round_ = 1
        while abs(value := _C.random_normal((n,), dtype, redraw_key(KEY, round_), 0.0, 1.0)[i]) > 2:
            round_ += 1
        assert got[i] == value


FILLS = [
    ("uniform", F32, lambda n, d: _C.random_uniform((n,), d, KEY, -2.0, 3.0)),
    ("uniform", F64, lambda n, d: _C.random_uniform((n,), d, KEY, -2.0, 3.0)),
    ("normal", F32, lambda n, d: _C.random_normal((n,), d, KEY, 1.0, 1e-3)),
    ("normal", F64, lambda n, d: _C.random_normal((n,), d, KEY, 1.0, 1e-3)),
    ("truncated", F32, lambda n, d: _C.random_truncated_normal((n,), d, KEY, 0.0, 2.0)),
    ("truncated", F64, lambda n, d: _C.random_truncated_normal((n,), d, KEY, 0.0, 2.0)),
    ("integers", np.dtype(np.int32), lambda n, d: _C.random_integers((n,), d, KEY, -5, 1000)),
    ("integers", np.dtype(np.int64), lambda n, d: _C.random_integers((n,), d, KEY, -5, 2**40)),
]


@pytest.mark.parametrize("fill", FILLS, ids=[f"{name}-{d}" for name, d, _ in FILLS])
def test_values_are_the_same_for_any_thread_count_isa_and_length(fill, isa):
    _, dtype, draw = fill
    n = 300_001  # large enough to be split across threads
    results = []
    for threads in (1, 2, 3):
        previous = fastdl.get_num_threads()
        fastdl.set_num_threads(threads)
        try:
            results.append(draw(n, dtype))
        finally:
            fastdl.set_num_threads(previous)
    _C.set_isa("generic")
    results.append(draw(n, dtype))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    # A prefix is the same: value i does not depend on the array's length.
    np.testing.assert_array_equal(draw(1001, dtype), results[0][:1001])


def test_uniforms_stay_below_high_where_rounding_would_reach_it():
    # u (high - low) + low rounds up to high for the largest u when low dwarfs the span.
    got = _C.random_uniform((100_000,), F32, KEY, 1e8, 1e8 + 64)
    assert got.max() < np.float32(1e8 + 64)
    np.testing.assert_array_equal(_C.random_uniform((5,), F32, KEY, 2.0, 2.0), 2.0)


def test_subnormal_results_are_flushed_to_zero():
    tiny = float(np.finfo(np.float32).tiny)  # the smallest normal float32
    got = _C.random_uniform((10_000,), F32, KEY, 0.0, tiny)
    assert ((got == 0) | (got >= tiny)).all() and (got == 0).mean() > 0.99


# --------------------------------------------------------------------------- distributions

N = 1_000_000
KS_N = 1 << 17


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_statistics(dtype):
    z = sigmas(3)
    u = random.uniform((N,), dtype=dtype, seed=11).numpy()
    assert u.dtype == dtype and u.min() >= 0 and u.max() < 1
    assert_moments(u, 0.5, 1 / 12, 1 / 80, z)
    assert ks_statistic(u[:KS_N], lambda x: x) < ks_bound(KS_N, 3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_statistics(dtype):
    z = sigmas(5)
    x = random.normal((N,), dtype=dtype, seed=12).numpy()
    assert x.dtype == dtype
    assert_moments(x, 0.0, 1.0, 3.0, z)
    assert ks_statistic(x[:KS_N], normal_cdf) < ks_bound(KS_N, 5)
    # The tails: the share beyond 3 standard deviations, a binomial proportion.
    p = math.erfc(3 / math.sqrt(2))
    assert abs((np.abs(x) > 3).mean() - p) < z * math.sqrt(p * (1 - p) / N)
    y = random.normal((N,), mean=-4.0, stddev=0.25, dtype=dtype, seed=12).numpy()
    np.testing.assert_allclose(y, -4.0 + 0.25 * x.astype(np.float64), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_truncated_normal_statistics(dtype):
    z = sigmas(3)
    x = random.truncated_normal((N,), dtype=dtype, seed=13).numpy()
    assert x.dtype == dtype and np.abs(x).max() <= 2
    m2, m4 = truncated_normal_moments(2.0)
    assert_moments(x, 0.0, m2, m4, z)
    mass, below = math.erf(math.sqrt(2)), math.erfc(math.sqrt(2)) / 2  # P(|X| <= 2), P(X < -2)
    assert ks_statistic(x[:KS_N], lambda v: (normal_cdf(v) - below) / mass) < ks_bound(KS_N, 3)
    scaled = random.truncated_normal((N,), mean=10.0, stddev=3.0, dtype=dtype, seed=13).numpy()
    assert np.abs(scaled - 10.0).max() <= 6.0 * (1 + 1e-6)


@pytest.mark.parametrize("low, high", [(0, 10), (-3, 4), (5, 6)])
def test_randint_range_and_uniformity(low, high):
    values = random.randint((N,), low, high, seed=14).numpy()
    assert values.dtype == np.int32 and values.min() >= low and values.max() < high
    k = high - low
    counts = np.bincount(values - low, minlength=k)
    p = 1 / k
    # Every value's count, a binomial, within z standard deviations of N / k (all k together).
    z = sigmas(k)
    assert (np.abs(counts - N * p) < z * math.sqrt(N * p * (1 - p)) + 1e-9).all()


def test_no_correlation_between_neighbours_or_seeds():
    checks = 4 * 4 + 3
    z = sigmas(checks)
    for draw in (lambda s: random.uniform((N,), seed=s), lambda s: random.normal((N,), seed=s),
                 lambda s: random.truncated_normal((N,), seed=s),
                 lambda s: random.randint((N,), 0, 1000, seed=s)):
        a = draw(1).numpy().astype(np.float64)
        for lag in (1, 2, 3):
            assert_uncorrelated(a[:-lag], a[lag:], z)
        assert_uncorrelated(a, draw(2).numpy().astype(np.float64), z)  # neighbouring int seeds
    generator = random.SeedGenerator(3)
    draws = [random.normal((N,), seed=generator).numpy() for _ in range(2)]
    assert_uncorrelated(*draws, z)
    # Box-Muller's pairs are independent, so even their squares (radius^2 = z0^2 + z1^2) are.
    pairs = random.normal((N,), seed=5).numpy().astype(np.float64).reshape(-1, 2)
    assert_uncorrelated(pairs[:, 0], pairs[:, 1], z)
    assert_uncorrelated(pairs[:, 0] ** 2, pairs[:, 1] ** 2, z)


def test_shuffle_draws_every_permutation_alike():
    draws, permutations = 60_000, 6
    generator = random.SeedGenerator(15)
    orders = [tuple(random.shuffle(np.arange(3), seed=generator).numpy()) for _ in range(draws)]
    counts = np.array([orders.count(p) for p in sorted(set(orders))])
    assert len(counts) == permutations
    p = 1 / permutations
    z = sigmas(permutations)
    assert (np.abs(counts - draws * p) < z * math.sqrt(draws * p * (1 - p))).all()


def test_dropout_keeps_the_expected_share_and_scales():
    z = sigmas(2)
    rate = 0.3
    y = random.dropout(np.ones(N, np.float32), rate, seed=16).numpy()
    kept = y != 0
    np.testing.assert_array_equal(y[kept], np.float32(1 / (1 - rate)))
    assert abs((~kept).mean() - rate) < z * math.sqrt(rate * (1 - rate) / N)
    assert abs(y.mean() - 1.0) < z * math.sqrt(rate * (1 - rate) / N) / (1 - rate)


# --------------------------------------------------------------------------- seeds

def test_an_int_seed_gives_the_same_values_and_the_first_of_its_generator():
    a = random.normal((5,), seed=42).numpy()
    np.testing.assert_array_equal(random.normal((5,), seed=42).numpy(), a)
    np.testing.assert_array_equal(random.normal((5,), seed=random.SeedGenerator(42)).numpy(), a)
    assert not np.array_equal(random.normal((5,), seed=43).numpy(), a)


def test_a_seed_generator_advances_on_every_draw():
    one, two = random.SeedGenerator(7), random.SeedGenerator(7)
    first = [random.uniform((4,), seed=one).numpy() for _ in range(3)]
    second = [random.uniform((4,), seed=two).numpy() for _ in range(3)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    # Every operation takes one key from it.
    three = random.SeedGenerator(7)
    random.randint((2,), 0, 5, seed=three)
    np.testing.assert_array_equal(random.uniform((4,), seed=three).numpy(), first[1])


def test_unseeded_draws_follow_set_random_seed():
    for reset in (fastdl.manual_seed, fastdl.utils.set_random_seed,
                  fastdl.keras.utils.set_random_seed):
        reset(5)
        a = [random.normal((3,)).numpy(), random.dropout(np.ones(8, np.float32), 0.5).numpy()]
        reset(5)
        b = [random.normal((3,)).numpy(), random.dropout(np.ones(8, np.float32), 0.5).numpy()]
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    fastdl.manual_seed(5)
    assert not np.array_equal(random.normal((3,)).numpy(), random.normal((3,)).numpy())
    fastdl.manual_seed(5)
    # The global generator's seed is a hash of 5: unseeded draws are not those of seed=5.
    assert not np.array_equal(random.normal((3,)).numpy(), random.normal((3,), seed=5).numpy())


def test_a_seed_generator_without_seed_is_reproducible_under_manual_seed():
    fastdl.manual_seed(8)
    a = random.uniform((3,), seed=random.SeedGenerator()).numpy()
    fastdl.manual_seed(8)
    np.testing.assert_array_equal(random.uniform((3,), seed=random.SeedGenerator()).numpy(), a)


def test_seed_generator_config_round_trips():
    generator = random.SeedGenerator(9, name="noise")
    assert generator.get_config() == {"seed": 9, "name": "noise"}
    again = random.SeedGenerator.from_config(generator.get_config())
    assert again.next() == random.SeedGenerator(9).next()


def test_rand_randn_and_initializers_keep_numpys_generator():
    fastdl.manual_seed(0)
    rand, randn = fastdl.rand(3).numpy(), fastdl.randn(2, dtype=np.float64).numpy()
    weights = fastdl.initializers.RandomNormal(stddev=0.5)((4,), "float64")
    reference = np.random.default_rng(0)
    np.testing.assert_array_equal(rand, reference.random(3, dtype=np.float32))
    np.testing.assert_array_equal(randn, reference.standard_normal(2))
    np.testing.assert_array_equal(weights, reference.normal(0.0, 0.5, (4,)))


def test_dropout_layer_seed_still_gives_its_own_reproducible_masks():
    x = fastdl.ones((4, 64))
    a = fastdl.layers.Dropout(0.5, seed=4)(x, training=True).numpy()
    np.testing.assert_array_equal(fastdl.layers.Dropout(0.5, seed=4)(x, training=True).numpy(), a)


# --------------------------------------------------------------------------- Keras's API

def test_defaults_dtypes_and_shapes():
    assert random.normal((2, 3)).dtype == np.float32
    assert random.uniform(4).shape == (4,)
    assert random.truncated_normal([0, 3]).shape == (0, 3)
    assert random.randint((2,), 0, 3).dtype == np.int32
    assert random.normal(()).shape == ()
    for dtype in ("float16", "float64"):
        assert random.uniform((3,), dtype=dtype).dtype == dtype
    for dtype in ("int8", "uint8", "int16", "int64", "uint32"):
        values = random.randint((1000,), 0, 100, dtype=dtype, seed=1).numpy()
        assert values.dtype == dtype and values.min() >= 0 and values.max() < 100
    half = random.uniform((100,), 0.0, 1.0, dtype="float16", seed=3).numpy()
    np.testing.assert_array_equal(half, random.uniform((100,), seed=3).numpy().astype(np.float16))
    assert random.normal((2,), device="cpu").device == "cpu"


def test_dropout_matches_the_dropout_kernel_and_broadcasts_its_noise():
    x = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    key = fastdl_random.draw_key(21, "dropout")
    y = random.dropout(x, 0.5, seed=21).numpy()
    np.testing.assert_array_equal(y, _C.dropout_forward(x, 0.5, key)[0])
    columns = random.dropout(x, 0.5, noise_shape=(1, None), seed=21).numpy()
    mask = _C.dropout_forward(np.ones((1, 4), np.float32), 0.5, key)[0]
    np.testing.assert_array_equal(columns, x * mask)
    np.testing.assert_array_equal(random.dropout(x, 0.0).numpy(), x)
    np.testing.assert_array_equal(random.dropout(x, 1.0).numpy(), np.zeros_like(x))
    assert random.dropout(x.astype(np.float64), 0.5, seed=1).dtype == np.float64


def test_dropout_and_shuffle_are_differentiable():
    x = fastdl.tensor(np.arange(1.0, 13.0).reshape(3, 4), requires_grad=True)
    y = random.dropout(x, 0.25, noise_shape=(None, 1), seed=2)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy() / x.numpy())
    x.zero_grad()
    s = random.shuffle(x, axis=1, seed=3)
    (s * s).sum().backward()
    np.testing.assert_array_equal(np.sort(s.numpy(), axis=1), x.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), 2 * x.numpy())


def test_shuffle_permutes_whole_slices_along_the_axis():
    x = np.arange(24).reshape(2, 3, 4)
    for axis in (0, 1, 2, -1):
        y = random.shuffle(x, axis=axis, seed=1).numpy()
        slices = np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
        shuffled = np.moveaxis(y, axis, 0).reshape(x.shape[axis], -1)
        order = [np.flatnonzero((slices == s).all(axis=1))[0] for s in shuffled]
        assert sorted(order) == list(range(x.shape[axis]))
    assert random.shuffle(np.arange(50), seed=2).numpy().tolist() != list(range(50))


@pytest.mark.parametrize("call, error, message", [
    (lambda: random.normal((2,), seed="a"), ValueError, "normal: seed must be an int"),
    (lambda: random.normal((2,), seed=1.5), ValueError, "normal: seed must be an int"),
    (lambda: random.normal((2, -1)), ValueError, "normal: shape must be a tuple of non-neg"),
    (lambda: random.normal((2,), stddev=-1.0), ValueError, "normal: stddev must be non-neg"),
    (lambda: random.normal((2,), mean=float("nan")), ValueError, "normal: mean must be finite"),
    (lambda: random.normal((2,), dtype="int32"), ValueError, "normal: dtype must be a float"),
    (lambda: random.uniform((2,), dtype="int32"), ValueError, "uniform: dtype must be a float"),
    (lambda: random.uniform((2,), dtype="nonsense"), ValueError, "uniform: unknown dtype"),
    (lambda: random.uniform((2,), 1.0, 0.0), ValueError, "uniform: minval must not exceed"),
    (lambda: random.uniform((2,), -3e38, 3e38), ValueError, "uniform: maxval - minval overfl"),
    (lambda: random.uniform((2,), device="tpu"), ValueError, "uniform: unknown device 'tpu'"),
    (lambda: random.truncated_normal((2,), stddev=-2.0), ValueError, "truncated_normal: stddev"),
    (lambda: random.randint((2,), 5, 5), ValueError, r"randint: \[minval, maxval\) must be a"),
    (lambda: random.randint((2,), 0, 300, dtype="int8"), ValueError, "range of int8 values"),
    (lambda: random.randint((2,), 0.0, 3), ValueError, "randint: minval must be an int"),
    (lambda: random.randint((2,), 0, 3, dtype="float32"), ValueError, "randint: dtype must be"),
    (lambda: random.dropout(np.ones(3), 1.5), ValueError, r"dropout: rate must be in \[0, 1\]"),
    (lambda: random.dropout(np.ones(3, np.int32), 0.5), ValueError, "dropout: inputs must be"),
    (lambda: random.dropout(np.ones((2, 3)), 0.5, noise_shape=(3, 2)), ValueError,
     r"dropout: noise_shape \(3, 2\) does not broadcast to the inputs' shape \(2, 3\)"),
    (lambda: random.shuffle(np.ones(3), axis=1), ValueError, "shuffle: axis 1 is out of range"),
    (lambda: random.shuffle(np.float32(1)), ValueError, "shuffle: input must have at least 1"),
    (lambda: random.SeedGenerator("x"), ValueError, "SeedGenerator: seed must be an int"),
    (lambda: fastdl.utils.set_random_seed(1.0), ValueError, "set_random_seed: seed must be an"),
])
def test_bad_arguments_name_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_kernels_validate_their_arguments():
    with pytest.raises(TypeError, match="random_uniform: unsupported dtype int32"):
        _C.random_uniform((2,), np.dtype(np.int32), 1, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"random_normal: shape \(2, -3\) has a negative size"):
        _C.random_normal((2, -3), F32, 1, 0.0, 1.0)
    with pytest.raises(TypeError, match="random_integers: unsupported dtype float32"):
        _C.random_integers((2,), F32, 1, 0, 3)
    with pytest.raises(ValueError, match=r"random_integers: the range \[3, 3\) is empty"):
        _C.random_integers((2,), np.dtype(np.int64), 1, 3, 3)
    with pytest.raises(ValueError, match=r"the range \[0, 4294967296\) .* does not fit int32"):
        _C.random_integers((2,), np.dtype(np.int32), 1, 0, 2**32)
