"""Layers: forward against float64 NumPy references, gradients by gradcheck, the Layer API
(weights, trainable, get/set_weights, lazy build) and the errors users meet."""
import numpy as np
import pytest

import fastdl
import reference as ref
from fastdl import initializers, keras, layers
from fastdl.backend.geometry import conv2d_geometry


def f64_layer(cls, *args, **kwargs):
    return cls(*args, dtype="float64", **kwargs)


def check_gradients(layer, x, training=True):
    """The analytic gradients of sum(layer(x) * r), with respect to x and to each trainable
    weight, against central differences."""
    r = np.random.default_rng(3).standard_normal(layer(x, training=training).shape)

    def objective(v):
        return float((layer(v, training=training).numpy() * r).sum())

    xt = fastdl.tensor(x, requires_grad=True)
    for w in layer.trainable_weights:
        w.grad = None
    (layer(xt, training=training) * fastdl.tensor(r)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), ref.numeric_gradient(objective, x.copy()),
                               rtol=1e-5, atol=1e-6, err_msg="input")
    for w in layer.trainable_weights:
        def objective_of_weight(v, w=w):
            saved, w.data = w.data, v
            try:
                return objective(x)
            finally:
                w.data = saved

        numeric = ref.numeric_gradient(objective_of_weight, w.data.copy())
        np.testing.assert_allclose(w.grad.numpy(), numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=w.name)


# --------------------------------------------------------------------------- Dense

@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax", "gelu"])
def test_dense_forward_matches_numpy(activation, rng):
    x = rng.standard_normal((5, 7))
    layer = f64_layer(layers.Dense, 3, activation=activation)
    out = layer(x).numpy()
    z = x @ layer.kernel.numpy() + layer.bias.numpy()
    expected = ref.softmax(z) if activation == "softmax" else (
        z if activation is None else ref.activation(activation, z))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "softmax"])
def test_dense_gradients(activation, rng):
    layer = f64_layer(layers.Dense, 4, activation=activation)
    check_gradients(layer, rng.standard_normal((3, 5)) + 0.1)


def test_dense_on_rank3_input_multiplies_the_last_axis(rng):
    layer = f64_layer(layers.Dense, 4)
    x = rng.standard_normal((2, 3, 5))
    np.testing.assert_allclose(layer(x).numpy(), x @ layer.kernel.numpy(), atol=1e-12)


def test_dense_without_bias_and_with_initializers():
    layer = layers.Dense(3, use_bias=False, kernel_initializer="ones")
    out = layer(np.ones((2, 4), np.float32))
    assert [w.name for w in layer.weights] == ["kernel"]
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 4.0, np.float32))


def test_dense_callable_activation():
    layer = layers.Dense(2, activation=lambda t: t * 2.0, kernel_initializer="ones")
    np.testing.assert_array_equal(layer(np.ones((1, 3))).numpy(), [[6.0, 6.0]])


def test_dense_rejects_wrong_features_naming_layer_and_shapes():
    layer = layers.Dense(3, name="hidden")
    layer(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"'hidden'.*axis -1.*size 4.*\(2, 5\)"):
        layer(np.ones((2, 5)))


def test_dense_rejects_bad_units_and_unknown_arguments():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="Unrecognized keyword.*Dense.*kernal_initializer"):
        layers.Dense(3, kernal_initializer="ones")
    with pytest.raises(ValueError, match="unknown activation 'rleu'"):
        layers.Dense(3, activation="rleu")


# --------------------------------------------------------------------------- convolution

@pytest.mark.parametrize("padding,strides,dilation", [
    ("valid", 1, 1), ("same", 1, 1), ("same", 2, 1), ("valid", (2, 1), 1), ("valid", 1, 2)])
