"""The Tensor API: construction, memory sharing with NumPy and DLPack, creation functions,
properties, seeding, dtypes through a graph, and comparisons."""
import operator

import numpy as np
import pytest

import fastdl

import reference as ref


# --------------------------------------------------------------------------- construction

@pytest.mark.parametrize("data, dtype", [
    pytest.param(1.5, np.float32, id="python_float"),
    pytest.param([[1.0, 2.0], [3.0, 4.5]], np.float32, id="float_list"),
    pytest.param([1, 2.5], np.float32, id="mixed_list"),
    pytest.param(3, np.int64, id="python_int"),
    pytest.param([[1, 2], [3, 4]], np.int64, id="int_list"),
    pytest.param(True, np.bool_, id="python_bool"),
    pytest.param(np.array([1.0, 2.0]), np.float64, id="float64_array"),
    pytest.param(np.array([1.0, 2.0], np.float32), np.float32, id="float32_array"),
    pytest.param(np.array([1, 2], np.int32), np.int32, id="int32_array"),
    pytest.param(np.array([1, 2], np.uint8), np.uint8, id="uint8_array"),
])
def test_tensor_infers_dtype(data, dtype):
    t = fastdl.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data).astype(dtype))
    assert not t.requires_grad and t.grad is None and t.is_leaf


@pytest.mark.parametrize("data", [[1, 2], [1.0, 2.0], np.arange(2.0)])
def test_tensor_dtype_argument_wins(data):
    assert fastdl.tensor(data, dtype=np.float64).dtype == np.float64
    assert fastdl.tensor(data, dtype="float32").dtype == np.float32
    assert fastdl.tensor(data, dtype=np.int32).dtype == np.int32


def test_tensor_copies_its_data():
    a = np.arange(6.0).reshape(2, 3)
    t = fastdl.tensor(a)
    assert not np.shares_memory(t.numpy(), a)
    a[0, 0] = 100.0
    assert t.numpy()[0, 0] == 0.0
    u = fastdl.tensor(t)
    assert not np.shares_memory(u.numpy(), t.numpy()) and u.dtype == np.float64


def test_tensor_requires_grad():
    t = fastdl.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None


@pytest.mark.parametrize("make", [
    pytest.param(lambda: fastdl.tensor([1, 2], requires_grad=True), id="int_list"),
    pytest.param(lambda: fastdl.tensor([1.0], dtype=np.int32, requires_grad=True),
                 id="int_dtype"),
    pytest.param(lambda: fastdl.tensor([True], requires_grad=True), id="bool"),
    pytest.param(lambda: fastdl.zeros(3, dtype=np.int64, requires_grad=True), id="zeros"),
    pytest.param(lambda: fastdl.arange(3, requires_grad=True), id="arange"),
    pytest.param(lambda: fastdl.tensor([1, 2]).requires_grad_(), id="requires_grad_"),
])
def test_requires_grad_on_integer_tensor_raises(make):
    with pytest.raises(TypeError, match="floating"):
        make()


# --------------------------------------------------------------------------- NumPy, DLPack

def test_from_numpy_and_numpy_share_memory_both_ways():
    a = np.zeros((2, 3), np.float32)
    t = fastdl.from_numpy(a)
    assert t.dtype == np.float32 and t.shape == (2, 3)
    a[1, 2] = 5.0
    assert t.numpy()[1, 2] == 5.0
    t.numpy()[0, 0] = -1.0
    assert a[0, 0] == -1.0
    assert np.shares_memory(t.numpy(), a)


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError, match="from_numpy"):
        fastdl.from_numpy([1.0, 2.0])


def test_numpy_of_an_operation_result_is_an_array():
    x = fastdl.tensor(2.0, requires_grad=True)
    y = x * x  # 0-d operands: NumPy itself would give a scalar
    assert type(y.numpy()) is np.ndarray and y.shape == () and y.item() == 4.0
    assert np.from_dlpack(y).item() == 4.0


def test_dlpack_device_is_cpu_as_ints():
    device = fastdl.ones(3).__dlpack_device__()
    assert device == (1, 0)  # kDLCPU, device 0
    assert all(isinstance(v, int) for v in device)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dlpack_round_trip_shares_memory(dtype):
    t = fastdl.tensor(np.arange(6).reshape(2, 3), dtype=dtype)
    a = np.from_dlpack(t)
    assert a.dtype == dtype and a.shape == (2, 3)
    assert np.shares_memory(a, t.numpy())
    a[0, 1] = 42
    assert t.numpy()[0, 1] == 42

    back = fastdl.from_dlpack(a)
    assert isinstance(back, fastdl.Tensor) and back.dtype == dtype
    back.numpy()[1, 2] = 7
    assert t.numpy()[1, 2] == 7 and a[1, 2] == 7


