"""The autograd engine: accumulation, graph shapes, retain_graph and freeing, grad modes,
detach, gradient ownership, memory over many steps, error messages, and gradcheck itself."""
import os
import time
import weakref

import numpy as np
import pytest

import fastdl
from fastdl import Function


def leaf(values):
    return fastdl.tensor(np.array(values, np.float64), requires_grad=True)


def random_leaf(shape, seed=0):
    return leaf(np.random.default_rng(seed).uniform(0.5, 2.0, shape))


class Double(Function):
    """2 * a, counting its backward calls and keeping the last gradient it received."""

    calls = 0
    received = None

    @staticmethod
    def forward(ctx, a):
        return 2 * a

    @staticmethod
    def backward(ctx, grad):
        Double.calls += 1
        Double.received = grad.copy()
        return 2 * grad


# --------------------------------------------------------------------------- graph shapes

def test_fan_out_accumulates():
    x = random_leaf(5)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 1, rtol=1e-15)


def test_tensor_reused_in_several_operations():
    x, y = random_leaf((3, 4), seed=1), random_leaf((3, 4), seed=2)
    c = fastdl.tensor(np.full((3, 4), 3.0))
    z = (x * y).sum() + (x / y).sum() + x.exp().sum() + (x * c).mean() + (y ** 2).sum()
    z.backward()
    xv, yv = x.numpy(), y.numpy()
    np.testing.assert_allclose(x.grad.numpy(), yv + 1 / yv + np.exp(xv) + 3.0 / 12, rtol=1e-14)
    np.testing.assert_allclose(y.grad.numpy(), xv - xv / yv ** 2 + 2 * yv, rtol=1e-14)
    assert c.grad is None


def test_diamond_runs_the_shared_node_once_with_the_summed_gradient():
    Double.calls = 0
    x = random_leaf(4)
    a = Double.apply(x)
    d = (a.exp() + a * 3.0 + a.sum()).sum()  # three paths from a to d
    d.backward()
    assert Double.calls == 1
    av = 2 * x.numpy()
    upstream = np.exp(av) + 3.0 + 4.0
    np.testing.assert_allclose(Double.received, upstream, rtol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), 2 * upstream, rtol=1e-15)


def test_long_chain_backward_is_iterative_and_fast():
    n = 100_000
    x = leaf([1.0, 2.0])
    y = x
    for i in range(n):
        y = y * 1.0001 if i % 2 else y + 1.0
    start = time.perf_counter()
    y.sum().backward()
    elapsed = time.perf_counter() - start
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** (n // 2)] * 2, rtol=1e-10)
    # About half a second on a slow core; the bound only catches work that grows faster
    # than the chain (a quadratic walk would take hours), not ordinary noise.
    assert elapsed < 10.0

    # A chain that never ran backward is torn down without exhausting the C stack.
    y = x
    for _ in range(n):
        y = y + 1.0
    del y


# --------------------------------------------------------------------------- backward(grad)

@pytest.mark.parametrize("as_type", [np.asarray, fastdl.tensor, lambda g: g.tolist()],
                         ids=["array", "tensor", "list"])
def test_backward_with_explicit_gradient(as_type):
    x = random_leaf((2, 3))
    g = np.random.default_rng(4).standard_normal((2, 3))
    (x * 3.0).exp().backward(as_type(g))
    np.testing.assert_allclose(x.grad.numpy(), g * 3.0 * np.exp(3.0 * x.numpy()), rtol=1e-14)


def test_implicit_gradient_of_non_scalar_raises_with_shape():
    y = random_leaf((2, 3)) * 2.0
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()


def test_explicit_gradient_of_wrong_shape_raises_with_both_shapes():
    y = random_leaf((2, 3)) * 2.0
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2)))


def test_backward_of_one_element_non_scalar():
    x = random_leaf((1, 1))
    (x * 5.0).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[5.0]])


@pytest.mark.parametrize("make", [
    pytest.param(lambda: fastdl.ones(3).sum(), id="constant"),
    pytest.param(lambda: fastdl.ones(3, requires_grad=True).detach().sum(), id="detached"),
])
def test_backward_without_grad_raises(make):
    with pytest.raises(RuntimeError, match="does not require grad"):
        make().backward()


def test_backward_of_graph_built_under_no_grad_raises():
    x = random_leaf(3)
    with fastdl.no_grad():
        y = (x * x).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


# --------------------------------------------------------------------------- retain_graph

def test_retain_graph_allows_a_second_backward_that_adds_up():
    x = random_leaf(4)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    once = x.grad.numpy().copy()
    np.testing.assert_allclose(once, np.exp(x.numpy()) * (x.numpy() + 1), rtol=1e-15)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * once, rtol=1e-15)