def test_conv2d_forward_matches_direct_loops(padding, strides, dilation, rng):
    layer = f64_layer(layers.Conv2D, 4, (3, 3), strides=strides, padding=padding,
                      dilation_rate=dilation, activation="relu")
    x = rng.standard_normal((2, 9, 8, 3))
    out = layer(x).numpy()
    geometry = conv2d_geometry(x.shape, layer.kernel.shape, strides,
                                                 padding, dilation)
    expected = np.maximum(ref.conv2d(x, layer.kernel.numpy(), layer.bias.numpy(), *geometry),
                          0)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_conv2d_gradients(rng):
    layer = f64_layer(layers.Conv2D, 2, 3, padding="same", activation="tanh")
    check_gradients(layer, rng.standard_normal((2, 5, 4, 2)))


def test_conv2d_channels_first_equals_channels_last(rng):
    x = rng.standard_normal((2, 7, 7, 3))
    last = f64_layer(layers.Conv2D, 4, 3)
    last(x)
    first = f64_layer(layers.Conv2D, 4, 3, data_format="channels_first")
    first(x.transpose(0, 3, 1, 2))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(first(x.transpose(0, 3, 1, 2)).numpy().transpose(0, 2, 3, 1),
                               last(x).numpy(), atol=1e-12)


def test_conv2d_on_3d_images_says_to_add_a_channel_axis():
    with pytest.raises(ValueError, match=r"conv2d.*4 dimensions.*add a channel axis.*"
                                         r"\(8, 28, 28\)"):
        layers.Conv2D(8, 3)(np.ones((8, 28, 28), np.float32))


def test_conv2d_channel_mismatch_after_build():
    layer = layers.Conv2D(8, 3)
    layer(np.ones((1, 6, 6, 3), np.float32))
    with pytest.raises(ValueError, match=r"axis -1.*size 3.*\(1, 6, 6, 4\)"):
        layer(np.ones((1, 6, 6, 4), np.float32))


def test_conv2d_kernel_larger_than_input_is_an_error():
    with pytest.raises(ValueError, match="conv2d"):
        layers.Conv2D(2, 5)(np.ones((1, 3, 3, 1), np.float32))


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_conv1d_forward_matches_direct_loops(padding, rng):
    layer = f64_layer(layers.Conv1D, 3, 3, padding=padding)
    x = rng.standard_normal((2, 10, 4))
    out = layer(x).numpy()
    left, right = {"valid": (0, 0), "same": (1, 1), "causal": (2, 0)}[padding]
    xp = np.pad(x, ((0, 0), (left, right), (0, 0)))
    k = layer.kernel.numpy()
    expected = np.stack([sum(xp[:, t + i] @ k[i] for i in range(3))
                         for t in range(xp.shape[1] - 2)], axis=1) + layer.bias.numpy()
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_conv1d_gradients(rng):
    check_gradients(f64_layer(layers.Conv1D, 2, 2, padding="causal"),
                    rng.standard_normal((2, 5, 3)))


# --------------------------------------------------------------------------- pooling

@pytest.mark.parametrize("cls,fn", [(layers.MaxPooling2D, np.max),
                                    (layers.AveragePooling2D, np.mean)])
def test_pooling_matches_windows(cls, fn, rng):
    x = rng.standard_normal((2, 6, 6, 3))
    out = cls((2, 2))(x).numpy()
    expected = fn(x.reshape(2, 3, 2, 3, 2, 3), axis=(2, 4))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_pooling_strides_and_same_padding_shapes():
    x = np.ones((1, 7, 7, 2), np.float32)
    assert layers.MaxPooling2D(3, strides=2)(x).shape == (1, 3, 3, 2)
    assert layers.MaxPooling2D(2, padding="same")(x).shape == (1, 4, 4, 2)


def test_pooling_gradients(rng):
    check_gradients(f64_layer(layers.AveragePooling2D, 2), rng.standard_normal((1, 4, 4, 2)))
    x = rng.permutation(32).reshape(1, 4, 4, 2).astype(np.float64)  # no ties
    check_gradients(f64_layer(layers.MaxPooling2D, 2), x)


