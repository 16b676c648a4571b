"""Every differentiable operation: forward against NumPy in float64, gradient against central
differences (fastdl.gradcheck), plus the exact gradients at kinks and dropout's statistics."""
import numpy as np
import pytest

import fastdl
from fastdl import _C

import reference as ref

FORWARD_TOL = dict(rtol=1e-6, atol=1e-12)
GRAD_TOL = dict(rtol=1e-6, atol=1e-7)


def helper_test_op(shapes, fn, np_fn=None, low=-2.0, high=2.0):
    """Runs ``fn`` on float64 Tensors with random values in [low, high) of the given shapes
    and checks its output against ``np_fn`` (``fn`` itself when omitted: operators and methods
    that NumPy arrays share) on the same float64 arrays, then checks the gradient of every
    input with :func:`fastdl.gradcheck`."""
    rng = np.random.default_rng(0)
    arrays = [np.asarray(rng.uniform(low, high, shape)) for shape in shapes]
    tensors = [fastdl.tensor(a, requires_grad=True) for a in arrays]
    expected = np.asarray((np_fn or fn)(*arrays), dtype=np.float64)
    out = fn(*tensors)
    assert isinstance(out, fastdl.Tensor) and out.requires_grad
    assert type(out.numpy()) is np.ndarray and out.dtype == np.float64
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, **FORWARD_TOL)
    assert fastdl.gradcheck(fn, tensors, **GRAD_TOL)


def case(name, shapes, fn, np_fn=None, **ranges):
    """One test_op case; ``ranges`` are helper_test_op's ``low`` and ``high``."""
    return pytest.param(shapes, fn, np_fn, ranges, id=name)


POSITIVE = dict(low=0.5, high=2.0)

ARITHMETIC = [
    case("add", [(3, 4), (3, 4)], lambda a, b: a + b),
    case("add_(3,1)_(1,4)", [(3, 1), (1, 4)], lambda a, b: a + b),
    case("add_(4,)_(2,3,4)", [(4,), (2, 3, 4)], lambda a, b: a + b),
    case("add_(2,3,4)_(4,)", [(2, 3, 4), (4,)], lambda a, b: a + b),
    case("add_0d_tensor", [(3, 4), ()], lambda a, b: a + b),
    case("mul_0d_0d", [(), ()], lambda a, b: a * b),
    case("add_python_scalar", [(3, 4)], lambda a: a + 1.5),
    case("radd_python_scalar", [(3, 4)], lambda a: 1.5 + a),
    case("sub", [(3, 4), (3, 4)], lambda a, b: a - b),
    case("sub_(3,1)_(1,4)", [(3, 1), (1, 4)], lambda a, b: a - b),
    case("sub_(4,)_(2,3,4)", [(4,), (2, 3, 4)], lambda a, b: a - b),
    case("rsub_python_scalar", [(3, 4)], lambda a: 2 - a),
    case("mul", [(3, 4), (3, 4)], lambda a, b: a * b),
    case("mul_(3,1)_(1,4)", [(3, 1), (1, 4)], lambda a, b: a * b),
    case("mul_(2,3,4)_(4,)", [(2, 3, 4), (4,)], lambda a, b: a * b),
    case("mul_self", [(3, 4)], lambda a: a * a),
    case("rmul_python_scalar", [(3, 4)], lambda a: 3 * a),
    case("div", [(3, 4), (3, 4)], lambda a, b: a / b, **POSITIVE),
    case("div_(3,1)_(1,4)", [(3, 1), (1, 4)], lambda a, b: a / b, **POSITIVE),
    case("div_(4,)_(2,3,4)", [(4,), (2, 3, 4)], lambda a, b: a / b, **POSITIVE),
    case("div_python_scalar", [(3, 4)], lambda a: a / 4),
    case("rdiv_python_scalar", [(3, 4)], lambda a: 1 / a, **POSITIVE),
    case("pow_int_exponent", [(3, 4)], lambda a: a ** 3),
    case("pow_float_exponent", [(3, 4)], lambda a: a ** 2.5, **POSITIVE),
    case("pow_tensor_tensor", [(3, 4), (3, 4)], lambda a, b: a ** b, **POSITIVE),
    case("pow_tensor_tensor_broadcast", [(3, 1), (4,)], lambda a, b: a ** b, **POSITIVE),
    case("rpow_python_scalar", [(3, 4)], lambda a: 2.0 ** a),
    case("neg", [(3, 4)], lambda a: -a),
    case("exp", [(3, 4)], fastdl.exp, np.exp),
    case("exp_method", [(3, 4)], lambda a: a.exp(), np.exp),
    case("log", [(3, 4)], fastdl.log, np.log, **POSITIVE),
    case("sqrt", [(3, 4)], fastdl.sqrt, np.sqrt, **POSITIVE),
    case("abs", [(3, 4)], abs),
    case("abs_function", [(3, 4)], fastdl.abs, np.abs),
    case("clip", [(3, 4)], lambda a: a.clip(-0.5, 0.7)),
    case("clip_lower_only", [(3, 4)], lambda a: fastdl.clip(a, min=-0.5),
         lambda a: np.clip(a, -0.5, None)),
    case("clip_upper_only", [(3, 4)], lambda a: fastdl.clip(a, max=0.5),
         lambda a: np.clip(a, None, 0.5)),
    case("maximum", [(3, 4), (3, 4)], fastdl.maximum, np.maximum),
    case("maximum_(3,1)_(1,4)", [(3, 1), (1, 4)], fastdl.maximum, np.maximum),
    case("minimum", [(3, 4), (3, 4)], fastdl.minimum, np.minimum),
    case("minimum_(4,)_(2,3,4)", [(4,), (2, 3, 4)], fastdl.minimum, np.minimum),
]

