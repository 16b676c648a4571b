"""GPU softmax, log-softmax and fused cross-entropy against the CPU kernels, on identical
inputs."""
import numpy as np
import pytest

from cuda_support import assert_matches_cpu, requires_gpu, to_cpu, to_gpu
from fastdl.backend import cpu

pytestmark = requires_gpu

# Row widths around every kernel boundary: lanes per row (1, 2, 31-33), registers per lane, the
# last width held by a warp (1024), the first one that takes a block (1025), a cached row (4096)
# and a row too long to cache on some GPUs (50000).
COLS = [1, 2, 31, 32, 33, 100, 1000, 1024, 1025, 4096, 50000]
ROWS = [1, 7, 300]


def _cuda():
    from fastdl.backend import cuda
    return cuda


def _tolerances(cols):
    """Wide rows sum more terms, in another order than the CPU."""
    return dict(rtol=1e-5 if cols <= 1024 else 1e-4, atol=1e-8)


def _logits(rng, shape):
    return (rng.standard_normal(shape) * 3).astype(np.float32)


@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_forward_and_backward_match_cpu(rows, cols, log):
    rng = np.random.default_rng(rows * 100003 + cols)
    x = _logits(rng, (rows, cols))
    dy = rng.standard_normal((rows, cols)).astype(np.float32)
    forward = "log_softmax" if log else "softmax"
    y = getattr(cpu, forward)(x)
    assert_matches_cpu(getattr(_cuda(), forward)(to_gpu(x)), y, **_tolerances(cols))
    backward = f"{forward}_backward"
    assert_matches_cpu(getattr(_cuda(), backward)(to_gpu(dy), to_gpu(y)),
                       getattr(cpu, backward)(dy, y), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cols", [4, 100, 1000, 4096])
def test_unaligned_rows_take_the_scalar_path(cols):
    import cupy
    rng = np.random.default_rng(cols)
    rows = 5
    flat = _logits(rng, rows * cols + 1)
    x = flat[1:].reshape(rows, cols)
    gx = cupy.asarray(flat)[1:].reshape(rows, cols)  # contiguous, 4 bytes past a 16-byte start
    dy = rng.standard_normal((rows, cols)).astype(np.float32)
    gdy = cupy.asarray(np.concatenate([[0.0], dy.ravel()]).astype(np.float32))[1:]
    gdy = gdy.reshape(rows, cols)
    for log in (False, True):
        forward = "log_softmax" if log else "softmax"
        y = getattr(cpu, forward)(x)
        assert_matches_cpu(getattr(_cuda(), forward)(gx), y, **_tolerances(cols))
        backward = f"{forward}_backward"
        assert_matches_cpu(getattr(_cuda(), backward)(gdy, to_gpu(y)),
                           getattr(cpu, backward)(dy, y), rtol=1e-4, atol=1e-6)
    labels = rng.integers(0, cols, rows)
    loss, grad = _cuda().softmax_cross_entropy_with_grad(gx, to_gpu(labels))
    expected_loss, expected_grad = cpu.softmax_cross_entropy_with_grad(x, labels)
    np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-5)
    assert_matches_cpu(grad, expected_grad, **_tolerances(cols))


@pytest.mark.parametrize("cols", [9, 5000])
def test_in_place_forward_and_backward(cols):
    from fastdl.backend.cuda import runtime
    rng = np.random.default_rng(cols)
    x = _logits(rng, (3, cols))
    dy = rng.standard_normal((3, cols)).astype(np.float32)
    kernels = runtime.kernels()
    for log in (False, True):
        forward = "log_softmax" if log else "softmax"
        y = getattr(cpu, forward)(x)
        g = to_gpu(x)
        kernels.softmax(g, g, log, runtime.stream())
        assert_matches_cpu(g, y, **_tolerances(cols))
        g = to_gpu(dy)
        kernels.softmax_backward(g, to_gpu(y), g, log, runtime.stream())
        assert_matches_cpu(g, getattr(cpu, f"{forward}_backward")(dy, y), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, -2])
