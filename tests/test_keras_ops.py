"""keras.ops against Keras 3 itself: the names, argument names and defaults of every operation,
the values and dtypes of calls (argument defaults and edge semantics: split by a count or by
indices, repeat and tile, take with axis=None, einsum strings, tensordot's axes, norm's ord and
axis, cumsum's dtype, top_k's order, one_hot's dtype and axis, ...), the errors for bad input,
and the Tensor's Python protocol (operators with numbers on either side, len, iteration,
indexing)."""
import inspect
import re

import numpy as np
import pytest

import fastdl
import fastdl.ops
from cuda_support import requires_gpu, to_cpu
from fastdl.keras import ops

# ---------------------------------------------------------------------------- signatures

#: ``inspect.signature`` of each keras.ops function, printed by Keras 3.15.1.
KERAS_SIGNATURES = {
    "shape": "(x)",
    "reshape": "(x, newshape)",
    "transpose": "(x, axes=None)",
    "expand_dims": "(x, axis)",
    "squeeze": "(x, axis=None)",
    "concatenate": "(xs, axis=0)",
    "stack": "(x, axis=0)",
    "split": "(x, indices_or_sections, axis=0)",
    "repeat": "(x, repeats, axis=None)",
    "tile": "(x, repeats)",
    "take": "(x, indices, axis=None)",
    "take_along_axis": "(x, indices, axis=None)",
    "where": "(condition, x1=None, x2=None)",
    "cast": "(x, dtype)",
    "convert_to_tensor": "(x, dtype=None, sparse=None, ragged=None)",
    "convert_to_numpy": "(x)",
    "ones": "(shape, dtype=None)",
    "zeros": "(shape, dtype=None)",
    "ones_like": "(x, dtype=None)",
    "zeros_like": "(x, dtype=None)",
    "full": "(shape, fill_value, dtype=None)",
    "full_like": "(x, fill_value, dtype=None)",
    "arange": "(start, stop=None, step=None, dtype=None)",
    "linspace": "(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0)",
    "eye": "(N, M=None, k=0, dtype=None)",
    "add": "(x1, x2)",
    "subtract": "(x1, x2)",
    "multiply": "(x1, x2)",
    "divide": "(x1, x2)",
    "power": "(x1, x2)",
    "negative": "(x)",
    "abs": "(x)",
    "sign": "(x)",
    "exp": "(x)",
    "log": "(x)",
    "log1p": "(x)",
    "sqrt": "(x)",
    "square": "(x)",
    "clip": "(x, x_min, x_max)",
    "maximum": "(x1, x2)",
    "minimum": "(x1, x2)",
    "sum": "(x, axis=None, keepdims=False)",
    "mean": "(x, axis=None, keepdims=False)",
    "max": "(x, axis=None, keepdims=False, initial=None)",
    "min": "(x, axis=None, keepdims=False, initial=None)",
    "prod": "(x, axis=None, keepdims=False, dtype=None)",
    "var": "(x, axis=None, keepdims=False)",
    "std": "(x, axis=None, keepdims=False)",
    "argmax": "(x, axis=None, keepdims=False)",
    "argmin": "(x, axis=None, keepdims=False)",
    "cumsum": "(x, axis=None, dtype=None)",
    "matmul": "(x1, x2)",
    "einsum": "(subscripts, *operands, **kwargs)",
    "dot": "(x1, x2)",
    "tensordot": "(x1, x2, axes=2)",
    "softmax": "(x, axis=-1)",
    "log_softmax": "(x, axis=-1)",
    "layer_normalization": "(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs)",
    "rms_normalization": "(x, scale=None, axis=-1, epsilon=None)",
    "dot_product_attention": "(query, key, value, bias=None, mask=None, scale=None, "
                             "is_causal=False, flash_attention=None, attn_logits_soft_cap=None)",
    "logsumexp": "(x, axis=None, keepdims=False)",
    "sigmoid": "(x)",
    "tanh": "(x)",
    "relu": "(x)",
    "gelu": "(x, approximate=True)",
    "silu": "(x)",
    "leaky_relu": "(x, negative_slope=0.2)",
    "elu": "(x, alpha=1.0)",
    "softplus": "(x)",
    "one_hot": "(x, num_classes, axis=-1, dtype=None, sparse=False)",
    "erf": "(x)",
    "top_k": "(x, k, sorted=True)",
    "norm": "(x, ord=None, axis=None, keepdims=False)",
    "broadcast_to": "(x, shape)",
}


