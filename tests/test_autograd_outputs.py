"""Functions with several outputs: what backward receives for each output (the sum of its
consumers' gradients, zeros or None for one that did not reach the loss), gradients through any
subset of the outputs and through chains of such nodes, fan-out, retain_graph, no_grad, graph
freeing, outputs that are not floating, and BatchNormalization's batch moments."""
import numpy as np
import pytest

import fastdl
from fastdl import Function

GRAD_TOL = dict(rtol=1e-6, atol=1e-7)


class SinCos(Function):
    """(sin x, cos x); records what backward received, for the tests that look at it."""

    received: list = []

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return np.sin(x), np.cos(x)

    @staticmethod
    def backward(ctx, grad_sin, grad_cos):
        SinCos.received.append((grad_sin, grad_cos))
        return grad_sin * np.cos(ctx.x) - grad_cos * np.sin(ctx.x)


class SinCosLazy(SinCos):
    """SinCos that asks for None, not zeros, for an output that did not reach the loss."""

    materialize_grads = False

    @staticmethod
    def backward(ctx, grad_sin, grad_cos):
        SinCos.received.append((grad_sin, grad_cos))
        total = 0.0
        if grad_sin is not None:
            total = total + grad_sin * np.cos(ctx.x)
        if grad_cos is not None:
            total = total - grad_cos * np.sin(ctx.x)
        return total