COND = np.random.default_rng(5).random((3, 4)) > 0.5
WHERE = [
    case("where", [(3, 4), (3, 4)], lambda a, b: fastdl.where(COND, a, b),
         lambda a, b: np.where(COND, a, b)),
    case("where_broadcast", [(3, 1), (4,)], lambda a, b: fastdl.where(COND, a, b),
         lambda a, b: np.where(COND, a, b)),
    case("where_tensor_condition", [(3, 4)],
         lambda a: fastdl.where(fastdl.tensor(COND), a, 0.5), lambda a: np.where(COND, a, 0.5)),
    case("where_computed_condition", [(3, 4)], lambda a: fastdl.where(a > 0, a, a * a),
         lambda a: np.where(a > 0, a, a * a)),
]

MATMUL = [
    case(f"matmul_{sa}_{sb}", [sa, sb], lambda a, b: a @ b)
    for sa, sb in [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 5)),
                   ((3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                   ((4,), (4,)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,))]
] + [case("matmul_function", [(3, 4), (4, 2)], fastdl.matmul, np.matmul)]


def linear_case(x_shape, bias, activation):
    name = f"linear_{x_shape}_{'bias' if bias else 'nobias'}_{activation}"
    shapes = [x_shape, (4, 3)] + ([(3,)] if bias else [])
    return case(name, shapes,
                lambda x, w, *b: fastdl.linear(x, w, *b, activation=activation),
                lambda x, w, *b: ref.linear(x, w, *b, activation=activation))


LINEAR = [linear_case((5, 4), bias, act)
          for bias in (True, False) for act in (None, "relu", "sigmoid", "tanh")]
LINEAR += [linear_case((2, 5, 4), True, "tanh"), linear_case((4,), True, None)]


def reduction_case(name, axis, keepdims, **kwargs):
    fn = lambda a: getattr(a, name)(axis=axis, keepdims=keepdims, **kwargs)  # noqa: E731
    return case(f"{name}_axis={axis}_keepdims={keepdims}", [(3, 4, 5)], fn)


REDUCTIONS = [reduction_case(name, axis, keepdims)
              for name in ("sum", "mean", "max", "min", "var")
              for axis in (None, 1, -1, (0, 2), (-1, 0))
              for keepdims in (False, True)]
REDUCTIONS += [
    reduction_case("var", 1, False, ddof=1),
    reduction_case("var", None, True, ddof=1),
    case("sum_function", [(3, 4)], lambda a: fastdl.sum(a, axis=0), lambda a: a.sum(axis=0)),
    case("mean_function", [(3, 4)], lambda a: fastdl.mean(a, 1, True),
         lambda a: a.mean(1, keepdims=True)),
    case("max_function", [(3, 4)], lambda a: fastdl.max(a, axis=-1), lambda a: a.max(-1)),
    case("min_function", [(3, 4)], lambda a: fastdl.min(a), lambda a: a.min()),
    case("var_function", [(3, 4)], lambda a: fastdl.var(a, 0, ddof=1),
         lambda a: a.var(0, ddof=1)),
]