def _keras_parameters(name: str) -> list:
    """The parameters of Keras's signature of ``name``, read back from its text (by a lambda
    with that parameter list), less the ``**kwargs`` Keras hands einsum's backend (none is
    documented)."""
    stub = eval(f"lambda {KERAS_SIGNATURES[name][1:-1]}: None")
    return [p for p in inspect.signature(stub).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD]


@pytest.mark.parametrize("name", sorted(KERAS_SIGNATURES))
def test_signature_is_keras(name):
    """Keras's parameters in Keras's order, kinds and defaults; fastdl may add parameters with
    defaults after them (var's and std's ``ddof``) and give a default where Keras has none
    (clip's bounds: one-sided clipping)."""
    keras = _keras_parameters(name)
    ours = list(inspect.signature(getattr(ops, name)).parameters.values())
    assert [(p.name, p.kind) for p in ours[:len(keras)]] == [(p.name, p.kind) for p in keras]
    for k, p in zip(keras, ours):
        if k.default is not inspect.Parameter.empty:
            assert p.default == k.default, f"{name}: {p.name}={p.default!r}, Keras {k.default!r}"
    assert all(p.default is not inspect.Parameter.empty for p in ours[len(keras):])


def test_keras_ops_offers_exactly_the_operations_checked_here():
    assert set(ops.__all__) == set(KERAS_SIGNATURES)


def test_keras_ops_is_fastdl_ops_but_for_gelu():
    for name in ops.__all__:
        if name != "gelu":
            assert getattr(ops, name) is getattr(fastdl.ops, name), name
    # Keras's ops.gelu defaults to the tanh approximation, keras.activations.gelu (and
    # fastdl.ops.gelu) to the exact form.
    x = fastdl.tensor([1.0], dtype="float64")
    np.testing.assert_allclose(ops.gelu(x).numpy(), fastdl.ops.gelu(x, approximate=True).numpy())
    np.testing.assert_allclose(ops.gelu(x, approximate=False).numpy(),
                               fastdl.ops.gelu(x).numpy())


# ---------------------------------------------------------------------------- values

A = np.arange(12, dtype="float32").reshape(3, 4)
V = np.array([3.0, -4.0, 0.0, 1.5], "float32")
M = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], "float32")