class SplitProduct(Function):
    """(a * b, a + b, argmax of a): two differentiable outputs of two inputs and an integer
    one, which stays out of the graph."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return a * b, a + b, np.argmax(a, axis=-1)

    @staticmethod
    def backward(ctx, grad_product, grad_sum, grad_index):
        assert grad_index is None or not np.any(grad_index)
        return grad_product * ctx.b + grad_sum, grad_product * ctx.a + grad_sum


@pytest.fixture(autouse=True)
def forget_received():
    SinCos.received.clear()
    yield
    SinCos.received.clear()


def random_tensor(shape, seed=0, requires_grad=True):
    values = np.random.default_rng(seed).uniform(-2.0, 2.0, shape)
    return fastdl.tensor(values, requires_grad=requires_grad)


# --------------------------------------------------------------------------- apply


def test_apply_returns_one_tensor_per_output_each_knowing_its_node():
    x = random_tensor((3, 4))
    s, c = SinCos.apply(x)
    np.testing.assert_allclose(s.numpy(), np.sin(x.numpy()), rtol=1e-15)
    np.testing.assert_allclose(c.numpy(), np.cos(x.numpy()), rtol=1e-15)
    assert s.requires_grad and c.requires_grad
    assert s._node is c._node and isinstance(s._node, SinCos)
    assert (s._output_index, c._output_index) == (0, 1)


def test_integer_outputs_stay_out_of_the_graph():
    a, b = random_tensor((3, 4), 1), random_tensor((3, 4), 2)
    product, total, index = SplitProduct.apply(a, b)
    assert product.requires_grad and total.requires_grad
    assert not index.requires_grad and index.is_leaf
    np.testing.assert_array_equal(index.numpy(), np.argmax(a.numpy(), axis=-1))


def test_no_grad_records_nothing_for_any_output():
    x = random_tensor((2, 3))
    with fastdl.no_grad():
        outputs = SinCos.apply(x)
    assert all(not t.requires_grad and t.is_leaf for t in outputs)


# --------------------------------------------------------------------------- what backward gets


def test_an_output_that_did_not_reach_the_loss_gets_zeros_of_its_shape_and_dtype():
    x = fastdl.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3).astype(np.float32),
                      requires_grad=True)
    s, _ = SinCos.apply(x)
    s.sum().backward()
    ((grad_sin, grad_cos),) = SinCos.received
    np.testing.assert_array_equal(grad_sin, np.ones((2, 3), np.float32))
    assert grad_cos.shape == (2, 3) and grad_cos.dtype == np.float32 and not grad_cos.any()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.numpy()), rtol=1e-6)


def test_materialize_grads_false_passes_none_instead():
    x = random_tensor((5,))
    _, c = SinCosLazy.apply(x)
    (c * 3).sum().backward()
    ((grad_sin, grad_cos),) = SinCos.received
    assert grad_sin is None
    np.testing.assert_array_equal(grad_cos, np.full(5, 3.0))
    np.testing.assert_allclose(x.grad.numpy(), -3 * np.sin(x.numpy()), rtol=1e-12)


def test_a_node_whose_outputs_received_nothing_does_not_run():
    x = random_tensor((4,))
    s, c = SinCos.apply(x)
    # where's condition gets no gradient: nothing flows back into SinCos.
    y = fastdl.where(s.numpy() > 0, random_tensor((4,), 3), 0.0)
    y.sum().backward()
    assert SinCos.received == [] and x.grad is None


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("use", [
    pytest.param(lambda s, c: s, id="first only"),
    pytest.param(lambda s, c: c, id="second only"),
    pytest.param(lambda s, c: s * c, id="both"),
    pytest.param(lambda s, c: s * s + s, id="one used twice"),
    pytest.param(lambda s, c: c.sum() * s + c, id="both, one broadcast"),
])
@pytest.mark.parametrize("cls", [SinCos, SinCosLazy])
def test_gradcheck_through_any_subset_of_the_outputs(cls, use):
    x = random_tensor((3, 4), 4)
    assert fastdl.gradcheck(lambda t: use(*cls.apply(t)), [x], **GRAD_TOL)


def test_gradcheck_through_a_chain_of_multi_output_nodes():
    def chain(t):
        s, c = SinCos.apply(t)
        s2, c2 = SinCos.apply(s * 2 + c)   # the second node consumes both outputs of the first
        s3, _ = SinCosLazy.apply(c2)       # and the third only one output of the second
        return s3 * s2 + c

    assert fastdl.gradcheck(chain, [random_tensor((2, 5), 5)], **GRAD_TOL)


def test_gradcheck_with_two_inputs_and_an_integer_output():
    def fn(a, b):
        product, total, index = SplitProduct.apply(a, b)
        return product * 2 - total * index.numpy()[:, None]

    assert fastdl.gradcheck(fn, [random_tensor((3, 4), 6), random_tensor((3, 4), 7)],
                            **GRAD_TOL)


def test_backward_from_the_second_output():
    x = random_tensor((3,), 8)
    _, c = SinCos.apply(x)
    c.backward(fastdl.tensor(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(x.grad.numpy(), -np.sin(x.numpy()) * [1.0, 2.0, 3.0],
                               rtol=1e-12)
    assert len(SinCos.received) == 1 and not SinCos.received[0][0].any()


def test_gradients_of_an_output_used_by_several_consumers_add_up_before_backward_runs():
    x = random_tensor((4,), 9)
    s, c = SinCos.apply(x)
    loss = (s * 2).sum() + (s * 3).sum() + (c * 5).sum()
    loss.backward()
    ((grad_sin, grad_cos),) = SinCos.received  # one call, with the sums
    np.testing.assert_array_equal(grad_sin, np.full(4, 5.0))
    np.testing.assert_array_equal(grad_cos, np.full(4, 5.0))
    np.testing.assert_allclose(x.grad.numpy(),
                               5 * np.cos(x.numpy()) - 5 * np.sin(x.numpy()), rtol=1e-12)


# --------------------------------------------------------------------------- graph lifetime


def test_retain_graph_allows_a_second_backward_through_a_multi_output_node():
    x = random_tensor((3,), 10)
    s, c = SinCos.apply(x)
    loss = (s * c).sum()
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-12)
    with pytest.raises(RuntimeError, match="already freed"):
        loss.backward()


def test_the_node_drops_what_it_saved_after_backward():
    x = random_tensor((3,), 11)
    s, c = SinCos.apply(x)
    node = s._node
    (s + c).sum().backward()
    assert node.parents is None and not hasattr(node, "x")
    with pytest.raises(RuntimeError, match="already freed"):
        c.sum().backward()


# --------------------------------------------------------------------------- batch normalization
# fastdl.ops.batch_norm's three outputs and the gradients through each are in the table of
# operation cases (tests/test_op_cases.py); here, the layer that folds the moments in.


def batch_moments(x, axes):
    return x.mean(axis=axes), x.var(axis=axes)


def test_batch_normalization_layer_folds_the_moments_into_its_moving_averages():
    layer = fastdl.layers.BatchNormalization(momentum=0.5, dtype="float64")
    x = random_tensor((8, 3), 16)
    layer(x, training=True)
    mean, var = batch_moments(x.numpy(), (0,))
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 + 0.5 * var, rtol=1e-12)


class Twice(Function):
    """Two copies of x; backward passes the first output's gradient straight through."""

    materialize_grads = False

    @staticmethod
    def forward(ctx, x):
        return x.copy(), x.copy()

    @staticmethod
    def backward(ctx, grad_first, grad_second):
        return grad_first


def test_a_gradient_passed_straight_through_is_copied_before_it_becomes_a_leaf_gradient():
    x = random_tensor((3,), 17)
    first, _ = Twice.apply(x)
    seed = np.array([1.0, 2.0, 3.0])
    first.backward(seed)
    np.testing.assert_array_equal(x.grad.numpy(), seed)
    assert not np.shares_memory(x.grad.numpy(), seed)
