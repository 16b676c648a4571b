"""The recurrent kernels (SimpleRNN, LSTM, GRU over whole sequences) and their layers: against
the arithmetic written over NumPy in float64 (fastdl.backend.recurrence), against finite
differences, against PyTorch's RNN/LSTM/GRU with Keras's weights mapped, and the layers'
masks, states, dropout and errors."""
import numpy as np
import pytest

import fastdl
from fastdl import keras
from fastdl.backend import cpu, recurrence

CELLS = ["simple", "lstm", "gru"]


def _sequence(rng, cell, batch, steps, units, dtype=np.float64, mask=False, bias=True):
    gates = recurrence.GATES[cell]
    arrays = dict(
        inputs=rng.standard_normal((batch, steps, gates * units)),
        recurrent_kernel=rng.standard_normal((units, gates * units)) / np.sqrt(units),
        recurrent_bias=rng.standard_normal(gates * units) if cell == "gru" and bias else None,
        h0=rng.standard_normal((batch, units)),
        c0=rng.standard_normal((batch, units)) if cell == "lstm" else None)
    arrays = {k: None if v is None else v.astype(dtype) for k, v in arrays.items()}
    arrays["mask"] = rng.random((batch, steps)) > 0.3 if mask else None
    return arrays


def _forward(module, a, cell, options, keep=True):
    args = (cell, a["inputs"], a["recurrent_kernel"], a["recurrent_bias"], a["h0"], a["c0"],
            a["mask"], *options, keep)
    if module is cpu:
        return cpu.rnn_forward(*args)
    return recurrence.rnn_forward(np, np.matmul, *args)


def _backward(module, a, cell, options, saved, grads):
    args = (cell, a["recurrent_kernel"], a["recurrent_bias"], a["mask"], *options, saved, *grads)
    if module is cpu:
        return cpu.rnn_backward(*args)
    return recurrence.rnn_backward(np, np.matmul, *args)


SHAPES = [(1, 1, 1), (3, 5, 7), (13, 4, 17), (64, 6, 40), (2, 3, 33), (1, 500, 5)]
OPTIONS = [("tanh", "sigmoid", False, False), ("tanh", "sigmoid", True, False),
           ("relu", "tanh", False, False), ("none", "sigmoid", True, True)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_against_float64_reference(isa, cell, shape, dtype):
    rng = np.random.default_rng(sum(shape) + len(cell))
    # Over 500 steps a relu recurrence with random weights grows without bound, and float32
    # and float64 part ways: long sequences run with the saturating activations only.
    cases = list(zip(OPTIONS, [False, True, False, True]))[:2 if shape[1] > 100 else None]
    for options, mask in cases:
        a = _sequence(rng, cell, *shape, dtype=dtype, mask=mask)
        a64 = {k: (v.astype(np.float64) if v is not None and v.dtype != bool else v)
               for k, v in a.items()}
        got = _forward(cpu, a, cell, options)
        want = _forward(recurrence, a64, cell, options)
        tol = dict(rtol=1e-4, atol=5e-5) if dtype == np.float32 else dict(rtol=1e-10,
                                                                           atol=1e-10)
        for g, w in zip(got[:3], want[:3]):
            if w is not None:
                np.testing.assert_allclose(g, w, **tol)
        grads = [rng.standard_normal(got[0].shape).astype(dtype),
                 rng.standard_normal(got[1].shape).astype(dtype),
                 rng.standard_normal(got[1].shape).astype(dtype) if cell == "lstm" else None]
        got_grads = _backward(cpu, a, cell, options, got[3], grads)
        want_grads = _backward(recurrence, a64, cell, options, want[3],
                               [g if g is None else g.astype(np.float64) for g in grads])
        for g, w in zip(got_grads, want_grads):
            assert (g is None) == (w is None)
            if w is not None:
                scale = max(1.0, float(np.abs(w).max()))
                np.testing.assert_allclose(g / scale, w / scale, **tol)


def test_kernels_take_no_gradient_where_none_is_given():
    rng = np.random.default_rng(3)
    a = _sequence(rng, "lstm", 4, 6, 5)
    options = ("tanh", "sigmoid", False, False)
    _, _, _, saved = _forward(cpu, a, "lstm", options)
    d_inputs, d_kernel, d_bias, d_h0, d_c0 = _backward(cpu, a, "lstm", options, saved,
                                                       [None, None, None])
    assert d_bias is None
    for g in (d_inputs, d_kernel, d_h0, d_c0):
        np.testing.assert_array_equal(g, 0)


def _lstm_weights(rng, features, units, dtype="float64"):
    return [rng.standard_normal((features, 4 * units)).astype(dtype) * 0.4,
            rng.standard_normal((units, 4 * units)).astype(dtype) * 0.4,
            rng.standard_normal(4 * units).astype(dtype) * 0.1]


@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_gradients_against_finite_differences(go_backwards):
    rng = np.random.default_rng(5)
    x = fastdl.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    weights = [fastdl.tensor(w, requires_grad=True) for w in _lstm_weights(rng, 2, 3)]
    state = [fastdl.tensor(rng.standard_normal((3, 3)), requires_grad=True) for _ in range(2)]
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 1, 1, 0]], bool)

    def f(x, w, u, b, h0, c0):
        out, h, c = fastdl.ops.lstm(x, w, u, b, [h0, c0], mask, go_backwards=go_backwards)
        return out.sum() + (h * h).sum() + (c * c).sum()
    assert fastdl.gradcheck(f, [x, *weights, *state])