@pytest.mark.parametrize("second", [
    pytest.param(lambda y, z: y.backward(), id="same_root"),
    pytest.param(lambda y, z: z.backward(), id="through_freed_part"),
])
def test_second_backward_without_retain_graph_raises(second):
    x = random_leaf(4)
    y = (x * x).sum()
    z = y * 2.0
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        second(y, z)


@pytest.mark.parametrize("retain", [False, True])
def test_saved_arrays_and_intermediates_are_freed_after_backward(retain):
    x = random_leaf((3, 3))
    h = x.exp()  # its node keeps h's array, and the node of y keeps it again
    y = h * h
    h_ref, data_ref = weakref.ref(h), weakref.ref(h.data)
    del h
    assert h_ref() is not None and data_ref() is not None  # the graph holds them
    y.backward(np.ones((3, 3)), retain_graph=retain)
    assert (h_ref() is not None) == retain
    assert (data_ref() is not None) == retain
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * x.numpy()), rtol=1e-14)


# --------------------------------------------------------------------------- grad modes

def test_no_grad_context_manager():
    x = random_leaf(3)
    with fastdl.no_grad():
        assert not fastdl.is_grad_enabled()
        y = x * 2.0
    assert fastdl.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.numpy(), 2.0 * x.numpy())


def test_no_grad_decorator():
    x = random_leaf(3)

    @fastdl.no_grad()
    def predict(t):
        """Doubles t."""
        assert not fastdl.is_grad_enabled()
        return t * 2.0

    assert not predict(x).requires_grad
    assert predict.__name__ == "predict" and predict.__doc__ == "Doubles t."
    assert fastdl.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_grad_mode_is_restored_after_an_exception():
    @fastdl.no_grad()
    def fail():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fail()
    assert fastdl.is_grad_enabled()
    with pytest.raises(KeyError):
        with fastdl.set_grad_enabled(False):
            raise KeyError("boom")
    assert fastdl.is_grad_enabled()


def test_grad_modes_nest():
    x = random_leaf(3)
    with fastdl.no_grad():
        with fastdl.no_grad():
            assert not fastdl.is_grad_enabled()
        assert not fastdl.is_grad_enabled()
        with fastdl.set_grad_enabled(True):
            y = x * x
        assert not fastdl.is_grad_enabled()
        with fastdl.set_grad_enabled(False):
            assert not (x * x).requires_grad
    assert fastdl.is_grad_enabled()
    assert y.requires_grad and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())


def test_set_grad_enabled_false():
    x = random_leaf(3)
    with fastdl.set_grad_enabled(False):
        assert not fastdl.is_grad_enabled()
        assert not (x + 1.0).requires_grad
    assert fastdl.is_grad_enabled() and (x + 1.0).requires_grad


# --------------------------------------------------------------------------- leaves

def test_detach_shares_data_and_cuts_the_graph():
    x = random_leaf(4)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.numpy(), x.numpy())
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), x.numpy())  # not 2x: d is a constant
    d.numpy()[0] = 9.0
    assert x.numpy()[0] == 9.0

    h = x * 2.0
    hd = h.detach()
    assert hd.is_leaf and not hd.requires_grad and np.shares_memory(hd.numpy(), h.numpy())


def test_requires_grad_():
    t = fastdl.ones(3, dtype=np.float64)
    assert t.requires_grad_() is t and t.requires_grad
    (t * t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [2.0, 2.0, 2.0])
    t.requires_grad_(False)
    assert not (t * t).requires_grad


def test_requires_grad_on_non_leaf_raises():
    y = random_leaf(3) * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_gradients_accumulate_across_backward_calls_until_zero_grad():
    x = random_leaf(3)
    for _ in range(2):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])


@pytest.mark.parametrize("fn, root_shape", [
    pytest.param(lambda x, y: x, (2, 3), id="leaf_root"),
    pytest.param(lambda x, y: x + y, (2, 3), id="add"),
    pytest.param(lambda x, y: (x - y).reshape(6), (6,), id="sub_reshape"),
    pytest.param(lambda x, y: (x + y).T, (3, 2), id="transpose"),
    pytest.param(lambda x, y: fastdl.concatenate([x, y]), (4, 3), id="concatenate"),
    pytest.param(lambda x, y: fastdl.stack([x, y]), (2, 2, 3), id="stack"),
    pytest.param(lambda x, y: (x + y).sum() * np.ones((2, 3)), (2, 3), id="sum_broadcast"),
    pytest.param(lambda x, y: fastdl.where(np.eye(2, 3) > 0, x, y), (2, 3), id="where"),
])
def test_leaf_gradients_do_not_alias(fn, root_shape):
    """Gradients handed to the user are theirs: changing one in place changes nothing else."""
    x, y = random_leaf((2, 3), seed=1), random_leaf((2, 3), seed=2)
    upstream = np.random.default_rng(3).standard_normal(root_shape)
    kept = upstream.copy()
    fn(x, y).backward(upstream)
    grads = [t.grad.numpy() for t in (x, y) if t.grad is not None]
    before = [g.copy() for g in grads]
    for i, g in enumerate(grads):
        g += 100.0 * (i + 1)  # raises if it is a read-only broadcast view
    np.testing.assert_array_equal(upstream, kept)
    for i, (g, b) in enumerate(zip(grads, before)):
        np.testing.assert_array_equal(g, b + 100.0 * (i + 1))