def test_from_dlpack_of_numpy_array_shares_memory():
    a = np.linspace(0.0, 1.0, 5)
    t = fastdl.from_dlpack(a)
    a[2] = -3.0
    assert t.numpy()[2] == -3.0 and t.dtype == np.float64


# --------------------------------------------------------------------------- creation

@pytest.mark.parametrize("make, shape, dtype, value", [
    pytest.param(lambda: fastdl.zeros(2, 3), (2, 3), np.float32, 0.0, id="zeros"),
    pytest.param(lambda: fastdl.zeros((2, 3), dtype=np.float64), (2, 3), np.float64, 0.0,
                 id="zeros_tuple_f64"),
    pytest.param(lambda: fastdl.ones(4), (4,), np.float32, 1.0, id="ones"),
    pytest.param(lambda: fastdl.ones([1, 2, 3], dtype="int64"), (1, 2, 3), np.int64, 1,
                 id="ones_list_int"),
    pytest.param(lambda: fastdl.full((2, 2), 7.5), (2, 2), np.float32, 7.5, id="full"),
    pytest.param(lambda: fastdl.full(3, -2, dtype=np.float64), (3,), np.float64, -2.0,
                 id="full_int_shape"),
    pytest.param(lambda: fastdl.zeros_like(np.ones((2, 5), np.float64)), (2, 5), np.float64,
                 0.0, id="zeros_like_array"),
    pytest.param(lambda: fastdl.ones_like(fastdl.zeros(3, 1)), (3, 1), np.float32, 1.0,
                 id="ones_like_tensor"),
    pytest.param(lambda: fastdl.ones_like(fastdl.zeros(3), dtype=np.float64), (3,),
                 np.float64, 1.0, id="ones_like_dtype"),
    pytest.param(lambda: fastdl.zeros_like(fastdl.arange(4)), (4,), np.int64, 0,
                 id="zeros_like_int"),
])
def test_constant_creation(make, shape, dtype, value):
    t = make()
    assert t.shape == shape and t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.full(shape, value, dtype))


def test_creation_requires_grad():
    for t in (fastdl.zeros(2, requires_grad=True), fastdl.ones(2, requires_grad=True),
              fastdl.full(2, 1.0, requires_grad=True), fastdl.rand(2, requires_grad=True),
              fastdl.randn(2, requires_grad=True),
              fastdl.zeros_like(fastdl.ones(2), requires_grad=True)):
        assert t.requires_grad and t.is_leaf


@pytest.mark.parametrize("args, kwargs, expected", [
    ((5,), {}, np.arange(5)),
    ((2, 7), {}, np.arange(2, 7)),
    ((10, 0, -3), {}, np.arange(10, 0, -3)),
    ((0.0, 1.0, 0.25), {}, np.arange(0.0, 1.0, 0.25).astype(np.float32)),
    ((3,), {"dtype": np.float64}, np.arange(3.0)),
])
def test_arange(args, kwargs, expected):
    t = fastdl.arange(*args, **kwargs)
    assert t.dtype == expected.dtype
    np.testing.assert_array_equal(t.numpy(), expected)


@pytest.mark.parametrize("dtype", [None, np.float32, np.float64])
def test_rand_and_randn_shapes_dtypes_and_distribution(dtype):
    fastdl.manual_seed(0)
    u = fastdl.rand(400, 250, dtype=dtype)
    z = fastdl.randn((400, 250), dtype=dtype)
    expected = np.dtype(dtype or np.float32)
    assert u.shape == z.shape == (400, 250) and u.dtype == z.dtype == expected
    u, z = u.numpy(), z.numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    # 100,000 samples: the standard errors are ~0.001 (uniform mean) and ~0.003 (normal).
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    assert abs(z.mean()) < 0.015 and abs(z.std() - 1.0) < 0.015


@pytest.mark.parametrize("draw", [
    pytest.param(lambda: fastdl.rand(50), id="rand"),
    pytest.param(lambda: fastdl.randn(5, 10, dtype=np.float64), id="randn"),
    pytest.param(lambda: fastdl.dropout(fastdl.ones(50), 0.5), id="dropout"),
])
def test_manual_seed_reproduces_random_values(draw):
    fastdl.manual_seed(123)
    first, second = draw().numpy(), draw().numpy()
    fastdl.manual_seed(123)
    np.testing.assert_array_equal(draw().numpy(), first)
    np.testing.assert_array_equal(draw().numpy(), second)
    assert not np.array_equal(first, second)
    fastdl.manual_seed(124)
    assert not np.array_equal(draw().numpy(), first)


# --------------------------------------------------------------------------- properties