def test_global_pooling(rng):
    x = rng.standard_normal((2, 5, 4, 3))
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)),
                               rtol=1e-6)
    np.testing.assert_allclose(layers.GlobalMaxPooling2D()(x).numpy(), x.max(axis=(1, 2)),
                               rtol=1e-6)
    assert layers.GlobalAveragePooling2D(keepdims=True)(x).shape == (2, 1, 1, 3)


# The 1-D layers' values were compared with Keras 3.15's on the same inputs (every case
# below, channels_first and masks included): equal to 1e-6.

@pytest.mark.parametrize("cls,fn", [(layers.MaxPooling1D, np.max),
                                    (layers.AveragePooling1D, np.mean)])
def test_pooling_1d_matches_windows(cls, fn, rng):
    x = rng.standard_normal((2, 7, 3))
    expected = fn(x[:, :6].reshape(2, 3, 2, 3), axis=2)  # the last step is left out
    np.testing.assert_allclose(cls(2)(x).numpy(), expected, rtol=1e-6)
    channels_first = cls(2, data_format="channels_first")(x.transpose(0, 2, 1)).numpy()
    np.testing.assert_allclose(channels_first, expected.transpose(0, 2, 1), rtol=1e-6)
    assert cls(3, strides=2, padding="same")(x).shape == (2, 4, 3)
    with pytest.raises(ValueError, match=r"expected 3 dimensions \(batch, steps, features\)"):
        cls(2)(np.ones((2, 4, 4, 3)))


def test_global_pooling_1d_and_its_mask(rng):
    x = rng.standard_normal((2, 7, 3))
    np.testing.assert_allclose(layers.GlobalMaxPooling1D()(x).numpy(), x.max(axis=1),
                               rtol=1e-6)
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x).numpy(), x.mean(axis=1),
                               rtol=1e-6)
    assert layers.GlobalAveragePooling1D(keepdims=True)(x).shape == (2, 1, 3)
    assert layers.GlobalMaxPooling1D(data_format="channels_first")(x).shape == (2, 7)
    mask = np.array([[True] * 4 + [False] * 3, [True] * 7])
    masked = layers.GlobalAveragePooling1D()(x, mask=mask)
    np.testing.assert_allclose(masked.numpy(), [x[0, :4].mean(0), x[1].mean(0)], rtol=1e-6)
    assert masked._keras_mask is None
    check_gradients(f64_layer(layers.GlobalAveragePooling1D), x)


# --------------------------------------------------------------------------- shape layers

def test_flatten_orders_channels_first_like_channels_last(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(layers.Flatten()(x).numpy(), x.reshape(2, -1).astype(
        np.float32))
    nchw = x.transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(layers.Flatten(data_format="channels_first")(nchw).numpy(),
                                  x.reshape(2, -1).astype(np.float32))


def test_reshape_and_its_errors():
    assert layers.Reshape((2, -1))(np.ones((3, 8))).shape == (3, 2, 4)
    with pytest.raises(ValueError, match=r"'grid'.*\(3, 8\).*\(3, 3\)"):
        layers.Reshape((3, 3), name="grid")(np.ones((3, 8)))
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))


def test_activation_layer():
    out = layers.Activation("sigmoid")(np.array([[0.0]]))
    np.testing.assert_allclose(out.numpy(), [[0.5]])


# --------------------------------------------------------------------------- dropout

def test_dropout_scales_kept_values_and_is_identity_at_inference():
    layer = layers.Dropout(0.25, seed=1)
    x = np.ones((200, 50), np.float32)
    out = layer(x, training=True).numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)


def test_dropout_gradient_uses_the_same_mask():
    layer = layers.Dropout(0.5, seed=2)
    x = fastdl.ones(10, 10, requires_grad=True)
    out = layer(x, training=True)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())


def test_dropout_seed_reproducible_and_rate_checked():
    a = layers.Dropout(0.5, seed=5)(np.ones(64), training=True).numpy()
    b = layers.Dropout(0.5, seed=5)(np.ones(64), training=True).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.0)


