"""Softmax, log-softmax and fused softmax cross-entropy kernels beyond the table of operation
cases (which checks values and gradients against float64 references and finite differences,
tests/test_op_cases.py): extreme logits, NaN, the kernels' own results, integer labels of any
type, thread counts, non-contiguous inputs, mixed dtypes and bad input, on both kernel sets
(the `isa` fixture)."""
import numpy as np
import pytest

import fastdl
from fastdl import _C
from fastdl.backend import cpu
from fastdl.testing import op_cases

import reference as ref


def tolerances(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


def logits(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def labels_for(rng, x):
    return rng.integers(0, x.shape[-1], x.shape[:-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_stay_finite(isa, dtype):
    x = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0, -1e4 + 3.0, 5.0, 9999.5, -3.0, 1e4],
                  [-1e4] * 8 + [-1e4 + 2.0]], dtype)
    labels = np.array([1, 8])
    for log, expected in ((False, ref.softmax(x)), (True, ref.log_softmax(x))):
        y = _C.softmax(x, log)
        assert np.isfinite(y).all()
        np.testing.assert_allclose(y, expected, **tolerances(dtype))
    loss, grad = _C.softmax_cross_entropy(x, labels, True)
    expected_loss, expected_grad = ref.softmax_cross_entropy(x, labels)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-6)
    np.testing.assert_allclose(grad, expected_grad, **tolerances(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probabilities_down_to_the_subnormals_are_within_two_ulp(isa, dtype):
    # softmax([0, -t]) is exp(-t) rounded once, for t from well inside the normal range down
    # past the smallest subnormal: the exponential's scaling by 2^n must neither flush these to
    # zero nor round them twice.
    smallest = np.finfo(dtype).smallest_subnormal
    t = np.linspace(60.0, -np.log(smallest) + 1.0, 997)
    x = np.stack([np.zeros_like(t), -t], axis=1).astype(dtype)
    e = np.exp(x[:, 1].astype(np.longdouble))
    exact = e / (1 + e)
    expected = exact.astype(dtype)
    y = _C.softmax(x, False)[:, 1]
    assert (y > 0).sum() == (expected > 0).sum() > 900
    ulps = np.abs(y.astype(np.longdouble) - exact) / np.spacing(np.abs(expected))
    assert ulps.max() <= 2, (ulps.max(), t[np.argmax(ulps)])


def test_float32_exponentials_are_within_one_ulp_with_fma(isa):
    # log_softmax's backward is dy - exp(y) * sum(dy): with dy 1 in the last column and 0
    # elsewhere it gives -exp(y) rounded once, a probe of the kernels' exp at any input. Inputs
    # spread over its whole domain, from where it rounds to 0 to where it overflows.
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-104.0, 89.0, 300_000), rng.uniform(-1.0, 1.0, 100_000),
                        [0.0, -0.0, 88.72, 88.73, -87.33, -103.9, -103.97, 1e-30, -1e-30]])
    x = np.resize(x, (-(-len(x) // 15), 15)).astype(np.float32)  # repeats to fill the rows
    y = np.concatenate([x, np.zeros((len(x), 1), np.float32)], axis=1)
    dy = np.zeros_like(y)
    dy[:, 15] = 1
    got = -_C.softmax_backward(dy, y, True)[:, :15].astype(np.longdouble)
    exact = np.exp(x.astype(np.longdouble))
    overflows = exact >= np.longdouble(2.0**128 - 2.0**103)  # rounds to inf in float32
    assert 0 < overflows.sum() and np.isposinf(got[overflows]).all()
    finite = ~overflows
    spacing = np.spacing(exact[finite].astype(np.float32)).astype(np.longdouble)
    ulps = np.abs(got[finite] - exact[finite]) / spacing
    # The portable build has no FMA: each multiply-add there rounds twice.
    assert ulps.max() <= (1.5 if isa == "generic" else 1), (ulps.max(), x[finite][np.argmax(ulps)])


def test_nan_poisons_only_its_row(isa):
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0], [np.nan, 0.0, 0.0]], np.float32)
    for log in (False, True):
        y = _C.softmax(x, log)
        assert np.isnan(y[[0, 2]]).all()
        np.testing.assert_allclose(y[1], (ref.log_softmax if log else ref.softmax)(x[1]),
                                   rtol=1e-5)
    assert np.isnan(fastdl.softmax_cross_entropy(x, [0, 1, 2]).item())


# ---------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [shapes[0] for shapes in
                                   op_cases.case_named("softmax_cross_entropy").shapes])
def test_cross_entropy_kernel_returns_the_loss_and_its_gradient(isa, rng, shape, dtype):
    x = logits(rng, shape, dtype)
    labels = labels_for(rng, x)
    loss_only, none = _C.softmax_cross_entropy(x, labels, False)
    loss, grad = _C.softmax_cross_entropy(x, labels, True)
    assert none is None and isinstance(loss, float)
    assert loss == loss_only
    assert grad.shape == x.shape and grad.dtype == dtype


