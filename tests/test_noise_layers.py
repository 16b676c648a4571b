"""GaussianNoise and GaussianDropout: the identity at inference, noise of the stated
mean and deviation in training (the flag reaching them inside models), seeds, gradients
(central differences in float64 with the noise held fixed by the seed), masks, configs and
errors; Keras 3's argument checks and noise statistics compared where /opt/tfenv exists."""
import math

import numpy as np
import pytest

import fastdl
from fastdl import keras, layers
from keras_reference import requires_keras, run_keras

NOISES = [lambda **kw: layers.GaussianNoise(0.3, **kw),
          lambda **kw: layers.GaussianDropout(0.3, **kw)]


def test_keras_namespace_and_defaults():
    assert keras.layers.GaussianNoise is layers.GaussianNoise
    assert keras.layers.GaussianDropout is layers.GaussianDropout
    noise, dropout = layers.GaussianNoise(0.1), layers.GaussianDropout(0.2)
    assert noise.name.startswith("gaussian_noise") and dropout.name.startswith(
        "gaussian_dropout")
    assert noise.built and dropout.built and noise.weights == [] and dropout.seed is None


@pytest.mark.parametrize("make", NOISES)
def test_identity_at_inference(make):
    layer = make(seed=1)
    x = fastdl.randn(4, 5)
    for out in (layer(x), layer(x, training=False), layer(x.numpy())):
        np.testing.assert_array_equal(out.numpy(), x.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gaussian_noise_statistics(dtype):
    layer = layers.GaussianNoise(0.25, seed=2, dtype=dtype)
    x = np.full((400, 500), 3.0, dtype)
    out = layer(x, training=True).numpy()
    assert out.dtype == np.dtype(dtype) and out.shape == x.shape
    noise = out - 3.0
    assert abs(noise.mean()) < 0.003 and abs(noise.std() - 0.25) < 0.003


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_gaussian_dropout_statistics(rate):
    layer = layers.GaussianDropout(rate, seed=3)
    out = layer(np.full((400, 500), 2.0, np.float32), training=True).numpy() / 2.0
    deviation = math.sqrt(rate / (1 - rate))
    assert abs(out.mean() - 1.0) < 0.005 * max(deviation, 1)
    assert abs(out.std() - deviation) < 0.005 * max(deviation, 1)


@pytest.mark.parametrize("make", NOISES)
def test_seeds(make):
    x = fastdl.zeros(3, 4) + 1.0
    first, again = make(seed=7), make(seed=7)
    a, b = first(x, training=True).numpy(), first(x, training=True).numpy()
    assert not np.array_equal(a, b)  # each training call draws anew
    np.testing.assert_array_equal(again(x, training=True).numpy(), a)  # the same sequence
    np.testing.assert_array_equal(again(x, training=True).numpy(), b)
    fastdl.manual_seed(5)
    c = make()(x, training=True).numpy()
    fastdl.manual_seed(5)
    np.testing.assert_array_equal(make()(x, training=True).numpy(), c)


def test_zero_noise_is_the_identity_in_training():
    x = fastdl.randn(3, 4)
    for layer in (layers.GaussianNoise(0.0), layers.GaussianDropout(0.0)):
        assert layer(x, training=True) is x or np.array_equal(
            layer(x, training=True).numpy(), x.numpy())
        assert layer.seed_generator is None


@pytest.mark.parametrize("make", NOISES)
def test_gradients(make):
    x = fastdl.tensor(np.random.default_rng(0).normal(size=(3, 5)), requires_grad=True)
    # A new layer with the same seed per call: the same noise in every evaluation.
    assert fastdl.gradcheck(lambda t: make(seed=11, dtype="float64")(t, training=True), [x])


def test_gradient_of_the_dropout_is_its_noise():
    x = fastdl.tensor(np.full((2, 6), 2.0), dtype="float64", requires_grad=True)
    out = layers.GaussianDropout(0.4, seed=1, dtype="float64")(x, training=True)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out.numpy() / 2.0)


@pytest.mark.parametrize("make", NOISES)
def test_the_training_flag_reaches_them_in_models(make):
    model = keras.Sequential([layers.Input(shape=(4,)), layers.Dense(4), make(seed=0)])
    x = np.random.default_rng(1).normal(size=(8, 4)).astype(np.float32)
    clean = model.layers[0](x).numpy()
    np.testing.assert_array_equal(model(x).numpy(), clean)
    np.testing.assert_array_equal(model.predict(x, verbose=0), clean)
    assert not np.allclose(model(x, training=True).numpy(), clean)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x, epochs=2, verbose=0)


@pytest.mark.parametrize("make", NOISES)
def test_masks_pass_through_and_shapes(make):
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]]], np.float32)
    layer = make(seed=0)
    assert layer.supports_masking
    for training in (False, True):
        out = layer(layers.Masking()(x), training=training)
        np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True]])
    assert layer(layers.Input(shape=(None, 2))).shape == (None, None, 2)
    assert layer.compute_output_shape((None, 3, 2)) == (None, 3, 2)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    assert config["seed"] == 0


@pytest.mark.parametrize("make, match", [
    (lambda: layers.GaussianNoise(1.5), r"GaussianNoise: stddev must be a number in \[0, 1\]"
                                        r".*1.5"),
    (lambda: layers.GaussianNoise(-0.1), r"GaussianNoise: stddev.*-0.1"),
    (lambda: layers.GaussianNoise(None), r"GaussianNoise: stddev.*None"),
    (lambda: layers.GaussianDropout(1.0), r"GaussianDropout: rate must be a number in "
                                          r"\[0, 1\).*1.0"),
    (lambda: layers.GaussianDropout(-0.5), r"GaussianDropout: rate.*-0.5"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


_KERAS_BODY = """
import numpy as np
import keras
result = {"errors": [], "stats": []}
for name, value in payload["errors"]:
    try:
        getattr(keras.layers, name)(value)
        result["errors"].append(None)
    except Exception as error:
        result["errors"].append(type(error).__name__)
x = np.full((400, 500), 2.0, "float32")
for name, value in payload["stats"]:
    layer = getattr(keras.layers, name)(value, seed=1)
    out = np.asarray(layer(x, training=True))
    result["stats"].append((float(out.mean()), float(out.std()),
                            bool(np.array_equal(np.asarray(layer(x)), x))))
"""


@requires_keras
def test_against_keras():
    payload = {"errors": [("GaussianNoise", 1.5), ("GaussianNoise", -0.1),
                          ("GaussianNoise", 0.0), ("GaussianNoise", 1.0),
                          ("GaussianDropout", -0.5), ("GaussianDropout", 1.5),
                          ("GaussianDropout", 0.0), ("GaussianDropout", 0.99)],
               "stats": [("GaussianNoise", 0.2), ("GaussianNoise", 0.7),
                         ("GaussianDropout", 0.2), ("GaussianDropout", 0.6)]}
    theirs = run_keras(_KERAS_BODY, payload)
    for (name, value), their in zip(payload["errors"], theirs["errors"]):
        try:
            getattr(layers, name)(value)
            mine = None
        except ValueError as error:
            mine = type(error).__name__
        assert mine == their, f"{name}({value})"
    x = np.full((400, 500), 2.0, np.float32)
    for (name, value), (mean, std, identity) in zip(payload["stats"], theirs["stats"]):
        layer = getattr(layers, name)(value, seed=1)
        out = layer(x, training=True).numpy()
        assert identity and np.array_equal(layer(x).numpy(), x)
        assert abs(out.mean() - mean) < 0.01 and abs(out.std() - std) < 0.01 * max(std, 1)