# --------------------------------------------------------------------------- memory

def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_memory_is_flat_over_many_training_steps():
    rng = np.random.default_rng(0)
    x = fastdl.tensor(rng.standard_normal((16, 8)))
    labels = rng.integers(0, 4, 16)
    params = [fastdl.tensor(rng.standard_normal(s) * 0.3, requires_grad=True)
              for s in [(8, 16), (16,), (16, 4), (4,)]]

    def train_step():
        w1, b1, w2, b2 = params
        h = fastdl.linear(x, w1, b1, "relu")
        logits = fastdl.linear(h, w2, b2)
        loss = fastdl.softmax_cross_entropy(logits, labels) + 1e-3 * (w1 * w1).sum()
        loss.backward()
        with fastdl.no_grad():
            for p in params:
                p.data -= 0.05 * p.grad.data
                p.zero_grad()
        return loss.item()

    first = [train_step() for _ in range(500)]  # warm-up: allocator pools, caches
    before = resident_bytes()
    last = [train_step() for _ in range(10_000)]
    grown = resident_bytes() - before
    # Slack 4 MiB, about 400 bytes a step: one leaked graph per step would be ~100 MiB.
    assert grown < 4 * 2 ** 20, f"resident memory grew by {grown / 2 ** 20:.1f} MiB"
    assert last[-1] < first[0]  # the steps really trained


# --------------------------------------------------------------------------- errors

def ones(*shape):
    return fastdl.tensor(np.ones(shape))


@pytest.mark.parametrize("fn, words", [
    pytest.param(lambda: ones(2, 3) @ ones(4, 5), ["matmul", "(2, 3)", "(4, 5)"],
                 id="matmul"),
    pytest.param(lambda: fastdl.matmul(ones(2, 3, 4), ones(3, 4, 5)),
                 ["matmul", "(2, 3, 4)", "(3, 4, 5)"], id="matmul_batch"),
    pytest.param(lambda: fastdl.linear(ones(2, 3), ones(4, 5)), ["linear", "(2, 3)", "(4, 5)"],
                 id="linear_w"),
    pytest.param(lambda: fastdl.linear(ones(2, 3), ones(3, 5), ones(4)),
                 ["linear", "(4,)", "5"], id="linear_bias"),
    pytest.param(lambda: ones(2, 3).reshape(4), ["reshape", "(2, 3)", "(4,)"], id="reshape"),
    pytest.param(lambda: fastdl.stack([ones(2, 3), ones(3, 2)]), ["stack", "(2, 3)", "(3, 2)"],
                 id="stack"),
    pytest.param(lambda: fastdl.concatenate([ones(2, 3), ones(2, 4)]),
                 ["concatenate", "(2, 3)", "(2, 4)"], id="concatenate"),
    pytest.param(lambda: ones(2, 3).squeeze(0), ["squeeze", "(2, 3)"], id="squeeze"),
    pytest.param(lambda: ones(2, 3).transpose(0, 0), ["transpose", "(2, 3)"], id="transpose"),
])
def test_shape_errors_name_the_operation_and_shapes(fn, words):
    with pytest.raises(ValueError) as info:
        fn()
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- custom Functions

