"""The convolution fused with max pooling (Conv2D then MaxPooling2D as one operation) beyond
the table of operation cases (which checks its values and gradients against direct loops and by
gradcheck, tests/test_op_cases.py): the fused kernel against the two operations run one after
the other, the gradients asked of it, its checks, and its use by Sequential models."""
import numpy as np
import pytest
import reference

import fastdl
from fastdl import keras
from fastdl.backend import cpu
from fastdl.backend.geometry import conv2d_geometry
from fastdl.layers import base as layer_base
# The table's geometries: (batch, height, width, in_channels, kernel_h, kernel_w,
# out_channels, strides, padding, dilation, pool_size, pool_strides, pool_padding).
from fastdl.testing.op_cases.conv import CONV_POOL_GEOMETRIES as CASES

ACTIVATIONS = [None, "relu", "sigmoid", "tanh"]


def _arrays(rng, case, dtype):
    n, h, w, c, kh, kw, co = case[:7]
    return (rng.standard_normal((n, h, w, c)).astype(dtype),
            (rng.standard_normal((kh, kw, c, co)) * 0.3).astype(dtype),
            rng.standard_normal(co).astype(dtype))


def _pool_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _reference(x, k, b, case, activation):
    """(pooled, argmax, conv output) from the direct loops."""
    geometry = conv2d_geometry(x.shape, k.shape, *case[7:10])
    z = reference.conv2d(x, k, b, *geometry)
    out = z if activation is None else reference.ACTIVATIONS[activation](z)
    pool = _pool_pair(case[10])
    strides = pool if case[11] is None else _pool_pair(case[11])
    y, argmax = reference.max_pool2d(out, pool, strides, case[12])
    return y, argmax, z, geometry


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("case", CASES)
def test_fused_kernel_equals_the_two_operations(isa, rng, case, activation, dtype):
    x, k, b = _arrays(rng, case, dtype)
    geometry = conv2d_geometry(x.shape, k.shape, *case[7:10])
    y, argmax = cpu.conv2d_max_pool2d(x, k, b, *geometry, activation, *case[10:])
    # The two operations in sequence give the very same values and positions.
    conv = cpu.conv2d_forward(x, k, b, *geometry, activation)
    y2, argmax2 = cpu.max_pool2d_with_argmax(conv, *case[10:])
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(argmax, argmax2)
    if dtype == np.float64:
        _, want_argmax, _, _ = _reference(x, k, b, case, activation)
        np.testing.assert_array_equal(argmax, want_argmax)


def test_bias_gradient_alone(rng):
    case = CASES[1]
    x, k, b = _arrays(rng, case, np.float64)
    _, _, _, geometry = _reference(x, k, b, case, None)
    y, argmax = cpu.conv2d_max_pool2d(x, k, b, *geometry, "relu", *case[10:])
    dy = rng.standard_normal(y.shape)
    dx, dw, db = cpu.conv2d_max_pool2d_backward(dy, x, k, y, argmax, *geometry, "relu",
                                                *case[10:], False, False, True)
    _, _, want = cpu.conv2d_max_pool2d_backward(dy, x, k, y, argmax, *geometry, "relu",
                                                *case[10:], False, True, True)
    assert dx is None and dw is None
    np.testing.assert_allclose(db, want, rtol=1e-12)


def test_shapes_and_dtypes_are_checked(rng):
    x, k, b = _arrays(rng, CASES[0], np.float32)
    geometry = conv2d_geometry(x.shape, k.shape, 1, "valid", 1)
    y, argmax = cpu.conv2d_max_pool2d(x, k, b, *geometry, "relu", 2)
    with pytest.raises(ValueError, match=r"conv2d_max_pool2d_backward: dy has shape "
                                         r"\(3, 4, 4, 32\); expected \(3, 5, 5, 32\)"):
        cpu.conv2d_max_pool2d_backward(y[:, 1:, 1:], x, k, y, argmax, *geometry, "relu", 2)
    with pytest.raises(TypeError, match="argmax has dtype int64"):
        cpu.conv2d_max_pool2d_backward(y, x, k, y, argmax.astype(np.int64), *geometry, "relu",
                                       2)
    with pytest.raises(ValueError, match="conv2d_max_pool2d: .*window is larger"):
        cpu.conv2d_max_pool2d(x, k, b, *geometry, "relu", 11)
    with pytest.raises(ValueError, match="conv2d_max_pool2d: .*x has 1 channels but w expects 3"):
        cpu.conv2d_max_pool2d(x, k.repeat(3, axis=2), b, *geometry, "relu", 2)


