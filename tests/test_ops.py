"""What the table of operation cases (tests/test_op_cases.py) does not check: the gradient
inputs a kernel is asked for, exact gradients at kinks and ties, dropout's statistics, masks and
argument checks, and mixed precision."""
import numpy as np
import pytest

import fastdl
from fastdl import _C

import reference as ref


def test_linear_skips_input_gradient_when_x_does_not_require_grad(monkeypatch):
    rng = np.random.default_rng(1)
    x = fastdl.tensor(rng.standard_normal((5, 4)))
    w = fastdl.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = fastdl.tensor(rng.standard_normal(3), requires_grad=True)
    y = fastdl.linear(x, w, b, "sigmoid")
    calls = []

    from fastdl.backend import cpu

    def recording_linear_backward(*args):
        calls.append(args[-3:])  # need_x, need_w, need_b
        return _C.linear_backward(*args)

    monkeypatch.setattr(cpu, "linear_backward", recording_linear_backward)
    y.sum().backward()
    assert x.grad is None
    assert calls == [(False, True, True)]  # no input gradient asked for
    dz = ref.activation_grad("sigmoid", ref.matmul(x.numpy(), w.numpy()) + b.numpy())
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().T @ dz, rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), dz.sum(axis=0), rtol=1e-10)


# --------------------------------------------------------------------------- kinks