# --------------------------------------------------------------------------- batch norm

def test_batch_normalization_training_and_moving_statistics(rng):
    layer = f64_layer(layers.BatchNormalization, momentum=0.9)
    x = rng.standard_normal((16, 3)) * 4 + 2
    out = layer(x, training=True).numpy()
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * x.var(0), rtol=1e-12)
    inference = layer(x).numpy()
    expected = (x - layer.moving_mean.numpy()) / np.sqrt(layer.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(inference, expected, rtol=1e-10)


def test_batch_normalization_gradients_in_training_mode(rng):
    layer = f64_layer(layers.BatchNormalization, gamma_initializer="random_normal",
                      beta_initializer="random_normal")
    check_gradients(layer, rng.standard_normal((6, 2, 3)))


def test_batch_normalization_channels_first_axis(rng):
    layer = f64_layer(layers.BatchNormalization, axis=1)
    x = rng.standard_normal((4, 3, 5, 5))
    out = layer(x, training=True).numpy()
    mean, var = x.mean((0, 2, 3), keepdims=True), x.var((0, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-10)
    assert layer.gamma.shape == (3,)


def test_frozen_batch_normalization_runs_in_inference_mode(rng):
    layer = layers.BatchNormalization()
    x = rng.standard_normal((8, 2)).astype(np.float32)
    layer(x)
    layer.trainable = False
    layer(x, training=True)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), [0, 0])


# --------------------------------------------------------------------------- initializers

def test_initializers_follow_keras_formulas():
    fastdl.manual_seed(0)
    w = initializers.get("glorot_uniform")((300, 200))
    limit = np.sqrt(6 / 500)
    assert w.dtype == np.float32 and abs(w).max() <= limit and abs(w).max() > 0.95 * limit
    w = initializers.get("he_normal")((400, 300))
    assert abs(w.std() - np.sqrt(2 / 400)) < 0.05 * np.sqrt(2 / 400)
    assert abs(w).max() <= 2 * np.sqrt(2 / 400) / 0.87962566103423978 + 1e-6
    w = initializers.get("he_uniform")((3, 3, 16, 8))  # conv fans: 9 * 16
    assert abs(w).max() <= np.sqrt(6 / 144)
    assert abs(initializers.get("random_normal")((200, 200)).std() - 0.05) < 0.002
    np.testing.assert_array_equal(initializers.get("zeros")((2,)), [0, 0])
    np.testing.assert_array_equal(initializers.get("Ones")((2,)), [1, 1])


def test_initializers_are_seeded_and_names_checked():
    fastdl.manual_seed(3)
    first = layers.Dense(4, kernel_initializer="glorot_normal")
    first(np.ones((1, 3)))
    fastdl.manual_seed(3)
    second = layers.Dense(4, kernel_initializer="glorot_normal")
    second(np.ones((1, 3)))
    np.testing.assert_array_equal(first.kernel.numpy(), second.kernel.numpy())
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        initializers.get("glorot")


# --------------------------------------------------------------------------- Layer API

def test_lazy_build_weights_and_names():
    layer = layers.Dense(3)
    assert not layer.built and layer.weights == []
    layer(np.ones((2, 5)))
    assert layer.built
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (5, 3)), ("bias", (3,))]
    assert layer.count_params() == 18
    other = layers.Dense(3)
    assert other.name != layer.name and other.name.startswith("dense")
    assert layers.Conv2D(1, 1).name.startswith("conv2d")


def test_get_and_set_weights_round_trip_and_errors():
    layer = layers.Dense(2, name="out")
    layer(np.ones((1, 3)))
    values = [np.arange(6, dtype=np.float32).reshape(3, 2), np.array([1, 2], np.float32)]
    layer.set_weights(values)
    for got, want in zip(layer.get_weights(), values):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match=r"'out'.*'kernel'.*\(3, 2\).*\(2, 3\)"):
        layer.set_weights([values[0].T, values[1]])
    with pytest.raises(ValueError, match="got 1 arrays.*2 weights"):
        layer.set_weights(values[:1])


