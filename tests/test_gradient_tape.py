"""fastdl.GradientTape against TensorFlow's GradientTape on the same small graphs.

The numbers marked "TensorFlow 2.21" were printed by tf.GradientTape in /opt/tfenv on these
exact graphs (float64); the others come from float64 NumPy formulas written here.
"""
import gc
import warnings

import numpy as np
import pytest

import fastdl
from fastdl.layers import Variable

W = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]])
B = np.array([0.1, -0.2])
X = np.array([[1.0, -2.0, 0.5], [0.5, 4.0, -1.0], [2.0, 1.0, 0.0], [-1.0, 0.5, 3.0]])

# TensorFlow 2.21: the gradients of mean(sigmoid(x @ w + b)**2) + 0.1 * sum(w * w).
TF_SIGMOID_GRADIENTS = {
    "b": [0.01967495524309151, 0.027075594978784177],
    "w": [[0.1271863835846697, -0.17254084777951395],
          [0.31601975866967996, 0.036908350340085536],
          [-0.13875618630541964, 0.4048873753546791]],
    "x": [[-0.017986463583796075, 0.005813831220048478, 0.036175575678992065],
          [-0.004940629594815477, 0.0015695279183903829, 0.009932700808044263],
          [0.004093264591475247, 0.023314580241258945, -0.004442237430776994],
          [0.0015957112298978816, 0.005583392229635504, -0.002271065531009614]],
}


def variable(value, name="v", trainable=True):
    return Variable(np.array(value, dtype=np.float64), name=name, trainable=trainable)


def sigmoid_graph():
    w, b, x = variable(W, "w"), variable(B, "b"), fastdl.tensor(X, dtype="float64")
    with fastdl.GradientTape() as tape:
        tape.watch(x)
        y = fastdl.sigmoid(x @ w + b)
        loss = (y * y).mean() + 0.1 * (w * w).sum()
    return tape, loss, w, b, x


def numpy_sigmoid_gradients():
    """The same gradients by hand, in float64."""
    y = 1.0 / (1.0 + np.exp(-(X @ W + B)))
    d_pre = 2.0 * y / y.size * y * (1.0 - y)
    return {"w": X.T @ d_pre + 0.2 * W, "b": d_pre.sum(0), "x": d_pre @ W.T}


def test_gradients_match_tensorflow_and_numpy_in_the_structure_of_sources():
    tape, loss, w, b, x = sigmoid_graph()
    grads = tape.gradient(loss, {"w": w, "b": b, "x": x})
    assert set(grads) == {"w", "b", "x"}
    reference = numpy_sigmoid_gradients()
    for name, g in grads.items():
        np.testing.assert_allclose(g.numpy(), TF_SIGMOID_GRADIENTS[name], rtol=1e-12)
        np.testing.assert_allclose(g.numpy(), reference[name], rtol=1e-12)
    assert w.grad is None and b.grad is None  # nothing accumulated


def test_nested_sources_and_unconnected_ones():
    tape, loss, w, b, x = sigmoid_graph()
    unused = variable(1.0, "unused")
    grads = tape.gradient(loss, [w, (b, {"u": unused}), x])
    assert isinstance(grads, list) and isinstance(grads[1], tuple)
    assert grads[1][1] == {"u": None}  # TensorFlow: None for a source the target ignores
    np.testing.assert_allclose(grads[1][0].numpy(), TF_SIGMOID_GRADIENTS["b"], rtol=1e-12)


def test_a_non_scalar_target_is_summed_as_in_tensorflow():
    w, b = variable([[1.0, 2.0], [3.0, -1.0]]), variable([0.5, -0.5])
    x = np.array([[1.0, -2.0], [0.5, 4.0], [2.0, 1.0]])
    with fastdl.GradientTape() as tape:
        y = fastdl.tanh(fastdl.tensor(x) @ w + b)
    gw, gb = tape.gradient(y, [w, b])
    # TensorFlow 2.21 on this graph.
    np.testing.assert_allclose(gw.numpy(), [[0.0006271265525625846, 0.05864578044705182],
                                            [-0.0009202301447297501, 0.033873996124134886]],
                               rtol=1e-10)
    np.testing.assert_allclose(gb.numpy(), [0.0005603219911383128, 0.033873996124134886],
                               rtol=1e-10)


def test_several_targets_add_up_and_output_gradients_weight_them():
    w = variable([2.0, -1.0])
    with fastdl.GradientTape(persistent=True) as tape:
        y = w * w
        s = y.sum()
    np.testing.assert_allclose(tape.gradient([y, s], w).numpy(), [8.0, -4.0])  # 2 * 2w
    seed = np.array([3.0, 5.0])
    np.testing.assert_allclose(tape.gradient(y, w, output_gradients=seed).numpy(),
                               [12.0, -10.0])
    with pytest.raises(ValueError, match=r"GradientTape.gradient: output_gradients\[0\] has "
                                         r"shape \(3,\)"):
        tape.gradient(y, w, output_gradients=np.ones(3))
    with pytest.raises(ValueError, match="2 target.*1 output_gradients"):
        tape.gradient([y, s], w, output_gradients=[seed])