#: (call, (values, dtype)) or, for several outputs, (call, [(values, dtype), ...]): each call
#: run in Keras 3.15.1 (TensorFlow backend) on the inputs above, and the values (rounded to 7
#: significant digits) and dtypes it printed.
KERAS_RESULTS = [
    ('split(A, 2, axis=1)',
     [([[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]], 'float32'),
      ([[2.0, 3.0], [6.0, 7.0], [10.0, 11.0]], 'float32')]),
    ('split(A, [1, 3], axis=1)',
     [([[0.0], [4.0], [8.0]], 'float32'), ([[1.0, 2.0], [5.0, 6.0], [9.0, 10.0]], 'float32'),
      ([[3.0], [7.0], [11.0]], 'float32')]),
    ("split(np.arange(6.0, dtype='float32'), [0, 6])",
     [([], 'float32'), ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 'float32'), ([], 'float32')]),
    ('repeat(M, 2)', ([1.0, 1.0, -2.0, -2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0, -6.0, -6.0], 'float32')),
    ('repeat(A, [1, 2, 0], axis=0)',
     ([[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [4.0, 5.0, 6.0, 7.0]], 'float32')),
    ('tile(V[:2], 2)', ([3.0, -4.0, 3.0, -4.0], 'float32')),
    ('tile(V[:2], [2, 2])', ([[3.0, -4.0, 3.0, -4.0], [3.0, -4.0, 3.0, -4.0]], 'float32')),
    ('tile(M, [2])',
     ([[1.0, -2.0, 3.0, 1.0, -2.0, 3.0], [4.0, 5.0, -6.0, 4.0, 5.0, -6.0]], 'float32')),
    ('take(A, [[0, 5], [11, -1]])', ([[0.0, 5.0], [11.0, 11.0]], 'float32')),
    ('take(A, [2, 0], axis=1)', ([[2.0, 0.0], [6.0, 4.0], [10.0, 8.0]], 'float32')),
    ('take(A, 1, axis=1)', ([1.0, 5.0, 9.0], 'float32')),
    ('take_along_axis(A, np.array([[0], [3], [1]]), axis=1)', ([[0.0], [7.0], [9.0]], 'float32')),
    ('take_along_axis(A, np.array([0, 11, 5]), axis=None)', ([0.0, 11.0, 5.0], 'float32')),
    ('take_along_axis(A, np.array([[0, 1, 2, 0]]), axis=0)', ([[0.0, 5.0, 10.0, 3.0]], 'float32')),
    ("einsum('ij,kj->ik', M, M)", ([[14.0, -24.0], [-24.0, 77.0]], 'float32')),
    ("einsum('ij,jk', M, A[:3, :2])", ([[16.0, 18.0], [-28.0, -25.0]], 'float32')),
    ("einsum('ii', A[:, :3])", (15.0, 'float32')),
    ("einsum('ii->i', A[:, :3])", ([0.0, 5.0, 10.0], 'float32')),
    ("einsum('...j,j->...', A, V)", ([0.5, 2.5, 4.5], 'float32')),
    ("einsum('ij->', M)", (5.0, 'float32')),
    ("einsum('i,j->ij', V[:2], V[:3])", ([[9.0, -12.0, 0.0], [-12.0, 16.0, 0.0]], 'float32')),
    ('tensordot(M, M)', (91.0, 'float32')),
    ('tensordot(M, A[:3], axes=1)',
     ([[16.0, 18.0, 20.0, 22.0], [-28.0, -25.0, -22.0, -19.0]], 'float32')),
    ('tensordot(V[:2], V[:3], axes=0)', ([[9.0, -12.0, 0.0], [-12.0, 16.0, 0.0]], 'float32')),
    ('tensordot(M, A[:2], axes=([0], [0]))',
     ([[16.0, 21.0, 26.0, 31.0], [20.0, 23.0, 26.0, 29.0], [-24.0, -27.0, -30.0, -33.0]],
      'float32')),
    ('tensordot(M, A[:2], axes=(0, 0))',
     ([[16.0, 21.0, 26.0, 31.0], [20.0, 23.0, 26.0, 29.0], [-24.0, -27.0, -30.0, -33.0]],
      'float32')),
    ('tensordot(M, M, axes=[[0, 1], [0, 1]])', (91.0, 'float32')),
    ('dot(V, V)', (27.25, 'float32')),
    ('dot(2.0, V)', ([6.0, -8.0, 0.0, 3.0], 'float32')),
    ('dot(M, A[:3])', ([[16.0, 18.0, 20.0, 22.0], [-28.0, -25.0, -22.0, -19.0]], 'float32')),
    ('dot(A.reshape(3, 2, 2), M[:, :2].T)',
     ([[[-2.0, 5.0], [-4.0, 23.0]], [[-6.0, 41.0], [-8.0, 59.0]], [[-10.0, 77.0], [-12.0, 95.0]]],
      'float32')),
    ('dot(A, V)', ([0.5, 2.5, 4.5], 'float32')),
    ('norm(V)', (5.220153, 'float32')),
    ('norm(V, ord=1)', (8.5, 'float32')),
    ('norm(V, ord=np.inf)', (4.0, 'float32')),
    ('norm(V, ord=-np.inf)', (0.0, 'float32')),
    ('norm(V, ord=0)', (3.0, 'float32')),
    ('norm(V, ord=3)', (4.552875, 'float32')),
    ('norm(M)', (9.539392, 'float32')),
    ('norm(M, axis=0)', ([4.123106, 5.385165, 6.708204], 'float32')),
    ('norm(M, axis=-1, keepdims=True)', ([[3.741657], [8.774964]], 'float32')),
    ("norm(M, ord='nuc')", (11.65379, 'float32')),
    ('norm(M, ord=1)', (9.0, 'float32')),
    ('norm(M, ord=-1)', (5.0, 'float32')),
    ('norm(M, ord=np.inf)', (15.0, 'float32')),
    ('norm(M, ord=-np.inf)', (6.0, 'float32')),
    ('norm(M, ord=2)', (9.225029, 'float32')),
    ('norm(M, ord=-2)', (2.428758, 'float32')),
    ('norm(M, ord=1, axis=(1, 0))', (15.0, 'float32')),
    ("norm(np.array([3, 4], 'int32'))", (5.0, 'float32')),
    ('var(A)', (11.91667, 'float32')),
    ('std(A, axis=0)', ([3.265986, 3.265986, 3.265986, 3.265986], 'float32')),
    ("var(np.array([1, 2, 3, 4], 'int32'))", (1.25, 'float32')),
    ("mean(np.array([1, 2], 'int32'))", (1.5, 'float32')),
    ('cumsum(A)',
     ([0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 21.0, 28.0, 36.0, 45.0, 55.0, 66.0], 'float32')),
    ('cumsum(A, axis=-1)',
     ([[0.0, 1.0, 3.0, 6.0], [4.0, 9.0, 15.0, 22.0], [8.0, 17.0, 27.0, 38.0]], 'float32')),
    ("cumsum(np.array([1, 2, 3], 'int32'))", ([1, 3, 6], 'int32')),
    ("cumsum(np.array([1, 2, 3], 'int8'))", ([1, 3, 6], 'int8')),
    ('cumsum(np.array([True, True, False]))', ([1, 2, 2], 'int32')),
    ("cumsum(np.array([1, 2, 3], 'int32'), dtype='float32')", ([1.0, 3.0, 6.0], 'float32')),
    ("top_k(np.array([1., 5., 3., 5., 2.], 'float32'), 3)",
     [([5.0, 5.0, 3.0], 'float32'), ([1, 3, 2], 'int32')]),
    ('top_k(A, 2)',
     [([[3.0, 2.0], [7.0, 6.0], [11.0, 10.0]], 'float32'), ([[3, 2], [3, 2], [3, 2]], 'int32')]),
    ('argmax(A)', (11, 'int32')),
    ('argmax(M, axis=1, keepdims=True)', ([[2], [1]], 'int32')),
    ("argmin(np.array([[3., 1.], [1., 1.]], 'float32'), axis=0)", ([1, 0], 'int32')),
    ('one_hot(np.array([0, 2, -1, 3]), 3)',
     ([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], 'float32')),
    ('one_hot(np.array([0, 2]), 3, axis=0)', ([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]], 'float32')),
    ("one_hot(np.array([0, 2]), 3, dtype='int32')", ([[1, 0, 0], [0, 0, 1]], 'int32')),
    ('one_hot(np.array([[0, 1], [2, 0]]), 3, axis=1)',
     ([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]], 'float32')),
    ('arange(3)', ([0, 1, 2], 'int32')),
    ('arange(1, 7, 2)', ([1, 3, 5], 'int32')),
    ('arange(0, 1, 0.25)', ([0.0, 0.25, 0.5, 0.75], 'float32')),
    ('arange(3.0)', ([0.0, 1.0, 2.0], 'float32')),
    ('linspace(0, 1, 5)', ([0.0, 0.25, 0.5, 0.75, 1.0], 'float32')),
    ('linspace(0, 1, 4, endpoint=False)', ([0.0, 0.25, 0.5, 0.75], 'float32')),
    ("linspace(0, 10, 3, dtype='int32')", ([0, 5, 10], 'int32')),
    ('eye(2, 3, k=1)', ([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], 'float32')),
    ('full((2,), 3)', ([3.0, 3.0], 'float32')),
    ("full_like(np.zeros(2, 'int32'), 3.7)", ([3, 3], 'int32')),
    ("ones_like(np.zeros(2, 'int32'))", ([1, 1], 'int32')),
    ('zeros(2)', ([0.0, 0.0], 'float32')),
    ('convert_to_tensor([1, 2])', ([1, 2], 'int32')),
    ('convert_to_tensor([1.0, 2.0])', ([1.0, 2.0], 'float32')),
    ('convert_to_tensor(np.array([1.0, 2.0]))', ([1.0, 2.0], 'float64')),
    ('where(np.array([[True, False], [False, True]]))', [([0, 1], 'int32'), ([0, 1], 'int32')]),
    ('logsumexp(A, axis=1, keepdims=True)', ([[3.44019], [7.44019], [11.44019]], 'float32')),
    ("logsumexp(np.array([1000.0, 1000.0], 'float32'))", (1000.693, 'float32')),
    ("logsumexp(np.array([-np.inf, -np.inf], 'float32'))", (-np.inf, 'float32')),
    ('softmax(M)',
     ([[0.1184997, 0.00589975, 0.8756006], [0.2689382, 0.7310496, 1.220977e-05]], 'float32')),
    ('softmax(M, axis=0)',
     ([[0.04742587, 0.0009110512, 0.9998766], [0.9525741, 0.999089, 0.0001233946]], 'float32')),
    ('softmax(A[:2, :3], axis=(0, 1))',
     ([[0.001619309, 0.004401737, 0.01196516], [0.08841126, 0.2403267, 0.6532757]], 'float32')),
    ('log_softmax(M, axis=(1, 0))',
     ([[-4.420327, -7.420327, -2.420327], [-1.420327, -0.4203268, -11.42033]], 'float32')),
    ('gelu(V)', ([2.996363, -7.021427e-05, 0.0, 1.399572], 'float32')),
    ('gelu(V, approximate=False)', ([2.99595, -0.000126685, 0.0, 1.399789], 'float32')),
    ('leaky_relu(V)', ([3.0, -0.8, 0.0, 1.5], 'float32')),
    ('elu(V, alpha=0.5)', ([3.0, -0.4908422, 0.0, 1.5], 'float32')),
    ('silu(V)', ([2.857722, -0.07194484, 0.0, 1.226362], 'float32')),
    ("softplus(np.array([-20.0, 0.0, 100.0], 'float32'))",
     ([2.061154e-09, 0.6931472, 100.0], 'float32')),
    ("erf(np.array([-1.0, 0.0, 0.5, 2.5], 'float32'))",
     ([-0.8427008, 0.0, 0.5204999, 0.999593], 'float32')),
    ("log1p(np.array([1e-10, 1.0], 'float32'))", ([1e-10, 0.6931472], 'float32')),
    ("sign(np.array([-3, 0, 2], 'int32'))", ([-1, 0, 1], 'int32')),
    ("square(np.array([3], 'int32'))", ([9], 'int32')),
    ("sqrt(np.array([4], 'int32'))", ([2.0], 'float32')),
    ('prod(M, axis=0, keepdims=True)', ([[4.0, -10.0, -18.0]], 'float32')),
    ("max(np.array([1., 2.], 'float32'), initial=5.)", (5.0, 'float32')),
    ("max(np.zeros((0,), 'float32'), initial=5.)", (5.0, 'float32')),
    ("clip(np.array([3, -4], 'int32'), -1, 2)", ([2, -1], 'int32')),
    ('expand_dims(M, (0, 3))', ([[[[1.0], [-2.0], [3.0]], [[4.0], [5.0], [-6.0]]]], 'float32')),
    ("squeeze(np.ones((1, 2, 1), 'float32'), (0, 2))", ([1.0, 1.0], 'float32')),
]