def test_weights_are_listed_layer_by_layer_as_keras_lists_them():
    """Keras 3 lists each layer's weights together, non-trainable ones included: a
    BatchNormalization's moving statistics come before the next layer's kernel, so that
    get_weights and set_weights exchange lists with Keras models. Freezing a layer moves its
    weights between the trainable and non-trainable lists, not within ``weights``."""
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.BatchNormalization(),
                              layers.Dense(2)])
    names = ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance", "kernel",
             "bias"]
    assert [w.name for w in model.weights] == names
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias", "gamma", "beta",
                                                         "kernel", "bias"]
    model.layers[0].trainable = False
    assert [w.name for w in model.weights] == names
    assert [w.name for w in model.non_trainable_weights] == ["kernel", "bias", "moving_mean",
                                                             "moving_variance"]
    values = [np.full(w.shape, i, np.float32) for i, w in enumerate(model.weights)]
    model.set_weights(values)
    np.testing.assert_array_equal(model.layers[1].moving_mean.numpy(), np.full(3, 4.0))
    np.testing.assert_array_equal(model.layers[2].kernel.numpy(), np.full((3, 2), 6.0))


def test_serialize_and_deserialize_a_layer():
    layer = layers.Conv2D(4, 3, padding="same", name="c")
    config = layers.serialize(layer)
    assert config["class_name"] == "Conv2D" and config["config"]["filters"] == 4
    copy = layers.deserialize(config)
    assert type(copy) is layers.Conv2D and copy is not layer and copy.padding == "same"

    class Scale(layers.Layer):
        pass

    assert type(layers.deserialize({"class_name": "Scale", "config": {}},
                                   custom_objects={"Scale": Scale})) is Scale
    with pytest.raises(ValueError, match="unknown layer class 'Scale'; pass it in custom_obj"):
        layers.deserialize({"class_name": "Scale", "config": {}})
    with pytest.raises(ValueError, match="expected a dict with 'class_name' and 'config'"):
        layers.deserialize("Dense")
    with pytest.raises(TypeError, match="expected a fastdl.layers.Layer, got int"):
        layers.serialize(3)


def test_trainable_flag_moves_weights_and_stops_their_gradients():
    layer = layers.Dense(2)
    layer(np.ones((1, 3)))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert not layer.kernel.requires_grad
    x = fastdl.ones(1, 3, requires_grad=True)
    layer(x).sum().backward()
    assert layer.kernel.grad is None and x.grad is not None
    layer.trainable = True
    assert len(layer.trainable_weights) == 2 and layer.kernel.requires_grad


def test_the_trainable_weights_follow_every_change_after_they_were_listed():
    # The list is kept between reads (a training step reads it at every batch): each change
    # of which weights train must show at the next read.
    class Block(layers.Layer):
        def call(self, x):
            return x

    block = Block()
    first, second = layers.Dense(2), layers.Dense(1)
    first(np.ones((1, 3)))
    second(np.ones((1, 2)))
    block.first = first
    def ids(weights):
        return [id(w) for w in weights]

    assert ids(block.trainable_weights) == ids(first.trainable_weights)
    assert ids(block.trainable_variables) == ids(first.trainable_weights)
    block.trainable_weights.clear()  # a list of the caller's own
    assert len(block.trainable_weights) == 2
    block.second = second
    assert len(block.trainable_weights) == 4
    scale = block.add_weight(shape=(), initializer="ones", name="scale")
    assert block.trainable_weights[0] is scale and len(block.trainable_weights) == 5
    first.bias.trainable = False
    assert id(first.bias) not in ids(block.trainable_weights)
    assert id(first.bias) in ids(block.non_trainable_variables)
    second.trainable = False
    assert ids(block.trainable_weights) == ids([scale, first.kernel])
    block.trainable = False
    assert block.trainable_weights == []
    block.trainable = True
    assert len(block.trainable_weights) == 4  # the bias stays out: its own flag