def test_unconnected_gradients_zero():
    w, unused = variable([1.0, 2.0]), variable([[1.0, 2.0]])
    with fastdl.GradientTape() as tape:
        loss = (w * 3.0).sum()
    gw, gu = tape.gradient(loss, [w, unused], unconnected_gradients="zero")
    np.testing.assert_array_equal(gw.numpy(), [3.0, 3.0])
    assert gu.shape == (1, 2) and not gu.numpy().any()


def test_a_non_persistent_tape_computes_one_set_of_gradients():
    w = variable(2.0)
    with fastdl.GradientTape() as tape:
        loss = w * w
    assert float(tape.gradient(loss, w)) == 4.0
    with pytest.raises(RuntimeError, match="non-persistent GradientTape computes one set"):
        tape.gradient(loss, w)
    with fastdl.GradientTape(persistent=True) as tape:
        loss = w * w * w
    assert float(tape.gradient(loss, w)) == 12.0
    assert float(tape.gradient(loss, w)) == 12.0  # the graph is kept


def test_watch_makes_a_constant_take_part_and_is_undone_afterwards():
    c = fastdl.tensor(3.0)
    with fastdl.GradientTape() as tape:
        y = c * c
    assert tape.gradient(y, c) is None  # not watched: TensorFlow gives None too
    with fastdl.GradientTape() as tape:
        tape.watch(c)
        y = c * c
    assert float(tape.gradient(y, c)) == 6.0
    assert not c.requires_grad  # the tape is done with it
    with fastdl.GradientTape(persistent=True) as tape:
        tape.watch([c, {"again": c}])
        y = c * c
    assert c.requires_grad and float(tape.gradient(y, c)) == 6.0
    del tape
    gc.collect()
    assert not c.requires_grad  # dropping a persistent tape releases what it watched


def test_watch_of_a_tensor_that_already_requires_grad_leaves_it_alone():
    w = variable(1.0)
    with fastdl.GradientTape() as tape:
        tape.watch(w)
        y = w * 2.0
    tape.gradient(y, w)
    assert w.requires_grad


def test_watch_refuses_non_tensors_and_skips_integers_with_a_warning():
    with fastdl.GradientTape() as tape:
        with pytest.raises(TypeError, match="GradientTape.watch: expected a Tensor.*float"):
            tape.watch(3.0)
        with pytest.warns(UserWarning, match="dtype int64 is not floating"):
            tape.watch(fastdl.tensor(np.array([1, 2])))


def test_gradient_inside_the_block_ends_a_non_persistent_tapes_recording():
    v = variable(2.0)
    with fastdl.GradientTape() as tape:
        z = v * v
        assert float(tape.gradient(z, v)) == 4.0  # TensorFlow 2.21: 4.0
        z2 = z * v
    with pytest.raises(RuntimeError, match="non-persistent"):  # as in TensorFlow
        tape.gradient(z2, v)


def test_gradient_inside_a_persistent_tapes_block_keeps_recording():
    v = variable(2.0)
    with fastdl.GradientTape(persistent=True) as tape:
        z = v * v
        g = tape.gradient(z, v)  # TensorFlow 2.21: 4.0 (with a warning)
        z3 = z * v
    assert float(g) == 4.0 and float(tape.gradient(z3, v)) == 12.0
    with pytest.raises(RuntimeError, match="higher-order gradients are not supported"):
        tape.gradient(g * g, v)


def test_stop_recording():
    v = variable(2.0)
    with fastdl.GradientTape() as tape:
        z = v * v
        with tape.stop_recording():
            q = v * 3.0
            assert not fastdl.is_grad_enabled()
        total = z + q
    assert float(tape.gradient(total, v)) == 4.0  # TensorFlow 2.21: 4.0
    with pytest.raises(RuntimeError, match="GradientTape.stop_recording: the tape is not "
                                           "recording"):
        with tape.stop_recording():
            pass


def test_the_tape_turns_recording_on_for_its_block_and_back_off():
    v = variable(2.0)
    with fastdl.no_grad():
        with fastdl.GradientTape() as tape:
            assert fastdl.is_grad_enabled()
            loss = v * v
        assert not fastdl.is_grad_enabled()
    assert float(tape.gradient(loss, v)) == 4.0


def test_nested_tapes_each_give_their_first_order_gradients():
    v = variable(2.0)
    with fastdl.GradientTape() as outer:
        with fastdl.GradientTape() as inner:
            z = v * v * v
        zz = z * 2.0
    # TensorFlow 2.21: 24.0 and 12.0.
    assert float(outer.gradient(zz, v)) == 24.0
    assert float(inner.gradient(z, v)) == 12.0


def test_higher_order_gradients_raise_a_clear_error():
    v = variable(2.0)
    with fastdl.GradientTape() as outer:
        with fastdl.GradientTape() as inner:
            z = v * v * v
        g = inner.gradient(z, v)  # computed while the outer tape records
        penalty = (g - 1.0) * (g - 1.0)
    assert float(g) == 12.0  # its value is the first-order gradient
    with pytest.raises(RuntimeError, match="higher-order gradients are not supported"):
        outer.gradient(penalty, v)