def _cnn(first_channels=1):
    keras.utils.set_random_seed(7)
    return keras.Sequential([
        keras.layers.Conv2D(8, (3, 3), activation="relu", input_shape=(12, 12, first_channels)),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(4, (3, 3)),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax")])


def _count_fused(monkeypatch):
    calls = []
    original = cpu.conv2d_max_pool2d

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(cpu, "conv2d_max_pool2d", counting)
    return calls


def test_sequential_runs_conv_and_pool_as_one_operation_with_the_same_results(monkeypatch, rng):
    model = _cnn()
    x = rng.random((5, 12, 12, 1)).astype(np.float32)
    calls = _count_fused(monkeypatch)
    out = model(fastdl.tensor(x))
    assert calls == [(5, 12, 12, 1)]
    out.sum().backward()
    fused_grads = [v.grad.numpy().copy() for v in model.trainable_weights]

    # The layers called one by one: the separate convolution and pooling.
    for v in model.trainable_weights:
        v.grad = None
    t = fastdl.tensor(x)
    for layer in model.layers:
        t = layer(t)
    assert len(calls) == 1
    np.testing.assert_array_equal(out.numpy(), t.numpy())
    t.sum().backward()
    for got, v in zip(fused_grads, model.trainable_weights):
        np.testing.assert_allclose(got, v.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_the_fused_pair_in_a_training_step_takes_no_general_layer_call(monkeypatch, rng):
    # Every layer of this model is called on one Tensor of its dtype: the cheap call, each
    # step of fit. The general path (nested arguments, masks) costs tens of microseconds.
    model = _cnn()
    x = fastdl.tensor(rng.random((2, 12, 12, 1)).astype(np.float32))
    model(x)

    def general_call(*args, **kwargs):
        raise AssertionError("a layer of the model took the general call path")

    monkeypatch.setattr(layer_base, "call_layer", general_call)
    calls = _count_fused(monkeypatch)
    model(x, training=True)
    assert len(calls) == 1


def test_fusion_is_limited_to_where_it_applies(monkeypatch, rng):
    calls = _count_fused(monkeypatch)
    _cnn(first_channels=3)(fastdl.tensor(rng.random((2, 12, 12, 3)).astype(np.float32)))
    assert calls == []  # three input channels: the output is not the first layer's large one

    class Shifted(keras.layers.Conv2D):
        def call(self, inputs):
            return super().call(inputs) + 1.0

    layer = Shifted(4, 3)
    layer(fastdl.ones((1, 6, 6, 1)))
    assert not layer.fuses_max_pool(keras.layers.MaxPooling2D(2))
    plain = keras.layers.Conv2D(4, 3)
    plain(fastdl.ones((1, 6, 6, 1)))
    assert plain.fuses_max_pool(keras.layers.MaxPooling2D(2))
    assert not plain.fuses_max_pool(keras.layers.MaxPooling2D(3, strides=2))  # overlapping
    assert not plain.fuses_max_pool(keras.layers.AveragePooling2D(2))
    assert not keras.layers.Conv2D(4, 3, activation="softmax").fuses_max_pool(
        keras.layers.MaxPooling2D(2))  # not built


def test_a_fused_model_trains_like_the_separate_layers(rng):
    x = rng.random((64, 12, 12, 1)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    fused = _cnn()
    fused.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    separate = _cnn()
    separate.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    # The same model run layer by layer: the separate convolution and pooling.
    separate.call = lambda inputs, training=None: _layer_by_layer(separate, inputs, training)
    h1 = fused.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    h2 = separate.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    for a, b in zip(fused.get_weights(), separate.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _layer_by_layer(model, inputs, training):
    for layer in model.layers:
        inputs = layer(inputs, training=training)
    return inputs