@pytest.mark.parametrize("op, gates", [("gru", 3), ("simple_rnn", 1)])
def test_gru_and_simple_rnn_gradients_against_finite_differences(op, gates):
    rng = np.random.default_rng(6)
    x = fastdl.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    w = fastdl.tensor(rng.standard_normal((3, gates * 4)) * 0.5, requires_grad=True)
    u = fastdl.tensor(rng.standard_normal((4, gates * 4)) * 0.5, requires_grad=True)
    b = fastdl.tensor(rng.standard_normal((2, 12) if op == "gru" else (4,)) * 0.1,
                      requires_grad=True)
    fn = getattr(fastdl.ops, op)
    assert fastdl.gradcheck(lambda x, w, u, b: fn(x, w, u, b)[0], [x, w, u, b])


@pytest.mark.parametrize("op", ["lstm", "gru", "simple_rnn"])
def test_fused_and_stepwise_paths_agree(op):
    """A callable activation runs the steps as recorded operations: the same numbers and
    gradients as the fused kernels."""
    rng = np.random.default_rng(7)
    gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[op]
    arrays = [rng.standard_normal((4, 6, 3)), rng.standard_normal((3, gates * 5)) * 0.5,
              rng.standard_normal((5, gates * 5)) * 0.5]
    mask = rng.random((4, 6)) > 0.3
    results = []
    for act in ("tanh", lambda v: fastdl.ops.tanh(v)):
        tensors = [fastdl.tensor(a, requires_grad=True) for a in arrays]
        out = getattr(fastdl.ops, op)(*tensors, mask=mask, activation=act, go_backwards=True,
                                      zero_output_for_mask=True)
        (out[0].sum() + (out[1] * out[1]).sum()).backward()
        results.append([out[0].numpy()] + [t.grad.numpy() for t in tensors])
    for fused, stepwise in zip(*results):
        np.testing.assert_allclose(fused, stepwise, rtol=1e-10, atol=1e-12)


def _torch():
    return pytest.importorskip("torch")