def test_a_popped_layer_leaves_the_trainable_weights():
    model = fastdl.keras.Sequential([layers.Dense(3), layers.Dense(2)])
    model.build((None, 4))
    assert len(model.trainable_weights) == 4
    model.pop()
    assert len(model.trainable_weights) == 2


def test_custom_layer_tracks_sublayers():
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = [layers.Dense(4), layers.Dense(2)]

        def call(self, x):
            return self.inner[1](self.inner[0](x))

    block = Block()
    block(np.ones((1, 3)))
    assert len(block.weights) == 4 and block.count_params() == 16 + 10


def test_layers_accept_arrays_tensors_and_cast_to_their_dtype():
    layer = layers.Dense(2)
    assert layer(np.ones((1, 3), np.uint8)).dtype == np.float32
    assert layer(fastdl.ones(1, 3, dtype="float64")).dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        layers.Dense(2, dtype="int32")


def test_input_shape_argument_declares_the_first_layer():
    assert layers.Dense(3, input_shape=(5,)).batch_input_shape == (None, 5)
    assert layers.Dense(3, input_dim=5).batch_input_shape == (None, 5)
    model = fastdl.keras.Sequential([layers.Conv2D(2, 3, input_shape=(8, 8, 1))])
    assert model.output_shape == (None, 6, 6, 2)


# --------------------------------------------------------------------------- gradients of the rest

@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Flatten(dtype="float64"), (2, 3, 4, 2)),
    (lambda: layers.Flatten(data_format="channels_first", dtype="float64"), (2, 3, 4, 2)),
    (lambda: layers.Reshape((4, -1), dtype="float64"), (2, 8)),
    (lambda: layers.Activation("tanh", dtype="float64"), (3, 4)),
    (lambda: layers.Activation("softmax", dtype="float64"), (3, 4)),
    (lambda: layers.GlobalAveragePooling2D(dtype="float64"), (2, 3, 4, 2)),
])
def test_shape_and_activation_layer_gradients(make, shape, rng):
    check_gradients(make(), rng.standard_normal(shape))


def test_global_max_pooling_gradient(rng):
    x = rng.permutation(48).reshape(2, 3, 4, 2).astype(np.float64)  # no ties
    check_gradients(layers.GlobalMaxPooling2D(dtype="float64"), x)


def test_dropout_gradient_with_a_fixed_mask(rng):
    class SeededDropout(layers.Dropout):
        def call(self, inputs, training=None):
            self._generator = np.random.default_rng(9)  # the same mask on every call
            return super().call(inputs, training)

    check_gradients(SeededDropout(0.4, dtype="float64"), rng.standard_normal((4, 5)))


@pytest.mark.parametrize("name", ["zeros", "ones", "glorot_uniform", "he_normal",
                                  "random_normal", "truncated_normal"])
def test_initializers_give_scalars_for_the_empty_shape(name):
    value = fastdl.initializers.get(name)((), "float32")
    assert value.shape == () and value.dtype == np.float32


def test_add_weight_refuses_an_initializer_of_the_wrong_shape():
    layer = layers.Layer(name="custom")
    with pytest.raises(ValueError, match=r"'w' returned an array of shape \(6,\); "
                                         r"expected \(2, 3\)"):
        layer.add_weight(shape=(2, 3), initializer=lambda shape, dtype: np.zeros(6), name="w")


def test_identity_returns_its_inputs_and_their_mask():
    ids = np.array([[1, 2, 0]])
    embedded = fastdl.layers.Embedding(4, 2, mask_zero=True)(ids)
    out = fastdl.layers.Identity()(embedded)
    assert out is embedded
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)
    inputs = fastdl.keras.Input((3,))
    model = fastdl.keras.Model(inputs, fastdl.layers.Identity()(inputs))
    np.testing.assert_array_equal(model.predict(np.ones((2, 3)), verbose=0), np.ones((2, 3)))