def test_gradients_with_respect_to_intermediate_results():
    v = variable(2.0)
    with fastdl.GradientTape() as tape:
        mid = v * 5.0
        out = mid * mid
    g_mid, g_v = tape.gradient(out, [mid, v])
    assert (float(g_mid), float(g_v)) == (20.0, 100.0)  # TensorFlow 2.21: 20.0, 100.0


def test_non_trainable_variables_and_watch_accessed_variables_false():
    v, frozen = variable(2.0), variable(2.0, trainable=False)
    with fastdl.GradientTape() as tape:
        o = frozen * v
    g_frozen, g_v = tape.gradient(o, [frozen, v])
    assert g_frozen is None and float(g_v) == 2.0  # TensorFlow 2.21: None, 2.0
    other = variable(1.0)
    with fastdl.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(v)
        o = frozen * v * other
    g_v, g_other = tape.gradient(o, [v, other])
    assert float(g_v) == 2.0 and g_other is None  # TensorFlow 2.21: 2.0, None


def test_a_tape_can_be_entered_again_but_not_inside_itself():
    v = variable(2.0)
    with fastdl.GradientTape() as tape:
        o = v * v
        with pytest.raises(ValueError, match="already recording"):
            tape.__enter__()
    with tape:
        o2 = o * v
    assert float(tape.gradient(o2, v)) == 12.0  # TensorFlow 2.21: 12.0


def test_bad_arguments_name_the_method():
    v = variable(2.0)
    with pytest.raises(RuntimeError, match="GradientTape.gradient: the tape has recorded "
                                           "nothing"):
        fastdl.GradientTape().gradient(v * v, v)
    with fastdl.GradientTape(persistent=True) as tape:
        y = v * v
    with pytest.raises(TypeError, match="GradientTape.gradient: target must be a Tensor.*"
                                        "got None"):
        tape.gradient(None, v)
    with pytest.raises(TypeError, match=r"GradientTape.gradient: sources\[1\] must be a "
                                        r"Tensor, got float"):
        tape.gradient(y, [v, 3.0])
    with pytest.raises(ValueError, match="unconnected_gradients must be 'none' or 'zero'"):
        tape.gradient(y, v, unconnected_gradients="zeros")


def test_a_target_that_needs_no_gradient_gives_none():
    v = variable(2.0)
    with fastdl.GradientTape() as tape:
        constant = fastdl.tensor(1.0) * 3.0
        labels = fastdl.tensor(np.array([1, 2]))
    assert tape.gradient(constant, v) is None
    with fastdl.GradientTape() as tape:
        pass
    assert tape.gradient(labels, [v]) == [None]


def test_two_tapes_over_one_computation_the_gan_pattern():
    """Two open tapes share the graph: the first gradient keeps it for the second."""
    rng = np.random.default_rng(0)
    g_w, d_w = variable(rng.standard_normal((3, 4)), "g"), variable(rng.standard_normal(4), "d")
    noise = fastdl.tensor(rng.standard_normal((5, 3)))
    with fastdl.GradientTape() as gen_tape, fastdl.GradientTape() as disc_tape:
        fake = fastdl.tanh(noise @ g_w)
        score = (fake * d_w).sum(axis=1)
        gen_loss = (score * score).mean()
        disc_loss = score.mean()
    grad_g = gen_tape.gradient(gen_loss, g_w)
    grad_d = disc_tape.gradient(disc_loss, d_w)
    fake64 = np.tanh(noise.numpy() @ g_w.numpy())
    score64 = fake64 @ d_w.numpy()
    np.testing.assert_allclose(grad_d.numpy(), fake64.mean(0), rtol=1e-12)
    d_fake = (2 * score64 / 5)[:, None] * d_w.numpy() * (1 - fake64 ** 2)
    np.testing.assert_allclose(grad_g.numpy(), noise.numpy().T @ d_fake, rtol=1e-12)


def test_gradients_match_finite_differences_through_a_small_model():
    fastdl.manual_seed(0)
    model = fastdl.keras.Sequential([fastdl.layers.Dense(5, activation="tanh", input_shape=(3,),
                                                         dtype="float64"),
                                     fastdl.layers.Dense(1, dtype="float64")])
    x = np.random.default_rng(1).standard_normal((4, 3))

    def loss_of_weights():
        return float(((model(x) - 1.0) ** 2).mean())

    with fastdl.GradientTape() as tape:
        loss = ((model(x) - 1.0) ** 2).mean()
    grads = tape.gradient(loss, model.trainable_weights)
    eps = 1e-6
    for g, v in zip(grads, model.trainable_weights):
        flat = v.data.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            plus = loss_of_weights()
            flat[j] = old - eps
            minus = loss_of_weights()
            flat[j] = old
            assert g.numpy().reshape(-1)[j] == pytest.approx((plus - minus) / (2 * eps),
                                                             rel=1e-6, abs=1e-9)


def test_no_warning_in_the_common_pattern():
    v = variable([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fastdl.GradientTape() as tape:
            loss = (v * v).sum()
        tape.gradient(loss, [v])