SHAPE_OPS = [
    case("reshape", [(3, 4, 5)], lambda a: a.reshape(6, 10)),
    case("reshape_tuple_minus_one", [(3, 4, 5)], lambda a: a.reshape((5, -1))),
    case("reshape_function", [(3, 4)], lambda a: fastdl.reshape(a, (2, 6)),
         lambda a: a.reshape(2, 6)),
    case("flatten", [(3, 4)], lambda a: a.flatten()),
    case("T_2d", [(3, 4)], lambda a: a.T),
    case("T_3d", [(2, 3, 4)], lambda a: a.T),
    case("transpose_axes", [(2, 3, 4)], lambda a: a.transpose(1, 0, 2)),
    case("transpose_negative_axes", [(2, 3, 4)], lambda a: a.transpose((-1, 0, 1))),
    case("transpose_function", [(2, 3, 4)], lambda a: fastdl.transpose(a, (2, 0, 1)),
         lambda a: np.transpose(a, (2, 0, 1))),
    case("permute", [(2, 3, 4)], lambda a: a.permute(2, 0, 1),
         lambda a: np.transpose(a, (2, 0, 1))),
    case("permute_function", [(2, 3, 4)], lambda a: fastdl.permute(a, (1, 2, 0)),
         lambda a: np.transpose(a, (1, 2, 0))),
    case("squeeze_all", [(3, 1, 4, 1)], lambda a: a.squeeze()),
    case("squeeze_axis", [(3, 1, 4, 1)], lambda a: a.squeeze(1)),
    case("squeeze_negative_axis", [(3, 1, 4, 1)], lambda a: fastdl.squeeze(a, -1),
         lambda a: np.squeeze(a, -1)),
    case("unsqueeze_0", [(3, 4)], lambda a: a.unsqueeze(0), lambda a: np.expand_dims(a, 0)),
    case("unsqueeze_negative", [(3, 4)], lambda a: fastdl.unsqueeze(a, -1),
         lambda a: np.expand_dims(a, -1)),
    case("unsqueeze_middle", [(3, 4)], lambda a: a.unsqueeze(1), lambda a: a[:, None]),
]

ROW_MASK = np.array([True, False, True, True])
MASK = np.random.default_rng(6).random((4, 5)) > 0.4
INDEXING = [
    case("slices", [(4, 5)], lambda a: a[1:3, ::2]),
    case("negative_steps", [(4, 5)], lambda a: a[::-1, -1:0:-2]),
    case("integer", [(4, 5)], lambda a: a[1]),
    case("ellipsis_negative", [(4, 5)], lambda a: a[..., -1]),
    case("newaxis", [(4, 5)], lambda a: a[None, :, 2]),
    case("int_array_repeated_rows", [(4, 5)], lambda a: a[np.array([0, 2, 0, 0])]),
    case("int_arrays_repeated_elements", [(4, 5)],
         lambda a: a[np.array([0, 0, 3, 0]), np.array([1, 1, 4, 1])]),
    case("list_with_slice", [(4, 5)], lambda a: a[1:, [4, 4, 0]]),
    case("tensor_index", [(4, 5)], lambda a: a[fastdl.tensor([3, 3, 1])],
         lambda a: a[[3, 3, 1]]),
    case("boolean_mask", [(4, 5)], lambda a: a[MASK]),
    case("boolean_row_mask", [(4, 5)], lambda a: a[ROW_MASK]),
    case("boolean_mask_tensor", [(4, 5)], lambda a: a[fastdl.tensor(MASK)], lambda a: a[MASK]),
]

JOINING = [
    case("concatenate_axis0", [(2, 3), (4, 3), (1, 3)],
         lambda *t: fastdl.concatenate(t), lambda *a: np.concatenate(a)),
    case("concatenate_axis_-1", [(2, 1), (2, 3)],
         lambda *t: fastdl.concatenate(t, axis=-1), lambda *a: np.concatenate(a, axis=-1)),
    case("stack_axis0", [(2, 3), (2, 3), (2, 3)],
         lambda *t: fastdl.stack(t), lambda *a: np.stack(a)),
    case("stack_axis_-1", [(2, 3), (2, 3)],
         lambda *t: fastdl.stack(t, axis=-1), lambda *a: np.stack(a, axis=-1)),
    case("stack_axis1", [(2, 3), (2, 3)],
         lambda *t: fastdl.stack(t, axis=1), lambda *a: np.stack(a, axis=1)),
    case("pad_per_axis", [(2, 3)], lambda a: fastdl.pad(a, ((1, 2), (0, 1))),
         lambda a: np.pad(a, ((1, 2), (0, 1)))),
    case("pad_int_value", [(2, 3)], lambda a: fastdl.pad(a, 2, value=1.5),
         lambda a: np.pad(a, 2, constant_values=1.5)),
    case("pad_pair", [(2, 3, 2)], lambda a: fastdl.pad(a, (1, 0)), lambda a: np.pad(a, (1, 0))),
]