def test_properties():
    t = fastdl.zeros(2, 3, 4, dtype=np.float64)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.size == 24 and len(t) == 2
    assert t.dtype == np.float64 and t.device == "cpu"
    assert fastdl.tensor(5.0).shape == () and fastdl.tensor(5.0).size == 1


@pytest.mark.parametrize("data, expected", [
    (2.5, 2.5), ([[7]], 7), (np.array([3.25]), 3.25), (True, True),
])
def test_item_returns_python_scalar(data, expected):
    value = fastdl.tensor(data).item()
    assert value == expected and type(value) is type(expected)


def test_item_on_several_elements_raises_with_shape():
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        fastdl.ones(2, 2).item()


@pytest.mark.parametrize("t, expected", [
    (fastdl.tensor([1.0, 2.5]), "tensor([1. , 2.5])"),
    (fastdl.tensor([[1, 2], [3, 4]]), "tensor([[1, 2],\n        [3, 4]])"),
    (fastdl.tensor([1.0], dtype=np.float64), "tensor([1.], dtype=float64)"),
    (fastdl.tensor([1, 2], dtype=np.int32), "tensor([1, 2], dtype=int32)"),
    (fastdl.tensor([0.5], requires_grad=True), "tensor([0.5], requires_grad=True)"),
    (fastdl.tensor([True, False]), "tensor([ True, False])"),
])
def test_repr(t, expected):
    assert repr(t) == expected


# --------------------------------------------------------------------------- float64 graphs

