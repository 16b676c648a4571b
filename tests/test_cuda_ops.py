"""Every differentiable operation on GPU tensors against the same operation on CPU tensors:
the forward values and the gradient of each input (the glue operations run on CuPy, the hot ones
on fastdl's CUDA kernels)."""
import numpy as np
import pytest

import fastdl
from cuda_support import requires_gpu, to_cpu

pytestmark = requires_gpu


def check_op(fn, *shapes, rtol=1e-5, atol=1e-6, positive=False, seed=0):
    """Runs ``fn`` on CPU tensors and on GPU copies of them, and compares the outputs and the
    gradients of every input (a fixed random cotangent is back-propagated)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    if positive:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    results = {}
    for device in ("cpu", "cuda"):
        inputs = [fastdl.tensor(a, device=device, requires_grad=True) for a in arrays]
        out = fn(*inputs)
        assert out.device == device
        cotangent = np.random.default_rng(99).standard_normal(out.shape).astype(out.dtype)
        out.backward(fastdl.tensor(cotangent, device=device))
        results[device] = (to_cpu(out.data) if device == "cuda" else out.numpy(),
                           [None if t.grad is None else
                            (to_cpu(t.grad.data) if device == "cuda" else t.grad.numpy())
                            for t in inputs])
    (y_cpu, g_cpu), (y_gpu, g_gpu) = results["cpu"], results["cuda"]
    np.testing.assert_allclose(y_gpu, y_cpu, rtol=rtol, atol=atol)
    for i, (a, b) in enumerate(zip(g_gpu, g_cpu)):
        assert (a is None) == (b is None), f"gradient {i}"
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient {i}")


@pytest.mark.parametrize("fn, shapes", [
    (lambda a, b: a + b, [(3, 4), (4,)]),
    (lambda a, b: a - b, [(3, 1), (1, 5)]),
    (lambda a, b: a * b, [(2, 3, 4), (3, 1)]),
    (lambda a, b: a / (b * b + 1), [(5,), (5,)]),
    (lambda a: -a.abs() + a.clip(-0.5, 0.5), [(7, 3)]),
    (lambda a, b: fastdl.maximum(a, b) + fastdl.minimum(a, b) * 2, [(4, 4), (4, 4)]),
    (lambda a, b: fastdl.where(a > 0, a, b), [(6,), (6,)]),
])
def test_elementwise(fn, shapes):
    check_op(fn, *shapes)


@pytest.mark.parametrize("fn", [lambda a: a.exp(), lambda a: a.log(), lambda a: a.sqrt(),
                                lambda a: a ** 1.5])
def test_elementwise_of_positive_inputs(fn):
    check_op(fn, (5, 7), positive=True)


@pytest.mark.parametrize("fn", [
    lambda a: a.sum(), lambda a: a.sum(axis=1, keepdims=True), lambda a: a.mean(axis=(0, 2)),
    lambda a: a.max(axis=1), lambda a: a.min(), lambda a: a.var(axis=-1),
])
def test_reductions(fn):
    check_op(fn, (4, 5, 6))


@pytest.mark.parametrize("fn", [
    lambda a: a.reshape(6, 10), lambda a: a.transpose(2, 0, 1), lambda a: a[1:, ::2],
    lambda a: a[np.array([0, 2, 2, 1])], lambda a: fastdl.pad(a, ((1, 0), (0, 2), (1, 1))),
    lambda a: fastdl.concatenate([a, a * 2], axis=1), lambda a: fastdl.stack([a, a], axis=0),
    lambda a: a.squeeze().unsqueeze(0),
])
def test_shape_operations(fn):
    check_op(fn, (3, 4, 5))


@pytest.mark.parametrize("fn, shapes", [
    (lambda a, b: a @ b, [(5, 7), (7, 3)]),
    (lambda a, b: a @ b, [(2, 5, 7), (7, 3)]),
    (lambda a, b: a @ b, [(7,), (7, 3)]),
    (lambda x, w, b: fastdl.linear(x, w, b, "relu"), [(9, 6), (6, 4), (4,)]),
    (lambda x, w, b: fastdl.linear(x, w, b, "tanh"), [(2, 9, 6), (6, 4), (4,)]),
])
def test_matrix_products(fn, shapes):
    check_op(fn, *shapes, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu", "leaky_relu"])
def test_activations(name):
    check_op(getattr(fastdl, name), (8, 9))


def test_softmax_family_and_cross_entropy():
    check_op(lambda a: fastdl.softmax(a, axis=-1), (6, 11))
    check_op(lambda a: fastdl.log_softmax(a, axis=0), (6, 11))
    labels = np.array([0, 3, 10, 5, 5, 1])
    check_op(lambda a: fastdl.softmax_cross_entropy(
        a, fastdl.tensor(labels, device=a.device).data), (6, 11))


@pytest.mark.parametrize("fn, shape", [
    (lambda x: fastdl.max_pool2d(x, 2), (2, 6, 7, 3)),
    (lambda x: fastdl.avg_pool2d(x, 3, 2, "same"), (2, 7, 7, 3)),
    (lambda x: fastdl.global_avg_pool2d(x), (2, 5, 4, 3)),
    (lambda x: fastdl.global_max_pool2d(x, keepdims=True), (2, 5, 4, 3)),
])
def test_pooling(fn, shape):
    check_op(fn, shape)


@pytest.mark.parametrize("padding, strides, activation", [
    ("valid", 1, None), ("same", 2, "relu"), ("valid", (2, 1), "sigmoid")])
def test_conv2d(padding, strides, activation):
    check_op(lambda x, w, b: fastdl.conv2d(x, w, b, strides, padding, activation=activation),
             (2, 9, 8, 3), (3, 3, 3, 5), (5,), rtol=1e-4, atol=1e-5)


def test_batch_normalization_trains_on_the_gpu():
    layer = fastdl.layers.BatchNormalization()
    check_op(lambda x: layer(x, training=True), (16, 5))


def test_dropout_keeps_the_expected_share_and_scales():
    x = fastdl.ones(1 << 16, device="cuda", requires_grad=True)
    y = fastdl.dropout(x, 0.25)
    kept = float((y > 0).sum().item()) / x.size
    assert abs(kept - 0.75) < 0.01
    assert float(y.max().item()) == pytest.approx(1 / 0.75)
    y.sum().backward()
    np.testing.assert_array_equal(to_cpu(x.grad.data), to_cpu(y.data))