def _to_torch_gates(w, order):
    """Keras's gate blocks (last axis) reordered as PyTorch's, transposed to (out, in)."""
    blocks = np.split(w, len(order), axis=-1)
    return np.concatenate([blocks[i] for i in order], axis=-1).T


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (5, 9, 3, 7), (2, 30, 4, 16)])
def test_layers_against_pytorch(kind, shape):
    t = _torch()
    batch, steps, features, units = shape
    rng = np.random.default_rng(11)
    layer = getattr(keras.layers, kind)(units, return_sequences=True, return_state=True,
                                        dtype="float64")
    x = rng.standard_normal((batch, steps, features))
    layer(x)
    weights = [w * 0 + rng.standard_normal(w.shape) * 0.3 for w in layer.get_weights()]
    layer.set_weights(weights)
    xt = fastdl.tensor(x, requires_grad=True)
    out, *states = layer(xt)
    (out.sum() + (states[0] * states[0]).sum()).backward()

    torch_type = {"LSTM": t.nn.LSTM, "GRU": t.nn.GRU, "SimpleRNN": t.nn.RNN}[kind]
    ref = torch_type(features, units, batch_first=True).double()
    order = {"LSTM": [0, 1, 2, 3], "GRU": [1, 0, 2], "SimpleRNN": [0]}[kind]
    w, u, b = weights
    with t.no_grad():
        ref.weight_ih_l0.copy_(t.from_numpy(_to_torch_gates(w, order)))
        ref.weight_hh_l0.copy_(t.from_numpy(_to_torch_gates(u, order)))
        input_bias, recurrent_bias = (b[0], b[1]) if kind == "GRU" else (b, np.zeros_like(b))
        ref.bias_ih_l0.copy_(t.from_numpy(_to_torch_gates(input_bias[None], order)[:, 0]))
        ref.bias_hh_l0.copy_(t.from_numpy(_to_torch_gates(recurrent_bias[None], order)[:, 0]))
    xr = t.from_numpy(x).requires_grad_()
    ref_out, ref_state = ref(xr)
    ref_h = ref_state[0][0] if kind == "LSTM" else ref_state[0]
    (ref_out.sum() + (ref_h * ref_h).sum()).backward()
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(states[0].numpy(), ref_h.detach().numpy(), rtol=1e-9,
                               atol=1e-12)
    if kind == "LSTM":
        np.testing.assert_allclose(states[1].numpy(), ref_state[1][0].detach().numpy(),
                                   rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), rtol=1e-9, atol=1e-12)
    for ours, theirs in [(layer.cell.kernel, ref.weight_ih_l0),
                         (layer.cell.recurrent_kernel, ref.weight_hh_l0)]:
        np.testing.assert_allclose(_to_torch_gates(ours.grad.numpy(), order),
                                   theirs.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_padding_before_or_after_gives_the_same_outputs(kind):
    rng = np.random.default_rng(12)
    tokens = rng.integers(1, 20, size=(3, 5))
    layer_args = dict(return_state=True)
    model_pre = keras.Sequential([keras.layers.Embedding(20, 4, mask_zero=True),
                                  getattr(keras.layers, kind)(6, **layer_args)])
    model_pre(np.zeros((1, 8), np.int32))
    pre = np.concatenate([np.zeros((3, 3), int), tokens], axis=1)
    post = np.concatenate([tokens, np.zeros((3, 3), int)], axis=1)
    out_pre, out_post = model_pre(pre), model_pre(post)
    for a, b in zip(out_pre, out_post):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_fully_masked_sequence_gives_zeros_and_finite_gradients():
    x = fastdl.tensor(np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32),
                      requires_grad=True)
    layer = keras.layers.LSTM(5, return_sequences=True)
    out = layer(x, mask=np.zeros((2, 4), bool))
    np.testing.assert_array_equal(out.numpy(), 0)
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert all(np.isfinite(w.grad.numpy()).all() for w in layer.trainable_weights)