def test_cross_entropy_accepts_any_integer_labels(rng):
    x = logits(rng, (6, 5), np.float32)
    labels = np.array([0, 4, 2, 1, 3, 4])
    expected = fastdl.softmax_cross_entropy(x, labels)
    for dtype in (np.int32, np.uint8, np.int16, np.uint64):
        assert fastdl.softmax_cross_entropy(x, labels.astype(dtype)) == expected
    assert fastdl.softmax_cross_entropy(x, labels.tolist()) == expected
    assert fastdl.softmax_cross_entropy(x, labels[::-1][::-1]) == expected


def test_cross_entropy_of_no_rows_is_nan():
    loss, grad = cpu.softmax_cross_entropy_with_grad(np.zeros((0, 4), np.float32),
                                                     np.zeros(0, np.int64))
    assert np.isnan(loss) and grad.shape == (0, 4)


def test_threads_give_identical_results(rng):
    x = logits(rng, (4000, 100), np.float32)
    labels = labels_for(rng, x)
    old = fastdl.get_num_threads()
    try:
        fastdl.set_num_threads(1)
        single = (_C.softmax(x, False), _C.softmax_cross_entropy(x, labels, True))
        fastdl.set_num_threads(2)
        np.testing.assert_array_equal(_C.softmax(x, False), single[0])
        loss, grad = _C.softmax_cross_entropy(x, labels, True)
        assert loss == single[1][0]
        np.testing.assert_array_equal(grad, single[1][1])
    finally:
        fastdl.set_num_threads(old)


# ---------------------------------------------------------------- Python API


def test_python_non_contiguous(rng):
    xt = logits(rng, (4, 6, 5), np.float32).transpose(2, 0, 1)
    np.testing.assert_allclose(fastdl.softmax(xt), ref.softmax(xt), rtol=1e-4, atol=1e-5)


def test_python_cross_entropy(rng):
    x = logits(rng, (16, 10), np.float32)
    labels = labels_for(rng, x)
    expected_loss, expected_grad = ref.softmax_cross_entropy(x, labels)
    loss = cpu.softmax_cross_entropy(x, labels)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    tensor_loss = fastdl.softmax_cross_entropy(x, labels)  # the public op: a 0-d Tensor
    assert isinstance(tensor_loss, fastdl.Tensor) and tensor_loss.shape == ()
    assert tensor_loss.item() == np.float32(loss)
    loss2, grad = cpu.softmax_cross_entropy_with_grad(x.astype(np.float64), labels)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(loss2, expected_loss, rtol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_python_promotes_mixed_dtypes():
    g = np.ones((2, 3), np.float32)
    y = fastdl.softmax(np.zeros((2, 3)))
    assert cpu.softmax_backward(g, y).dtype == np.float64


# ---------------------------------------------------------------- bad input


def test_bad_dtypes_name_op_dtype_and_shape():
    with pytest.raises(TypeError, match=r"softmax.*int64.*\(2, 3\)"):
        fastdl.softmax(np.zeros((2, 3), np.int64))
    with pytest.raises(TypeError, match=r"log_softmax: unsupported dtype int32 for x \(shape \(4,\)\)"):
        _C.softmax(np.zeros(4, np.int32), True)
    with pytest.raises(TypeError, match=r"softmax_cross_entropy: labels has dtype float32 and "
                                        r"shape \(2,\); expected an integer array"):
        fastdl.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(2, np.float32))
    with pytest.raises(TypeError, match=r"softmax_cross_entropy.*bool"):
        fastdl.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(2, bool))


def test_shape_errors_name_op_and_shapes():
    with pytest.raises(ValueError, match=r"softmax_backward: grad has shape \(2, 3\) but y has "
                                         r"shape \(2, 4\)"):
        cpu.softmax_backward(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: logits has shape \(4, 3\) but "
                                         r"labels has shape \(5,\); expected labels of shape "
                                         r"\(4,\)"):
        fastdl.softmax_cross_entropy(np.zeros((4, 3)), np.zeros(5, np.int64))
    with pytest.raises(ValueError, match=r"logits has shape \(2, 2, 3\) but labels has shape "
                                         r"\(2, 3\); expected labels of shape \(2, 2\)"):
        fastdl.softmax_cross_entropy(np.zeros((2, 2, 3)), np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        fastdl.softmax(np.float32(1.0))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        _C.softmax(np.array(1.0), False)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        fastdl.softmax(np.zeros((2, 3)), axis=2)


@pytest.mark.parametrize("bad", [-1, 3, 2**40])
def test_labels_out_of_range(bad):
    labels = np.array([0, bad, 1])
    with pytest.raises(ValueError, match=rf"softmax_cross_entropy: label {bad} at flat index 1 is "
                                         r"out of range for logits of shape \(3, 3\); expected "
                                         r"0 <= label < 3"):
        fastdl.softmax_cross_entropy(np.zeros((3, 3), np.float32), labels)
    with pytest.raises(ValueError, match="out of range"):
        fastdl.softmax_cross_entropy(np.zeros((1, 0)), np.zeros(1, np.int64))