def _check(got, want, call: str) -> None:
    if isinstance(want, list):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), call
        for g, w in zip(got, want):
            _check(g, w, call)
        return
    values, dtype = want
    assert isinstance(got, fastdl.Tensor), call
    assert got.dtype == np.dtype(dtype), f"{call}: dtype {got.dtype}, Keras {dtype}"
    np.testing.assert_allclose(got.numpy(), np.asarray(values, got.dtype), rtol=2e-6,
                               atol=1e-7, err_msg=call)


@pytest.mark.parametrize("call, want", KERAS_RESULTS, ids=[call for call, _ in KERAS_RESULTS])
def test_results_match_keras(call, want):
    _check(eval(call, {"np": np, "A": A, "V": V, "M": M, **vars(ops)}), want, call)


def test_shape_is_a_tuple_of_ints():
    shape = ops.shape(fastdl.ones(2, 3))
    assert shape == (2, 3) and all(type(n) is int for n in shape)


def test_convert_to_numpy_gives_numpy_arrays():
    assert type(ops.convert_to_numpy(fastdl.ones(2))) is np.ndarray
    # Keras 3.15.1 printed int64 and float64 for these: plain NumPy conversions.
    assert ops.convert_to_numpy([1, 2]).dtype == np.int64
    assert ops.convert_to_numpy(3.0).dtype == np.float64