def test_stateful_layer_carries_states_without_keeping_the_graph():
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    layer = keras.layers.GRU(5, stateful=True)
    first = layer(x).numpy()
    second = layer(x).numpy()
    assert not np.allclose(first, second)  # started from the first call's final state
    for state in layer.states:
        assert state._node is None and not state.requires_grad
    layer.reset_states()
    np.testing.assert_allclose(layer(x).numpy(), first, rtol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        layer(np.zeros((3, 3, 4), np.float32))


def test_dropout_is_reproducible_under_set_random_seed():
    x = np.ones((4, 6, 3), np.float32)
    for rates in [dict(dropout=0.5), dict(recurrent_dropout=0.5)]:
        layer = keras.layers.LSTM(7, **rates)
        layer(x)
        runs = []
        for _ in range(2):
            keras.utils.set_random_seed(3)
            runs.append(layer(x, training=True).numpy())
        np.testing.assert_array_equal(runs[0], runs[1])
        assert not np.allclose(runs[0], layer(x).numpy())  # inference: no dropout


@pytest.mark.parametrize("call, message", [
    (lambda layer: layer(np.zeros((2, 3), np.float32)), r"lstm.*3 dimensions.*\(2, 3\)"),
    (lambda layer: layer(np.zeros((2, 3, 5), np.float32)), r"lstm.*4.*\(2, 3, 5\)"),
    (lambda layer: layer(np.zeros((2, 3, 4), np.float32),
                         initial_state=[np.zeros((2, 6), np.float32)] * 2), r"initial_state"),
    (lambda layer: layer(np.zeros((2, 3, 4), np.float32), mask=np.ones((2, 4), bool)),
     r"mask.*\(2, 3\)"),
])
def test_bad_inputs_name_the_layer_and_the_shapes(call, message):
    layer = keras.layers.LSTM(3, name="lstm")
    layer(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=message):
        call(layer)


def test_gru_reset_before_matches_its_definition():
    rng = np.random.default_rng(9)
    layer = keras.layers.GRU(4, reset_after=False, return_sequences=True, dtype="float64")
    x = rng.standard_normal((2, 3, 5))
    out = layer(x).numpy()
    w, u, b = [v.astype(np.float64) for v in layer.get_weights()]
    h = np.zeros((2, 4))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(3):
        xw = x[:, t] @ w + b
        z = sig(xw[:, :4] + h @ u[:, :4])
        r = sig(xw[:, 4:8] + h @ u[:, 4:8])
        n = np.tanh(xw[:, 8:] + (r * h) @ u[:, 8:])
        h = z * h + (1 - z) * n
        np.testing.assert_allclose(out[:, t], h, rtol=1e-12)


@pytest.mark.parametrize("kind, options", [("LSTM", {}), ("GRU", {}),
                                           ("GRU", {"reset_after": False}), ("SimpleRNN", {})])
def test_cells_step_by_step_match_the_layers(kind, options):
    """RNN over a cell of a subclass (not the built-in type) runs the cell's call at every
    step: the same outputs as the layer's fused path."""
    cell_type = getattr(keras.layers, kind + "Cell")
    own_cell = type("OwnCell", (cell_type,), {})
    rng = np.random.default_rng(13)
    x, mask = rng.standard_normal((3, 5, 4)), rng.random((3, 5)) > 0.3
    fused = getattr(keras.layers, kind)(6, return_sequences=True, dtype="float64", **options)
    stepped = keras.layers.RNN(own_cell(6, dtype="float64", **options), return_sequences=True,
                               dtype="float64")
    fused(x), stepped(x)
    stepped.set_weights(fused.get_weights())
    np.testing.assert_allclose(stepped(x, mask=mask).numpy(), fused(x, mask=mask).numpy(),
                               rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- against Keras 3

_KERAS_LAYERS = """
import numpy as np
import keras
out = []
for case in payload:
    layer = getattr(keras.layers, case["kind"])(**case["kwargs"])
    if case["merge_mode"] != "none":
        layer = keras.layers.Bidirectional(layer, merge_mode=case["merge_mode"])
    layer(case["x"])
    fresh = [np.asarray(w) for w in layer.get_weights()]
    layer.set_weights(case["weights"])
    kwargs = {}
    if case["mask"] is not None:
        kwargs["mask"] = case["mask"]
    if case["initial_state"] is not None:
        kwargs["initial_state"] = case["initial_state"]
    y = layer(case["x"], **kwargs)
    y = list(y) if isinstance(y, (list, tuple)) else [y]
    out.append(([np.asarray(v) for v in y], [w.shape for w in fresh],
                fresh[-1] if case["kind"] == "LSTM" else None))
result = out
"""


def _keras_cases():
    rng = np.random.default_rng(21)
    cases = []
    layers = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
              ("LSTM", {"activation": "relu", "recurrent_activation": "tanh"})]
    variants = [({}, False, "none", False), ({"return_sequences": True}, True, "none", False),
                ({"return_state": True, "go_backwards": True}, True, "none", True),
                ({"return_sequences": True, "return_state": True}, False, "none", True),
                ({"return_sequences": True}, True, "concat", False),
                ({"return_sequences": True}, False, "sum", False), ({}, True, "ave", False),
                ({"return_sequences": True}, True, "mul", False), ({}, False, None, False)]
    for kind, layer_kwargs in layers:
        for variant, masked, merge_mode, with_state in variants:
            x = rng.standard_normal((3, 6, 4)).astype(np.float32)
            mask = rng.random((3, 6)) > 0.3 if masked else None
            kwargs = {"units": 5, **layer_kwargs, **variant}
            cases.append(dict(kind=kind, kwargs=kwargs, merge_mode=merge_mode, x=x, mask=mask,
                              with_state=with_state))
    return cases


def _fastdl_layer(case):
    layer = getattr(keras.layers, case["kind"])(**case["kwargs"])
    if case["merge_mode"] != "none":
        layer = keras.layers.Bidirectional(layer, merge_mode=case["merge_mode"])
    layer(case["x"])
    return layer


def test_layers_match_keras_3():
    """Shapes and order of the weights, LSTM's initial bias, and the outputs (states, masks,
    go_backwards, Bidirectional's merge modes) of Keras 3 given the same weights."""
    from keras_reference import KERAS_PYTHON, run_keras
    if not KERAS_PYTHON.is_file():
        pytest.skip(f"no Keras interpreter at {KERAS_PYTHON}")
    rng = np.random.default_rng(22)
    cases, layers = _keras_cases(), []
    for case in cases:
        layer = _fastdl_layer(case)
        case["weights"] = [rng.standard_normal(w.shape).astype(np.float32) * 0.5
                           for w in layer.get_weights()]
        units, bidirectional = case["kwargs"]["units"], case["merge_mode"] != "none"
        count = (2 if case["kind"] == "LSTM" else 1) * (2 if bidirectional else 1)
        case["initial_state"] = [rng.standard_normal((3, units)).astype(np.float32)
                                 for _ in range(count)] if case["with_state"] else None
        layers.append(layer)
    theirs = run_keras(_KERAS_LAYERS, [{k: v for k, v in c.items() if k != "with_state"}
                                       for c in cases])
    for case, layer, (their_outputs, their_shapes, their_bias) in zip(cases, layers, theirs):
        assert [tuple(w.shape) for w in layer.get_weights()] == \
            [tuple(s) for s in their_shapes], case
        if their_bias is not None:
            np.testing.assert_array_equal(layer.get_weights()[-1], their_bias)
        layer.set_weights(case["weights"])
        ours = layer(case["x"], mask=case["mask"], initial_state=case["initial_state"])
        ours = list(ours) if isinstance(ours, (list, tuple)) else [ours]
        assert len(ours) == len(their_outputs), case
        for a, b in zip(ours, their_outputs):
            np.testing.assert_allclose(a.numpy(), b, rtol=2e-5, atol=2e-5,
                                       err_msg=str({k: case[k] for k in ("kind", "kwargs",
                                                                         "merge_mode")}))


@pytest.mark.parametrize("op, gates", [("lstm", 4), ("gru", 3), ("simple_rnn", 1)])
def test_mixed_dtypes_promote(op, gates):
    """float32 inputs with float64 weights (or a float64 recurrent kernel alone) run in
    float64, as the products would; the default initial states follow."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w, u = rng.standard_normal((4, gates * 5)), rng.standard_normal((5, gates * 5)) * 0.3
    fn = getattr(fastdl.ops, op)
    want = fn(x.astype(np.float64), w, u)[0].numpy()
    for kernel in (w, w.astype(np.float32)):
        got = fn(x, kernel, u)[0]
        assert got.dtype == np.float64
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6)


def test_stateful_memory_stays_flat_over_many_batches():
    """1000 training calls of a stateful layer (each with a backward pass, as fit makes them):
    the memory held after 1000 is what it was after 100 (no graph chained through the
    states)."""
    import gc
    import tracemalloc
    layer = keras.layers.LSTM(8, stateful=True)
    x = np.random.default_rng(2).standard_normal((4, 5, 3)).astype(np.float32)

    def steps(n):
        for _ in range(n):
            layer(x, training=True).sum().backward()

    steps(10)
    tracemalloc.start()
    try:
        # Each step leaves a few reference cycles to the cyclic collector: count what stays.
        steps(100)
        gc.collect()
        after_100 = tracemalloc.get_traced_memory()[0]
        steps(900)
        gc.collect()
        after_1000 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after_1000 - after_100 < 64 * 1024, (after_100, after_1000)


@pytest.mark.parametrize("backward_layer", [None, "given"])
def test_bidirectional_config_round_trip_rebuilds_both_layers(backward_layer):
    """Keras 3's Bidirectional config holds both recurrent layers; from_config rebuilds the
    same layer, which computes the same outputs once given the same weights."""
    layers = keras.layers
    backward = None if backward_layer is None else layers.GRU(
        3, return_sequences=True, go_backwards=True, reset_after=False, name="reverse")
    layer = layers.Bidirectional(layers.GRU(3, return_sequences=True, reset_after=False),
                                 merge_mode="ave", backward_layer=backward)
    x = np.random.default_rng(3).standard_normal((2, 5, 4)).astype(np.float32)
    want = layer(x).numpy()
    config = layer.get_config()
    assert config["layer"]["class_name"] == config["backward_layer"]["class_name"] == "GRU"
    copy = layers.Bidirectional.from_config(config)
    assert copy.merge_mode == "ave" and copy.return_sequences
    assert copy.forward_layer is not layer.forward_layer
    assert copy.forward_layer.name == layer.forward_layer.name
    assert copy.backward_layer.name == layer.backward_layer.name
    assert copy.backward_layer.go_backwards and not copy.backward_layer.reset_after
    copy(x)
    copy.set_weights(layer.get_weights())
    np.testing.assert_array_equal(copy(x).numpy(), want)