def grads_of(fn, *values):
    """Gradients of fn(*tensors).sum() for float64 tensors holding ``values``."""
    tensors = [fastdl.tensor(np.array(v, np.float64), requires_grad=True) for v in values]
    fn(*tensors).sum().backward()
    return [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("fn, x, expected", [
    pytest.param(fastdl.relu, [-1.0, 0.0, 2.0], [0.0, 0.0, 1.0], id="relu_at_0"),
    pytest.param(abs, [-1.5, 0.0, 2.0], [-1.0, 0.0, 1.0], id="abs_at_0"),
    pytest.param(fastdl.step, [-1.0, 0.0, 2.0], [0.0, 0.0, 0.0], id="step"),
    pytest.param(lambda t: t.clip(-0.5, 0.5), [-1.0, -0.5, 0.0, 0.5, 1.0],
                 [0.0, 1.0, 1.0, 1.0, 0.0], id="clip_at_bounds"),
    pytest.param(lambda t: t.max(), [1.0, 3.0, 3.0, 0.0], [0.0, 0.5, 0.5, 0.0],
                 id="max_two_ties"),
    pytest.param(lambda t: t.min(), [2.0, 2.0, 2.0, 5.0], [1 / 3, 1 / 3, 1 / 3, 0.0],
                 id="min_three_ties"),
    pytest.param(lambda t: t.max(axis=1, keepdims=True), [[1.0, 4.0, 4.0], [7.0, 7.0, 7.0]],
                 [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], id="max_axis_ties"),
])
def test_gradient_at_kink(fn, x, expected):
    (grad,) = grads_of(fn, x)
    np.testing.assert_array_equal(grad, np.array(expected))


@pytest.mark.parametrize("fn", [fastdl.maximum, fastdl.minimum])
def test_extremum_of_two_splits_ties_equally(fn):
    a = [1.0, 2.0, 3.0]
    b = [3.0, 2.0, 1.0]
    ga, gb = grads_of(fn, a, b)
    picks_a = 1.0 if fn is fastdl.maximum else 0.0
    np.testing.assert_array_equal(ga, [1.0 - picks_a, 0.5, picks_a])
    np.testing.assert_array_equal(gb, [picks_a, 0.5, 1.0 - picks_a])


# --------------------------------------------------------------------------- dropout

def test_dropout_is_identity_when_not_training_or_p_is_zero():
    x = fastdl.randn(4, 5, dtype=np.float64, requires_grad=True)
    for y in (fastdl.dropout(x, 0.5, training=False), fastdl.dropout(x, 0.0)):
        np.testing.assert_array_equal(y.numpy(), x.numpy())
        y.backward(np.full(x.shape, 3.0))
        np.testing.assert_array_equal(x.grad.numpy(), np.full(x.shape, 3.0))
        x.zero_grad()


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_scaling_statistics(p, dtype):
    n = 200_000
    fastdl.manual_seed(11)
    y = fastdl.dropout(fastdl.ones(n, dtype=dtype), p).numpy()
    assert y.dtype == dtype
    kept = y != 0
    np.testing.assert_array_equal(y[kept], dtype(1.0 / (1.0 - p)))  # inverted: scaled up
    # Five standard deviations of a binomial proportion: fails by chance about 1 in 10^6.
    tol = 5 * np.sqrt(p * (1 - p) / n)
    assert abs((~kept).mean() - p) < tol
    assert abs(y.mean() - 1.0) < tol / (1 - p)


def test_dropout_seeded_mask_is_reproducible():
    x = fastdl.ones(1000)
    fastdl.manual_seed(3)
    a = fastdl.dropout(x, 0.5).numpy()
    fastdl.manual_seed(3)
    b = fastdl.dropout(x, 0.5).numpy()
    c = fastdl.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_dropout_mask_is_the_same_for_any_thread_count_and_isa(isa):
    x = np.ones(300_001, np.float32)  # large enough to be split across threads
    masks = []
    for threads in (1, 2, 3):
        previous = fastdl.get_num_threads()
        fastdl.set_num_threads(threads)
        try:
            masks.append(_C.dropout_forward(x, 0.5, 12345)[1])
        finally:
            fastdl.set_num_threads(previous)
    _C.set_isa("generic")
    masks.append(_C.dropout_forward(x, 0.5, 12345)[1])
    for m in masks[1:]:
        np.testing.assert_array_equal(m, masks[0])


def test_dropout_mask_has_no_correlation_between_neighbours_or_seeds():
    n = 400_000
    a = _C.dropout_forward(np.ones(n, np.float32), 0.5, 1)[1].astype(np.float64)
    b = _C.dropout_forward(np.ones(n, np.float32), 0.5, 2)[1].astype(np.float64)
    tol = 5 / np.sqrt(n)  # five standard deviations of a correlation estimate
    for lag in (1, 2, 8, 32):
        assert abs(np.corrcoef(a[:-lag], a[lag:])[0, 1]) < tol
    assert abs(np.corrcoef(a, b)[0, 1]) < tol


def test_dropout_kernel_validates_its_arguments():
    with pytest.raises(ValueError, match=r"dropout_forward: p must be in \[0, 1\)"):
        _C.dropout_forward(np.ones(3, np.float32), 1.0, 0)
    with pytest.raises(TypeError, match="dropout_forward: unsupported dtype int64"):
        _C.dropout_forward(np.ones(3, np.int64), 0.5, 0)
    with pytest.raises(ValueError, match=r"dy has shape \(3,\) but keep has shape \(4,\)"):
        _C.dropout_backward(np.ones(3, np.float32), np.ones(4, np.uint8), 0.5)


def test_dropout_rejects_bad_p():
    for p in (-0.1, 1.0):
        with pytest.raises(ValueError, match="dropout"):
            fastdl.dropout(fastdl.ones(3), p)


@pytest.mark.parametrize("activation", [None, "relu"])
def test_linear_with_mixed_precision_promotes_and_differentiates(activation):
    rng = np.random.default_rng(3)
    x = fastdl.tensor(rng.standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    w = fastdl.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = fastdl.tensor(rng.standard_normal(3), requires_grad=True)
    y = fastdl.linear(x, w, b, activation)
    assert y.dtype == np.float64
    y.sum().backward()
    z = ref.matmul(x.numpy(), w.numpy()) + b.numpy()
    dz = ref.activation_grad(activation or "none", z) if activation else np.ones_like(z)
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().astype(np.float64).T @ dz, rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), dz.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), dz @ w.numpy().T, rtol=1e-5)
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