SCALAR_OPERANDS = [
    pytest.param(lambda t: t + 1, id="add_int"),
    pytest.param(lambda t: 2.5 - t, id="rsub_float"),
    pytest.param(lambda t: t * 3, id="mul_int"),
    pytest.param(lambda t: 1.0 / (t + 3.0), id="rdiv_float"),
    pytest.param(lambda t: t ** 2, id="pow_int"),
    pytest.param(lambda t: 2.0 ** t, id="rpow_float"),
    pytest.param(lambda t: fastdl.maximum(t, 0.5), id="maximum_float"),
    pytest.param(lambda t: fastdl.where(t > 0, t, 0.0), id="where_float"),
    pytest.param(lambda t: t.clip(-1, 1), id="clip_int"),
    pytest.param(lambda t: fastdl.pad(t, 1, value=2.5), id="pad_float"),
    pytest.param(lambda t: fastdl.leaky_relu(t, 0.1), id="leaky_relu"),
    pytest.param(lambda t: fastdl.dropout(t, 0.5), id="dropout"),
    pytest.param(lambda t: t.mean(axis=0) + t.var(), id="mean_var"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", SCALAR_OPERANDS)
def test_python_scalar_operands_keep_the_dtype(fn, dtype):
    t = fastdl.randn(3, 4, dtype=dtype, requires_grad=True)
    y = fn(t)
    assert y.dtype == dtype
    y.sum().backward()
    assert t.grad.dtype == dtype


def test_float64_graph_end_to_end():
    """A two-layer network in float64 with a float32 parameter mixed in: every intermediate
    stays float64, the loss matches a float64 NumPy computation to float64 precision (float32
    anywhere on the way would leave an error near 1e-7), and every gradient has its
    parameter's dtype and float64-accurate values."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 5))
    labels = rng.integers(0, 3, 6)
    params = {"w1": rng.standard_normal((5, 4)), "b1": rng.standard_normal(4),
              "w2": rng.standard_normal((4, 3)), "scale": rng.standard_normal(3)}
    dtypes = {"w1": np.float64, "b1": np.float64, "w2": np.float64, "scale": np.float32}
    params["scale"] = params["scale"].astype(np.float32).astype(np.float64)

    def loss_fn(p, np_mode):
        h = (ref.linear(x, p["w1"], p["b1"], "tanh") if np_mode
             else fastdl.linear(fastdl.tensor(x), p["w1"], p["b1"], "tanh"))
        h = (h * 2.0 - 1) ** 2 / 3.0 + abs(h)
        z = (h @ p["w2"]) * p["scale"]
        if np_mode:
            return ref.softmax_cross_entropy(z, labels)[0] + 0.5 * (z ** 2).mean()
        intermediates.extend([h, z])
        return fastdl.softmax_cross_entropy(z, labels) + 0.5 * (z ** 2).mean()

    intermediates = []
    tensors = {k: fastdl.tensor(v, dtype=dtypes[k], requires_grad=True)
               for k, v in params.items()}
    loss = loss_fn(tensors, np_mode=False)
    assert [t.dtype for t in intermediates + [loss]] == [np.float64] * 3
    np.testing.assert_allclose(loss.item(), loss_fn(params, np_mode=True), rtol=1e-13)

    loss.backward()
    for name, value in params.items():
        def f(v, name=name):
            return loss_fn({**params, name: v}, np_mode=True)

        grad = tensors[name].grad
        assert grad.dtype == dtypes[name] and grad.shape == value.shape
        rtol = 1e-6 if dtypes[name] == np.float64 else 1e-6 + 2 ** -24
        np.testing.assert_allclose(grad.numpy(), ref.numeric_gradient(f, value), rtol=rtol,
                                   atol=1e-8)


def test_astype_is_differentiable_and_casts_the_gradient_back():
    x = fastdl.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and x.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert x.double().float().dtype == np.float32


# --------------------------------------------------------------------------- comparisons

@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge,
                                     operator.eq, operator.ne])
@pytest.mark.parametrize("other", [0.5, np.array([0.5, 1.0, 3.0]), "tensor"])
def test_comparisons_give_boolean_tensors_without_gradient(compare, other):
    a = np.array([0.5, 2.0, -1.0])
    x = fastdl.tensor(a, requires_grad=True)
    if isinstance(other, str):
        other = fastdl.tensor([0.5, 1.0, 3.0], requires_grad=True)
    out = compare(x, other)
    assert isinstance(out, fastdl.Tensor)
    assert out.dtype == np.bool_ and not out.requires_grad and out.is_leaf
    expected = compare(a, other.numpy() if isinstance(other, fastdl.Tensor) else other)
    np.testing.assert_array_equal(out.numpy(), expected)


def test_numpy_scalars_keep_their_dtype():
    assert fastdl.tensor(np.float64(1.5)).dtype == np.float64
    assert fastdl.tensor(np.float32(1.5)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, 8, 9, 100003])
def test_add_updates_in_place(isa, dtype, n):
    rng = np.random.default_rng(n)
    w0, g = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    w = fastdl.tensor(w0, requires_grad=True)
    data = w.numpy()
    with fastdl.no_grad():
        assert w.add_(fastdl.tensor(g), alpha=-0.25) is w
    assert w.numpy() is data
    np.testing.assert_allclose(w.numpy(), w0.astype(np.float64) - 0.25 * g, rtol=1e-6)


def test_add_broadcasts_like_numpy():
    t = fastdl.zeros(2, 3)
    t.add_(fastdl.tensor([1.0, 2.0, 3.0]), alpha=2.0)
    np.testing.assert_array_equal(t.numpy(), [[2, 4, 6], [2, 4, 6]])


def test_add_refuses_to_change_a_recorded_parameter():
    w = fastdl.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: .* under fastdl.no_grad"):
        w.add_(fastdl.ones(3))


def test_axpy_validates_its_arguments():
    from fastdl import _C
    y = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"axpy: x has shape \(3,\) but y has shape \(4,\)"):
        _C.axpy(1.0, np.zeros(3, np.float32), y)
    y.setflags(write=False)
    with pytest.raises(ValueError, match=r"axpy: y \(shape \(4,\)\) must be a writeable"):
        _C.axpy(1.0, np.zeros(4, np.float32), y)
    with pytest.raises(TypeError, match="axpy: unsupported dtype int64"):
        _C.axpy(1.0, np.zeros(4, np.int64), np.zeros(4, np.int64))


def unaligned(values):
    """``values`` as float32 starting one byte into a buffer, as an array unpickled from a
    byte string may be: NumPy marks it not aligned."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    raw = bytearray(values.nbytes + 1)
    out = np.frombuffer(raw, dtype=np.float32, count=values.size, offset=1).reshape(values.shape)
    out[...] = values
    assert not out.flags.aligned
    return out


def test_pickled_and_unaligned_arrays_are_taken_as_they_are():
    """An array rebuilt by pickle (multiprocessing, joblib) has a dtype object of its own, and
    may not be aligned: the kernels take both, with the values of the plain array."""
    import pickle

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((33, 20)), rng.standard_normal((20, 17))
    want = a.astype(np.float32) @ b.astype(np.float32)
    pickled = pickle.loads(pickle.dumps(a.astype(np.float32)))
    assert pickled.dtype is not np.dtype(np.float32)  # equal, but another object
    np.testing.assert_allclose(fastdl.matmul(pickled, b.astype(np.float32)).numpy(), want,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fastdl.matmul(unaligned(a), unaligned(b)).numpy(), want,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fastdl.tanh(unaligned(a)).numpy(), np.tanh(a), rtol=1e-5,
                               atol=1e-6)
    image, kernel = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 4))
    np.testing.assert_allclose(
        fastdl.conv2d(unaligned(image), unaligned(kernel)).numpy(),
        fastdl.conv2d(image.astype(np.float32), kernel.astype(np.float32)).numpy(), rtol=1e-6)