def test_other_axes_match_cpu(axis):
    rng = np.random.default_rng(7)
    x = _logits(rng, (3, 37, 5))
    dy = rng.standard_normal(x.shape).astype(np.float32)
    for forward in ("softmax", "log_softmax"):
        y = getattr(cpu, forward)(x, axis=axis)
        assert_matches_cpu(getattr(_cuda(), forward)(to_gpu(x), axis=axis), y, rtol=1e-5,
                           atol=1e-8)
        backward = f"{forward}_backward"
        assert_matches_cpu(getattr(_cuda(), backward)(to_gpu(dy), to_gpu(y), axis=axis),
                           getattr(cpu, backward)(dy, y, axis=axis), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cols", [9, 3000])
def test_extreme_logits_stay_finite(cols):
    row = np.full(cols, -1e4, np.float32)
    row[: 9] = [1e4, -1e4, 0.0, 1e4 - 1.0, -1e4 + 3.0, 5.0, 9999.5, -3.0, 1e4]
    x = np.stack([row, np.full(cols, -1e4, np.float32), np.full(cols, 1e4, np.float32)])
    x[1, -1] = -1e4 + 2.0
    labels = np.array([1, cols - 1, 0])
    for forward in ("softmax", "log_softmax"):
        y = getattr(_cuda(), forward)(to_gpu(x))
        assert np.isfinite(to_cpu(y)).all()
        assert_matches_cpu(y, getattr(cpu, forward)(x), rtol=1e-5, atol=1e-8)
    loss, grad = _cuda().softmax_cross_entropy_with_grad(to_gpu(x), to_gpu(labels))
    expected_loss, expected_grad = cpu.softmax_cross_entropy_with_grad(x, labels)
    assert np.isfinite(float(loss)) and np.isfinite(to_cpu(grad)).all()
    np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-5)
    assert_matches_cpu(grad, expected_grad, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("cols", [3, 2000])
def test_nan_poisons_only_its_row(cols):
    x = np.ones((3, cols), np.float32)
    x[1] = np.linspace(-1, 1, cols)
    x[0, cols // 2] = np.nan
    x[2, 0] = np.nan
    for forward in ("softmax", "log_softmax"):
        y = to_cpu(getattr(_cuda(), forward)(to_gpu(x)))
        assert np.isnan(y[[0, 2]]).all()
        np.testing.assert_allclose(y[1], getattr(cpu, forward)(x[1]), rtol=1e-5, atol=1e-8)
    assert np.isnan(float(_cuda().softmax_cross_entropy(to_gpu(x), to_gpu(np.zeros(3, int)))))


@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("rows", ROWS)
def test_cross_entropy_matches_cpu(rows, cols):
    import cupy
    rng = np.random.default_rng(rows * 7919 + cols)
    x = _logits(rng, (rows, cols))
    labels = rng.integers(0, cols, rows)
    expected_loss, expected_grad = cpu.softmax_cross_entropy_with_grad(x, labels)
    for dtype in (np.int64, np.int32):
        loss = _cuda().softmax_cross_entropy(to_gpu(x), to_gpu(labels.astype(dtype)))
        assert isinstance(loss, cupy.ndarray) and loss.shape == () and loss.dtype == np.float32
        np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-5)
        loss, grad = _cuda().softmax_cross_entropy_with_grad(to_gpu(x),
                                                             to_gpu(labels.astype(dtype)))
        np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-5)
        assert_matches_cpu(grad, expected_grad, **_tolerances(cols))


def test_cross_entropy_over_many_rows_and_leading_axes():
    rng = np.random.default_rng(3)
    for shape in [(100003, 10), (2, 3, 5)]:
        x = _logits(rng, shape)
        labels = rng.integers(0, shape[-1], shape[:-1])
        expected_loss, expected_grad = cpu.softmax_cross_entropy_with_grad(x, labels)
        loss, grad = _cuda().softmax_cross_entropy_with_grad(to_gpu(x), to_gpu(labels))
        np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-5)
        assert_matches_cpu(grad, expected_grad, rtol=1e-5, atol=1e-10)


