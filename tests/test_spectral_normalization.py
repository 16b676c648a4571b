"""SpectralNormalization against Keras 3 itself (the kernel and vector_u after each training call,
the outputs), against a float64 power iteration, and its behaviour: inference leaves the
weights alone, an all-zero kernel stays, the gradient reaches the kernel through the layer, a
layer without a kernel is refused, the config round-trips."""
import numpy as np
import pytest

import fastdl
from fastdl import keras
from keras_reference import requires_keras, run_keras

_KERAS_BODY = """
import numpy as np
import keras
result = []
for kind, x, weights, power_iterations in payload:
    inner = {"dense": lambda: keras.layers.Dense(5),
             "conv": lambda: keras.layers.Conv2D(4, 3),
             "embedding": lambda: keras.layers.Embedding(7, 3)}[kind]()
    layer = keras.layers.SpectralNormalization(inner, power_iterations=power_iterations)
    layer.build(x.shape)
    for w in layer.weights:
        w.assign(weights[w.path.split("/")[-1]])
    outputs = [np.asarray(layer(x, training=True)) for _ in range(2)]
    result.append((outputs, {w.path.split("/")[-1]: np.asarray(w) for w in layer.weights}))
"""

LAYERS = {"dense": (lambda: keras.layers.Dense(5), (3, 6)),
          "conv": (lambda: keras.layers.Conv2D(4, 3), (2, 6, 6, 3)),
          "embedding": (lambda: keras.layers.Embedding(7, 3), (2, 5))}


def wrapped(kind, power_iterations=1):
    make, shape = LAYERS[kind]
    layer = keras.layers.SpectralNormalization(make(), power_iterations=power_iterations)
    return layer, shape


def inputs(kind, shape, rng):
    if kind == "embedding":
        return rng.integers(0, 7, shape).astype(np.int32)
    return rng.standard_normal(shape).astype(np.float32)


@requires_keras
def test_two_training_calls_match_keras_3():
    rng = np.random.default_rng(0)
    cases, ours = [], []
    for kind, power_iterations in [("dense", 1), ("conv", 1), ("conv", 3), ("embedding", 2)]:
        layer, shape = wrapped(kind, power_iterations)
        x = inputs(kind, shape, rng)
        layer.build(shape)
        # By name, then compared in order.
        weights = {w.name: rng.standard_normal(w.shape).astype(np.float32)
                   for w in layer.weights}
        for w in layer.weights:
            w.assign(weights[w.name])
        cases.append((kind, x, weights, power_iterations))
        outputs = [layer(x, training=True).numpy() for _ in range(2)]
        ours.append((outputs, {w.name: w.numpy() for w in layer.weights}))
    for (kind, *_), (outputs, weights), (their_outputs, their_weights) in zip(
            cases, ours, run_keras(_KERAS_BODY, cases)):
        assert list(weights) == list(their_weights)  # Keras's order: kernel, vector_u, bias
        if kind == "embedding":  # Keras casts the output to the inputs' int32: zeros
            outputs = their_outputs = []
        for got, want in zip(outputs + [weights[k] for k in sorted(weights)],
                             their_outputs + [their_weights[k] for k in sorted(weights)]):
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=kind)


def test_the_kernel_converges_to_a_spectral_norm_of_one():
    """Power iteration carried across calls: after a few training calls the largest singular
    value of the kernel (as a matrix of its output channels) is 1, in float64's terms."""
    rng = np.random.default_rng(1)
    keras.utils.set_random_seed(1)
    layer, shape = wrapped("conv")
    x = inputs("conv", shape, rng)
    layer.build(shape)
    layer.layer.kernel.assign(layer.layer.kernel.numpy() * 5)
    before = layer.layer.kernel.numpy().reshape(-1, 4).astype(np.float64)
    for _ in range(50):
        layer(x, training=True)
    kernel = layer.layer.kernel.numpy().reshape(-1, 4).astype(np.float64)
    assert np.linalg.svd(before, compute_uv=False)[0] > 1.5
    np.testing.assert_allclose(np.linalg.svd(kernel, compute_uv=False)[0], 1.0, rtol=1e-3)
    # Its direction is the original kernel's: only its scale changed.
    np.testing.assert_allclose(kernel / np.linalg.norm(kernel), before / np.linalg.norm(before),
                               rtol=1e-4, atol=1e-6)


def test_inference_changes_nothing_and_a_zero_kernel_stays():
    rng = np.random.default_rng(2)
    layer, shape = wrapped("dense")
    x = inputs("dense", shape, rng)
    layer(x)
    before = [w.copy() for w in layer.get_weights()]
    np.testing.assert_array_equal(layer(x).numpy(), layer.layer(x).numpy())
    assert all(np.array_equal(a, b) for a, b in zip(before, layer.get_weights()))
    layer.layer.kernel.assign(np.zeros((6, 5), np.float32))
    u = layer.vector_u.numpy().copy()
    layer(x, training=True)
    assert not layer.layer.kernel.numpy().any()
    np.testing.assert_array_equal(layer.vector_u.numpy(), u)


def test_trains_inside_a_model_with_the_gradient_through_the_layer():
    rng = np.random.default_rng(3)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)),
                              keras.layers.SpectralNormalization(keras.layers.Dense(8)),
                              keras.layers.LeakyReLU(0.2), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.standard_normal((64, 6)), rng.standard_normal((64, 1))
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias", "kernel", "bias"]
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    kernel = model.layers[0].layer.kernel.numpy().astype(np.float64)
    assert np.linalg.svd(kernel, compute_uv=False)[0] < 1.2


def test_errors_and_config():
    with pytest.raises(ValueError, match=r"SpectralNormalization: power_iterations .* "
                                         r"greater than zero; received 0"):
        keras.layers.SpectralNormalization(keras.layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match=r"SpectralNormalization: the wrapped layer Flatten "
                                         r"\('flat'\) has neither a 'kernel' nor"):
        keras.layers.SpectralNormalization(keras.layers.Flatten(name="flat"))(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"SpectralNormalization: layer must be a "
                                         r"fastdl.layers.Layer instance"):
        keras.layers.SpectralNormalization("dense")
    layer = keras.layers.SpectralNormalization(keras.layers.Dense(3, name="inner"),
                                               power_iterations=2)
    copy = keras.layers.SpectralNormalization.from_config(layer.get_config())
    assert copy.power_iterations == 2 and copy.layer.units == 3 and copy.layer is not layer.layer
    assert copy.compute_output_shape((None, 4)) == (None, 3)


def test_on_gpu_tensors():
    if not fastdl.cuda.is_available():
        pytest.skip("needs a CUDA GPU, CuPy and fastdl built with its CUDA kernels")
    rng = np.random.default_rng(4)
    cpu_layer, shape = wrapped("dense")
    x = inputs("dense", shape, rng)
    cpu_layer.build(shape)
    gpu_layer, _ = wrapped("dense")
    gpu_layer.build(shape)
    gpu_layer.set_weights(cpu_layer.get_weights())
    gpu_layer.to("cuda")
    want = cpu_layer(x, training=True).numpy()
    got = gpu_layer(fastdl.tensor(x).to("cuda"), training=True).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
