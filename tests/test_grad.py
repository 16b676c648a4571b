"""fastdl.grad: gradients returned for leaves and intermediate results, without touching any
.grad; several outputs whose gradients add up (one the ancestor of another), outputs of
multi-output nodes, inputs the outputs do not depend on, retain_graph, and the errors."""
import numpy as np
import pytest

import fastdl


def leaf(values):
    return fastdl.tensor(np.asarray(values, np.float64), requires_grad=True)


def test_gradients_of_leaves_and_of_an_intermediate_result():
    x = leaf([1.0, -2.0, 3.0])
    w = leaf([0.5, 0.25, 2.0])
    h = x * w
    y = (h * h).sum()
    gx, gw, gh = fastdl.grad(y, [x, w, h])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy(), rtol=1e-15)
    np.testing.assert_allclose(gx.numpy(), 2 * h.numpy() * w.numpy(), rtol=1e-15)
    np.testing.assert_allclose(gw.numpy(), 2 * h.numpy() * x.numpy(), rtol=1e-15)
    assert x.grad is None and w.grad is None


def test_the_same_gradients_as_backward():
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal((4, 3)))
    w = leaf(rng.standard_normal((3, 2)))
    b = leaf(rng.standard_normal(2))
    got = fastdl.grad(fastdl.tanh(fastdl.linear(x, w, b)).sum(), [x, w, b])
    fastdl.tanh(fastdl.linear(x, w, b)).sum().backward()
    for g, t in zip(got, (x, w, b)):
        np.testing.assert_array_equal(g.numpy(), t.grad.numpy())


def test_an_input_the_outputs_do_not_depend_on_gets_none():
    x, unused = leaf([1.0, 2.0]), leaf([3.0])
    assert fastdl.grad((x * 2).sum(), [x, unused])[1] is None


def test_several_outputs_add_up_even_when_one_depends_on_another():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    z = y * 3.0  # z depends on y: y's node runs once, after z passed its gradient on
    (gx,) = fastdl.grad([y, z], [x])
    np.testing.assert_allclose(gx.numpy(), 4 * 2 * x.numpy(), rtol=1e-15)


def test_grad_outputs_weigh_non_scalar_outputs():
    x = leaf([1.0, 2.0, 3.0])
    weights = np.array([1.0, 10.0, 100.0])
    (gx,) = fastdl.grad(x * x, x, grad_outputs=weights)
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy() * weights, rtol=1e-15)
    with pytest.raises(RuntimeError, match="single-element"):
        fastdl.grad(x * x, x)


def test_an_output_of_a_multi_output_node_as_input():
    x = leaf([[1.0, 2.0], [3.0, 5.0]])
    y, mean, var = fastdl.ops.batch_norm(x, axes=(0,))
    gmean, gvar, gx = fastdl.grad((mean * 2.0).sum() + (var * 3.0).sum(), [mean, var, x])
    np.testing.assert_array_equal(gmean.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(gvar.numpy(), [3.0, 3.0])
    # d/dx of 2 mean + 3 var over the batch axis: 2 / n + 3 * 2 (x - mean) / n, n = 2.
    want = 2.0 / 2 + 3.0 * 2 * (x.numpy() - x.numpy().mean(axis=0)) / 2
    np.testing.assert_allclose(gx.numpy(), want, rtol=1e-12)


def test_an_output_asked_for_itself_gets_its_seed():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    gy, gx = fastdl.grad(y, [y, x], grad_outputs=np.array([1.0, 2.0]))
    np.testing.assert_array_equal(gy.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(gx.numpy(), [3.0, 6.0])
    (gx_leaf,) = fastdl.grad(x, [x], grad_outputs=np.array([4.0, 5.0]))
    np.testing.assert_array_equal(gx_leaf.numpy(), [4.0, 5.0])


def test_returned_gradients_share_no_memory_with_what_the_caller_passed():
    x = leaf([1.0, 2.0])
    seed = np.array([1.0, 1.0])
    a, b = fastdl.grad(x + 0.0, [x, x], grad_outputs=seed)
    assert not np.shares_memory(a.numpy(), seed) and not np.shares_memory(a.numpy(), b.numpy())


def test_retain_graph_allows_a_second_call():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    first = fastdl.grad(y, [x], retain_graph=True)[0].numpy()
    np.testing.assert_array_equal(fastdl.grad(y, [x])[0].numpy(), first)
    with pytest.raises(RuntimeError, match="already freed"):
        fastdl.grad(y, [x])


class Recorded(fastdl.Function):
    """Multiplies its two inputs; backward records which of them were wanted."""
    calls: list = []

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return a * b

    @staticmethod
    def backward(ctx, grad):
        wanted = (ctx.needs_grad(0), ctx.needs_grad(1))
        Recorded.calls.append(wanted)
        return (grad * ctx.b if wanted[0] else None, grad * ctx.a if wanted[1] else None)


def test_only_the_work_toward_the_asked_for_tensors_is_done():
    """As a GAN's generator step asks for the generator's weights only: the discriminator's
    weights are not differentiated, and a branch leading to no asked-for tensor is not run."""
    Recorded.calls = []
    z, g_weight, d_weight, other = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0, 6.0]), leaf([7.0])
    fake = Recorded.apply(z, g_weight)         # the generator: wanted, its weight asked for
    scored = Recorded.apply(fake, d_weight)    # the discriminator: only its input wanted
    side = Recorded.apply(other, other)        # leads to nothing asked for: not run
    loss = scored.sum() + side.sum()
    (got,) = fastdl.grad(loss, [g_weight], retain_graph=True)
    np.testing.assert_array_equal(got.numpy(), [5.0, 12.0])
    assert Recorded.calls == [(True, False), (False, True)]
    # The marks last for that call only: backward then differentiates everything.
    Recorded.calls = []
    loss.backward()
    assert sorted(Recorded.calls) == [(True, True)] * 3
    np.testing.assert_array_equal(d_weight.grad.numpy(), [3.0, 8.0])


def test_an_intermediate_result_asked_for_keeps_its_branch_running():
    Recorded.calls = []
    x, w = leaf([2.0]), leaf([3.0])
    h = Recorded.apply(x, w)
    y = Recorded.apply(h, leaf([4.0]))
    (gh,) = fastdl.grad(y.sum(), [h])
    np.testing.assert_array_equal(gh.numpy(), [4.0])
    assert Recorded.calls == [(True, False)]  # h's own node has nothing to give


def test_errors_name_the_function():
    x = leaf([1.0])
    with pytest.raises(TypeError, match=r"grad: inputs\[1\] is a ndarray, not a Tensor"):
        fastdl.grad((x * 2).sum(), [x, np.ones(1)])
    with pytest.raises(TypeError, match=r"grad: inputs\[1\] is a list, not a Tensor"):
        fastdl.grad(x, [x, [1.0]])  # a leaf output: no graph to walk, the inputs still checked
    with pytest.raises(RuntimeError, match="grad: no output requires grad"):
        fastdl.grad(fastdl.ones(1), [x])
    with pytest.raises(ValueError, match="grad: 2 outputs but 1 grad_outputs"):
        fastdl.grad([x * 2, x * 3], [x], grad_outputs=[np.ones(1)])