def test_cross_entropy_is_deterministic():
    rng = np.random.default_rng(11)
    for rows, cols in ((200003, 10), (2011, 5000)):
        x, labels = to_gpu(_logits(rng, (rows, cols))), to_gpu(rng.integers(0, cols, rows))
        first = _cuda().softmax_cross_entropy(x, labels)
        for _ in range(3):
            assert to_cpu(_cuda().softmax_cross_entropy(x, labels)).tobytes() == \
                to_cpu(first).tobytes()


def test_cross_entropy_of_no_rows_is_nan():
    loss = _cuda().softmax_cross_entropy(to_gpu(np.zeros((0, 4), np.float32)),
                                         to_gpu(np.zeros(0, np.int64)))
    assert np.isnan(float(loss))
    assert np.isnan(cpu.softmax_cross_entropy(np.zeros((0, 4), np.float32),
                                              np.zeros(0, np.int64)))


@pytest.mark.parametrize("cols", [10, 2000])
def test_labels_out_of_range_give_nan_rows(cols):
    rng = np.random.default_rng(cols)
    x = _logits(rng, (4, cols))
    labels = np.array([1, -1, cols, 0])
    loss, grad = _cuda().softmax_cross_entropy_with_grad(to_gpu(x), to_gpu(labels))
    assert np.isnan(float(loss))
    grad = to_cpu(grad)
    assert np.isnan(grad[[1, 2]]).all()
    # The other rows are untouched by their neighbours' labels.
    _, expected = cpu.softmax_cross_entropy_with_grad(x, np.array([1, 0, 0, 0]))
    np.testing.assert_allclose(grad[[0, 3]], expected[[0, 3]], **_tolerances(cols))
    # The CPU checks on the host instead.
    with pytest.raises(ValueError, match="out of range"):
        cpu.softmax_cross_entropy(x, labels)


def test_other_integer_labels_are_converted():
    rng = np.random.default_rng(5)
    x = _logits(rng, (6, 4))
    labels = rng.integers(0, 4, 6)
    expected = cpu.softmax_cross_entropy(x, labels)
    for dtype in (np.uint8, np.int16, np.uint64):
        got = _cuda().softmax_cross_entropy(to_gpu(x), to_gpu(labels.astype(dtype)))
        np.testing.assert_allclose(float(got), expected, rtol=1e-6)


def test_bad_inputs_raise_naming_the_operation():
    import cupy
    x = cupy.zeros((4, 3), cupy.float32)
    with pytest.raises(TypeError, match="softmax: the CUDA kernels take float32"):
        _cuda().softmax(cupy.zeros((4, 3), cupy.float64))
    with pytest.raises(RuntimeError, match="softmax: expected every operand on the GPU"):
        _cuda().softmax(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="softmax: input must have at least 1 dimension"):
        _cuda().softmax(cupy.zeros((), cupy.float32))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        _cuda().log_softmax(x, axis=2)
    with pytest.raises(ValueError, match=r"softmax_backward: grad has shape \(4, 3\) but y has "
                                         r"shape \(4, 2\)"):
        _cuda().softmax_backward(x, cupy.zeros((4, 2), cupy.float32))
    with pytest.raises(ValueError, match=r"labels has shape \(3,\) but logits of shape \(4, 3\) "
                                         r"needs shape \(4,\)"):
        _cuda().softmax_cross_entropy(x, cupy.zeros(3, cupy.int64))
    with pytest.raises(TypeError, match="labels has dtype float32 and shape"):
        _cuda().softmax_cross_entropy(x, cupy.zeros(4, cupy.float32))
    with pytest.raises(RuntimeError, match="expected the labels on the GPU"):
        _cuda().softmax_cross_entropy(x, np.zeros(4, np.int64))