def activation_case(name, fn, ref_name, alpha=0.0):
    return case(name, [(3, 7)], fn, lambda a: ref.activation(ref_name, a, alpha))


LABELS = np.array([0, 3, 1, 1, 2])
LABELS_3D = np.array([[0, 3, 1], [2, 2, 0]])
ACTIVATIONS = [
    activation_case("relu", fastdl.relu, "relu"),
    activation_case("relu_method", lambda a: a.relu(), "relu"),
    activation_case("leaky_relu", fastdl.leaky_relu, "leaky_relu", 0.2),
    activation_case("leaky_relu_alpha", lambda a: fastdl.leaky_relu(a, 0.05), "leaky_relu",
                    0.05),
    activation_case("sigmoid", fastdl.sigmoid, "sigmoid"),
    activation_case("sigmoid_method", lambda a: a.sigmoid(), "sigmoid"),
    activation_case("tanh", fastdl.tanh, "tanh"),
    activation_case("tanh_method", lambda a: a.tanh(), "tanh"),
    activation_case("step", fastdl.step, "step"),
    activation_case("gelu", fastdl.gelu, "gelu"),
    activation_case("gelu_tanh", lambda a: fastdl.gelu(a, approximate=True), "gelu_tanh"),
    case("softmax", [(3, 4)], fastdl.softmax, ref.softmax),
    case("softmax_axis0", [(3, 4)], lambda a: fastdl.softmax(a, axis=0),
         lambda a: ref.softmax(a, axis=0)),
    case("softmax_method", [(2, 3, 4)], lambda a: a.softmax(1), lambda a: ref.softmax(a, 1)),
    case("log_softmax", [(3, 4)], fastdl.log_softmax, ref.log_softmax),
    case("log_softmax_axis0", [(3, 4)], lambda a: fastdl.log_softmax(a, axis=0),
         lambda a: ref.log_softmax(a, axis=0)),
    case("log_softmax_method", [(3, 4)], lambda a: a.log_softmax(0),
         lambda a: ref.log_softmax(a, 0)),
    case("softmax_cross_entropy", [(5, 4)],
         lambda z: fastdl.softmax_cross_entropy(z, LABELS),
         lambda z: ref.softmax_cross_entropy(z, LABELS)[0]),
    case("softmax_cross_entropy_tensor_labels", [(5, 4)],
         lambda z: fastdl.softmax_cross_entropy(z, fastdl.tensor(LABELS)),
         lambda z: ref.softmax_cross_entropy(z, LABELS)[0]),
    case("softmax_cross_entropy_3d", [(2, 3, 4)],
         lambda z: fastdl.softmax_cross_entropy(z, LABELS_3D),
         lambda z: ref.softmax_cross_entropy(z, LABELS_3D)[0]),
]


@pytest.mark.parametrize("shapes, fn, np_fn, ranges",
                         ARITHMETIC + WHERE + MATMUL + LINEAR + REDUCTIONS + SHAPE_OPS
                         + INDEXING + JOINING + ACTIVATIONS)
def test_op(shapes, fn, np_fn, ranges):
    helper_test_op(shapes, fn, np_fn, **ranges)


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


def test_dropout_gradient_is_the_mask():
    fastdl.manual_seed(1)
    x = fastdl.tensor(np.random.default_rng(2).uniform(0.5, 2.0, (6, 7)), requires_grad=True)
    y = fastdl.dropout(x, 0.3)
    upstream = np.random.default_rng(3).standard_normal(x.shape)
    y.backward(upstream)
    mask = np.where(y.numpy() == 0, 0.0, 1.0 / 0.7)
    np.testing.assert_allclose(y.numpy(), x.numpy() * mask, rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), upstream * mask, rtol=1e-15)
    assert 0 < (mask == 0).sum() < mask.size


def test_dropout_gradcheck_with_a_fixed_seed():
    def seeded_dropout(t):
        fastdl.manual_seed(4)
        return fastdl.dropout(t, 0.4)

    x = fastdl.tensor(np.random.default_rng(5).standard_normal((3, 5)), requires_grad=True)
    assert fastdl.gradcheck(seeded_dropout, [x], **GRAD_TOL)


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