class Square(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.a = a
        return a * a

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad * ctx.a


class WrongSquare(Square):
    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.a  # the factor 2 is missing


class WrongShape(Square):
    @staticmethod
    def backward(ctx, grad):
        return grad.sum(axis=0)


def test_gradcheck_accepts_a_correct_function():
    assert fastdl.gradcheck(Square.apply, [random_leaf((3, 2))])


def test_gradcheck_raises_for_a_wrong_function():
    message = r"input 0 \(shape \(3, 2\)\), element \(0, 0\)"
    with pytest.raises(fastdl.GradcheckError, match=message):
        fastdl.gradcheck(WrongSquare.apply, [random_leaf((3, 2))])


def test_gradcheck_on_non_contiguous_input():
    x = fastdl.tensor(np.asfortranarray(np.random.default_rng(1).standard_normal((3, 4))),
                      requires_grad=True)
    assert not x.numpy().flags.c_contiguous
    assert fastdl.gradcheck(Square.apply, [x])
    with pytest.raises(fastdl.GradcheckError):
        fastdl.gradcheck(WrongSquare.apply, [x])


def test_gradient_of_wrong_shape_raises():
    y = WrongShape.apply(random_leaf((3, 2))).sum()
    with pytest.raises(RuntimeError, match=r"WrongShape.*\(2,\).*\(3, 2\)"):
        y.backward()


def test_function_base_class_cannot_be_applied():
    with pytest.raises(TypeError, match="subclass"):
        Function.apply(random_leaf(2))


def test_set_grad_enabled_applies_when_called_and_restores_after_a_block():
    try:
        fastdl.set_grad_enabled(False)
        assert not fastdl.is_grad_enabled()
    finally:
        fastdl.set_grad_enabled(True)
    with fastdl.set_grad_enabled(False):
        assert not fastdl.is_grad_enabled()
    assert fastdl.is_grad_enabled()


class _SharedGradient(fastdl.Function):
    """Returns one new array as the gradient of both inputs."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        shared = grad * 1.0
        return shared, shared


def test_leaves_never_share_gradient_memory():
    a = fastdl.tensor([1.0, 2.0], requires_grad=True)
    b = fastdl.tensor([3.0, 4.0], requires_grad=True)
    _SharedGradient.apply(a, b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.numpy()[:] = 7.0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("op,fn", [
    ("add", lambda x, y: x + y), ("sub", lambda x, y: x - y), ("mul", lambda x, y: x * y),
    ("div", lambda x, y: x / y), ("pow", lambda x, y: x ** y),
    ("maximum", fastdl.maximum), ("minimum", fastdl.minimum),
])
def test_broadcast_errors_name_the_operation_and_both_shapes(op, fn):
    with pytest.raises(ValueError, match=rf"{op}: shapes \(2, 3\) and \(4,\) do not broadcast"):
        fn(fastdl.ones(2, 3), fastdl.ones(4))


# --------------------------------------------------------------------------- Function.apply

class WeightedSum(Function):
    """sum_i weights[i] * args[i], with the weights and an offset as keywords: any number of
    positional arguments, some of them not Tensors."""

    @staticmethod
    def forward(ctx, *args, weights, offset=0.0):
        ctx.weights = weights
        return sum(w * a for w, a in zip(weights, args)) + offset

    @staticmethod
    def backward(ctx, grad):
        return tuple(w * grad for w in ctx.weights)


@pytest.mark.parametrize("count", [1, 2, 7, 12])  # 12: more arguments than the call buffer
def test_apply_passes_any_number_of_arguments_and_keywords(count):
    xs = [random_leaf(3, seed=i) for i in range(count)]
    args = [x if i % 3 else x.numpy() for i, x in enumerate(xs)]  # every third one a bare array
    weights = [float(i + 1) for i in range(count)]
    y = WeightedSum.apply(*args, weights=weights, offset=0.5)
    expected = sum(w * x.numpy() for w, x in zip(weights, xs)) + 0.5
    np.testing.assert_allclose(y.numpy(), expected)
    assert y.requires_grad == (count > 1)
    if count > 1:
        y.sum().backward()
        for i, x in enumerate(xs):
            if i % 3:
                np.testing.assert_allclose(x.grad.numpy(), np.full(3, weights[i]))
            else:
                assert x.grad is None


def test_apply_binds_as_a_method_and_reads_as_a_function():
    a, b = random_leaf(3), random_leaf(3, seed=1)
    assert fastdl.ops.arithmetic.Mul.apply.__qualname__ == "Mul.apply"
    assert "Tensor" in fastdl.ops.arithmetic.Mul.apply.__doc__
    bound = a.__mul__  # Tensor.__mul__ is Mul.apply
    np.testing.assert_allclose(bound(b).numpy(), a.numpy() * b.numpy())
    np.testing.assert_allclose(fastdl.Tensor.__mul__(a, b).numpy(), a.numpy() * b.numpy())


def test_error_in_forward_propagates_and_leaves_grad_mode_alone():
    class Fails(Function):
        @staticmethod
        def forward(ctx, a):
            raise ValueError("fails: forward refused shape (3,)")

    with pytest.raises(ValueError, match=r"fails: forward refused shape \(3,\)"):
        Fails.apply(random_leaf(3))
    assert fastdl.is_grad_enabled()


def test_tensor_subclasses_take_part_in_autograd():
    class Parameter(fastdl.Tensor):
        __slots__ = ()

    w = Parameter(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])