def test_linspace_retstep_gives_the_step():
    values, step = ops.linspace(0, 1, 5, retstep=True)
    assert values.dtype == step.dtype == np.float32 and float(step) == 0.25


def test_top_k_unsorted_keeps_the_order_of_the_input():
    values, indices = ops.top_k(fastdl.tensor([1.0, 5.0, 3.0, 4.0, 2.0]), 3, sorted=False)
    # Keras leaves the order unspecified; fastdl keeps that of the input.
    np.testing.assert_array_equal(indices.numpy(), [1, 2, 3])
    np.testing.assert_array_equal(values.numpy(), [5.0, 3.0, 4.0])


def test_integer_results_are_outside_the_graph():
    x = fastdl.tensor([[1.0, 5.0, 3.0]], requires_grad=True)
    values, indices = ops.top_k(x, 2)
    assert values.requires_grad and not indices.requires_grad
    assert not ops.argmax(x).requires_grad and not ops.argmin(x, axis=1).requires_grad
    (values * fastdl.tensor([[1.0, 10.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 10.0]])


def test_operations_take_keras_keyword_arguments():
    a = fastdl.tensor([[1.0, -2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(ops.add(x1=a, x2=1.0).numpy(), a.numpy() + 1)
    np.testing.assert_array_equal(ops.where(condition=a > 0, x1=a, x2=0.0).numpy(),
                                  [[1.0, 0.0], [3.0, 4.0]])
    np.testing.assert_array_equal(ops.clip(a, x_min=0.0, x_max=3.0).numpy(),
                                  [[1.0, 0.0], [3.0, 3.0]])
    np.testing.assert_array_equal(ops.leaky_relu(a, negative_slope=0.5).numpy(),
                                  [[1.0, -1.0], [3.0, 4.0]])
    assert ops.concatenate(xs=[a, a], axis=1).shape == (2, 4)
    assert ops.stack(x=[a, a]).shape == (2, 2, 2)
    assert ops.reshape(a, newshape=(4,)).shape == (4,)


# ---------------------------------------------------------------------------- bad input

BAD_CALLS = [
    (lambda: ops.split(A, 3, axis=1), ValueError, "split: 3 equal sections"),
    (lambda: ops.split(A, [3, 1], axis=1), ValueError, "split: the indices"),
    (lambda: ops.split(A, 2, axis=2), ValueError, "split: axis 2"),
    (lambda: ops.top_k(V, 5), ValueError, "top_k: k=5"),
    (lambda: ops.tensordot(M, M, axes=1), ValueError, "tensordot: axis 1 of x1"),
    (lambda: ops.tensordot(M, A, axes=([0], [0, 1])), ValueError, "tensordot: 1 axes"),
    (lambda: ops.tensordot(M, M, axes=3), ValueError, "tensordot: axes=3"),
    (lambda: ops.einsum("ij,jk->ik", M), ValueError, "einsum: the subscripts"),
    (lambda: ops.einsum("ij,jk->ik", M, M), ValueError, "einsum: 'ij,jk->ik' does not fit"),
    (lambda: ops.einsum("ijk", M), ValueError, "einsum: the subscripts 'ijk'"),
    (lambda: ops.take(A, [0.5]), TypeError, "take: indices must be integers"),
    (lambda: ops.take(A, [0], axis=2), ValueError, "take: axis 2"),
    (lambda: ops.take_along_axis(A, [0, 1], axis=1), ValueError, "take_along_axis: indices"),
    (lambda: ops.take_along_axis(A, [[0], [1]], axis=1), ValueError, "take_along_axis: indices"),
    (lambda: ops.repeat(A, [1, 2], axis=0), ValueError, "repeat: 2 repeats"),
    (lambda: ops.repeat(A, -1), ValueError, "repeat: repeats must not be negative"),
    (lambda: ops.tile(A, [-1]), ValueError, "tile: repeats must not be negative"),
    (lambda: ops.where(A > 0, A), ValueError, "where: give both"),
    (lambda: ops.norm(V, ord="fro"), ValueError, "norm: ord='fro' is not a vector norm"),
    (lambda: ops.norm(M, ord=3), ValueError, "norm: ord=3 is not a matrix norm"),
    (lambda: ops.norm(np.ones((2, 3, 4))), ValueError, "norm: axis=None"),
    (lambda: ops.norm(M, axis=(0, 0)), ValueError, "norm: axis="),
    (lambda: ops.expand_dims(A, 3), ValueError, "expand_dims: axis 3"),
    (lambda: ops.expand_dims(A, (0, 0)), ValueError, "expand_dims: repeated axis"),
    (lambda: ops.broadcast_to(A, (2, 3)), ValueError, "broadcast_to: a tensor of shape"),
    (lambda: ops.one_hot([0, 1], 3, axis=3), ValueError, "one_hot: axis 3"),
    (lambda: ops.one_hot([0, 1], 3, sparse=True), ValueError, "one_hot: fastdl has no sparse"),
    (lambda: ops.cumsum(A, axis=2), ValueError, "cumsum: axis 2"),
    (lambda: ops.argmax(np.zeros(0)), ValueError, "argmax: the input of shape"),
    (lambda: ops.convert_to_tensor([1], sparse=True), ValueError, "convert_to_tensor:"),
    (lambda: ops.reshape(A, (5, 5)), ValueError, "reshape: cannot reshape"),
    (lambda: ops.squeeze(A, 0), ValueError, "squeeze: axis 0"),
    (lambda: ops.concatenate([A, M]), ValueError, "concatenate: shapes"),
    (lambda: ops.matmul(A, M), ValueError, "matmul"),
    # An argument Keras does not have: Python's own error names the function.
    (lambda: ops.split(A, 2, axes=1), TypeError, r"split\(\) got an unexpected keyword"),
    (lambda: ops.top_k(V, 2, largest=True), TypeError, r"top_k\(\) got an unexpected"),
    (lambda: ops.norm(V, p=2), TypeError, r"norm\(\) got an unexpected keyword"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS,
                         ids=[f"{re.match(r'[a-z_]+', message).group()}-{i}"
                              for i, (_, _, message) in enumerate(BAD_CALLS)])
def test_bad_input_raises_naming_the_operation(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------- the Tensor


def _leaf(values) -> fastdl.Tensor:
    return fastdl.tensor(values, dtype="float64", requires_grad=True)


@pytest.mark.parametrize("expression, value, gradient", [
    (lambda t: 1 - t, [-1.0, -3.0], [-1.0, -1.0]),
    (lambda t: 2 ** t, [4.0, 16.0], [4 * np.log(2), 16 * np.log(2)]),
    (lambda t: t / 4, [0.5, 1.0], [0.25, 0.25]),
    (lambda t: 8 / t, [4.0, 2.0], [-2.0, -0.5]),
    (lambda t: t ** 2, [4.0, 16.0], [4.0, 8.0]),
    (lambda t: 3 * t + 1, [7.0, 13.0], [3.0, 3.0]),
    (lambda t: -t, [-2.0, -4.0], [-1.0, -1.0]),
], ids=["1 - t", "2 ** t", "t / 4", "8 / t", "t ** 2", "3 * t + 1", "-t"])
def test_operators_take_numbers_on_either_side(expression, value, gradient):
    t = _leaf([2.0, 4.0])
    out = expression(t)
    np.testing.assert_allclose(out.numpy(), value)
    out.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), gradient)


def test_comparisons_take_numbers_on_either_side():
    t = fastdl.tensor([1.0, 2.0, 3.0])
    for got, want in [(t < 2, [True, False, False]), (2 < t, [False, False, True]),
                      (t >= 2, [False, True, True]), (2 >= t, [True, True, False]),
                      (t == 2, [False, True, False]), (t != 2, [True, False, True])]:
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got.numpy(), want)


def test_len_and_iteration_over_the_first_axis_are_differentiable():
    t = _leaf([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(t) == 3
    rows = list(t)
    assert [r.shape for r in rows] == [(2,)] * 3 and all(r.requires_grad for r in rows)
    sum(row * weight for weight, row in enumerate(rows)).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])


def test_a_zero_dimensional_tensor_is_not_iterable():
    with pytest.raises(TypeError, match="0-d"):
        list(fastdl.tensor(3.0))


def test_numpy_shares_the_tensors_array():
    t = fastdl.tensor([1.0, 2.0])
    array = t.numpy()
    assert type(array) is np.ndarray
    array[0] = 7.0
    assert float(t[0]) == 7.0


def test_indexing_with_negative_steps_masks_and_tensors_is_differentiable():
    t = _leaf(np.arange(12.0).reshape(3, 4))
    picked = [t[::-1, ::-2], t[t > 8.5], t[fastdl.tensor([2, 0, 2])], t[..., -1]]
    np.testing.assert_array_equal(picked[0].numpy(), [[11.0, 9.0], [7.0, 5.0], [3.0, 1.0]])
    np.testing.assert_array_equal(picked[1].numpy(), [9.0, 10.0, 11.0])
    sum(p.sum() for p in picked).backward()
    # Each element's gradient counts the times it was picked.
    np.testing.assert_array_equal(t.grad.numpy(), [[1.0, 2.0, 1.0, 3.0],
                                                    [0.0, 1.0, 0.0, 2.0],
                                                    [2.0, 4.0, 3.0, 5.0]])


def test_the_gradient_of_a_zero_dimensional_leaf_is_an_array():
    # NumPy arithmetic on 0-d arrays gives NumPy scalars; a .grad must hold an array anyway,
    # also when a second backward adds to it.
    x = _leaf(3.0)
    (x * x).backward()
    assert type(x.grad.data) is np.ndarray
    (x * x).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.numpy() == 12.0


# ---------------------------------------------------------------------------- on the GPU


@requires_gpu
def test_integer_and_created_results_stay_on_the_gpu():
    x = fastdl.tensor([[1.0, 5.0, 3.0], [4.0, 0.0, 2.0]], device="cuda", requires_grad=True)
    values, indices = ops.top_k(x, 2)
    assert values.device == indices.device == "cuda" and indices.dtype == np.int32
    np.testing.assert_array_equal(to_cpu(indices.data), [[1, 2], [0, 2]])
    np.testing.assert_array_equal(to_cpu(ops.argmax(x, axis=1).data), [1, 0])
    found = ops.where(x > 2.5)
    assert all(axis.device == "cuda" for axis in found)
    np.testing.assert_array_equal(to_cpu(found[1].data), [1, 2, 0])
    hot = ops.one_hot(fastdl.tensor([0, 2], device="cuda"), 3)
    assert hot.device == "cuda" and hot.dtype == np.float32
    assert ops.zeros_like(x).device == ops.full_like(x, 2.0).device == "cuda"
    assert type(ops.convert_to_numpy(x)) is np.ndarray
    taken = ops.take(x, [0, 0, 5])
    taken.sum().backward()
    np.testing.assert_array_equal(to_cpu(x.grad.data), [[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def test_the_keras_namespace_carries_ops_and_random():
    # A subprocess: in this one other tests have imported fastdl.keras.ops already.
    import subprocess
    import sys
    code = ("from fastdl import keras; "
            "print(keras.ops.add(1.0, 2.0).item(), keras.random.uniform((2,), seed=3).shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["3.0", "(2,)"]
