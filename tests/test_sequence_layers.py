"""Sequence layers: Embedding, Masking, RepeatVector, TimeDistributed and the masked global
1-D poolings. Values against NumPy and against Keras 3 (run in /opt/tfenv on the same
weights and inputs, skipped where that environment is absent), Embedding's gradient against
a float64 one-hot product and by central differences, masks through models, errors, how
fit converts integer data, and a small text classifier trained end to end."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import fastdl
from fastdl import keras, layers
from fastdl.models import data as model_data
from fastdl.ops.gathering import TakeRows
from cuda_support import GPU_READY, to_cpu, to_gpu

KERAS_PYTHON = Path("/opt/tfenv/bin/python")

# --------------------------------------------------------------------------- Keras's values

KERAS_SCRIPT = r'''
import os, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
import tensorflow as tf
from keras import layers

a = dict(np.load("in.npz"))
out = {}
emb = layers.Embedding(*a["emb_w"].shape, mask_zero=True)
emb.build()
emb.set_weights([a["emb_w"]])
ids = tf.constant(a["ids"])
with tf.GradientTape() as tape:
    y = emb(ids)
    loss = tf.reduce_sum(y * a["emb_g"])
out["emb_out"] = y.numpy()
out["emb_mask"] = emb.compute_mask(ids).numpy()
out["emb_grad"] = tf.convert_to_tensor(tape.gradient(loss, emb.embeddings)).numpy()

y = layers.Masking(mask_value=float(a["mask_value"]))(a["mask_x"])
out["masking_out"], out["masking_mask"] = np.asarray(y), np.asarray(y._keras_mask)
out["repeat_out"] = np.asarray(layers.RepeatVector(3)(a["repeat_x"]))

td = layers.TimeDistributed(layers.Dense(a["td_dense_w"].shape[1]))
td.build(a["td_dense_x"].shape)
td.set_weights([a["td_dense_w"], a["td_dense_b"]])
out["td_dense_out"] = np.asarray(td(a["td_dense_x"]))
td = layers.TimeDistributed(layers.Conv2D(a["td_conv_w"].shape[-1], 3))
td.build(a["td_conv_x"].shape)
td.set_weights([a["td_conv_w"], a["td_conv_b"]])
out["td_conv_out"] = np.asarray(td(a["td_conv_x"]))
z = layers.TimeDistributed(layers.Dense(2))(
    layers.Masking(mask_value=float(a["mask_value"]))(a["mask_x"]))
out["td_mask"] = np.asarray(z._keras_mask)

seq = keras.Sequential([layers.Embedding(*a["emb_w"].shape, mask_zero=True),
                        layers.GlobalAveragePooling1D()])
seq.build((None, a["ids"].shape[1]))
seq.set_weights([a["emb_w"]])
out["seq_out"] = np.asarray(seq(a["ids"]))
out["seq_predict"] = seq.predict(a["ids"], verbose=0)

for fmt in ("channels_last", "channels_first"):
    x = a["gap_x"] if fmt == "channels_last" else np.transpose(a["gap_x"], (0, 2, 1))
    for keepdims in (False, True):
        layer = layers.GlobalAveragePooling1D(data_format=fmt, keepdims=keepdims)
        out[f"gap_{fmt}_{keepdims}"] = np.asarray(layer(x, mask=a["gap_mask"]))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out["gmp_masked"] = np.asarray(layers.GlobalMaxPooling1D()(emb(ids)))
out["gmp_warned"] = np.array(any("does not support masking" in str(w.message)
                                 for w in caught))
np.savez("out.npz", **out)
'''


def keras_inputs():
    """The weights and inputs both libraries are given (float32; token ids with padding)."""
    r = np.random.default_rng(0)
    ids = r.integers(1, 12, (4, 9))
    ids[0, -3:] = 0
    ids[2, 4:] = 0
    mask_x = r.standard_normal((3, 6, 4)).astype(np.float32)
    mask_x[0, 2] = mask_x[1, 5] = 0.5
    mask_x[2, :2] = 0.5
    mask_x[2, 3, 0] = 0.5  # one value alone equal to mask_value: the step is kept
    gap_mask = r.random((3, 6)) > 0.4
    gap_mask[:, 0] = True

    def f32(*shape):
        return r.standard_normal(shape).astype(np.float32)

    return dict(emb_w=f32(12, 5), ids=ids, emb_g=f32(4, 9, 5), mask_value=np.float32(0.5),
                mask_x=mask_x, repeat_x=f32(2, 4), td_dense_w=f32(4, 3), td_dense_b=f32(3),
                td_dense_x=f32(2, 5, 4), td_conv_w=f32(3, 3, 2, 4), td_conv_b=f32(4),
                td_conv_x=f32(2, 3, 6, 7, 2), gap_x=f32(3, 6, 4), gap_mask=gap_mask)


@pytest.fixture(scope="module")
def given():
    return keras_inputs()


@pytest.fixture(scope="module")
def keras_values(given, tmp_path_factory):
    """Keras 3's outputs for :func:`keras_inputs`, computed once in /opt/tfenv."""
    if not KERAS_PYTHON.exists():
        pytest.skip("Keras 3 with TensorFlow is not installed in /opt/tfenv")
    folder = tmp_path_factory.mktemp("keras")
    np.savez(folder / "in.npz", **given)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="tensorflow")
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_SCRIPT], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(folder / "out.npz"))


def embedding_with(table, **kwargs):
    layer = layers.Embedding(*table.shape, **kwargs)
    layer.build()
    layer.set_weights([table])
    return layer


# --------------------------------------------------------------------------- Embedding

def test_embedding_matches_numpy_and_keras(given, keras_values):
    layer = embedding_with(given["emb_w"], mask_zero=True)
    out = layer(given["ids"])
    np.testing.assert_array_equal(out.numpy(), given["emb_w"][given["ids"]])
    np.testing.assert_array_equal(out.numpy(), keras_values["emb_out"])
    np.testing.assert_array_equal(out._keras_mask.numpy(), keras_values["emb_mask"])
    np.testing.assert_array_equal(layer.compute_mask(fastdl.tensor(given["ids"])).numpy(),
                                  given["ids"] != 0)


def test_embedding_gradient_matches_keras_and_a_float64_one_hot_product(given, keras_values):
    layer = embedding_with(given["emb_w"], mask_zero=True)
    (layer(given["ids"]) * fastdl.tensor(given["emb_g"])).sum().backward()
    one_hot = np.eye(12)[given["ids"].reshape(-1)]  # (tokens, vocabulary)
    expected = one_hot.T @ given["emb_g"].reshape(-1, 5).astype(np.float64)
    np.testing.assert_allclose(layer.embeddings.grad.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.embeddings.grad.numpy(), keras_values["emb_grad"],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("vocabulary, shape", [(20000, (64, 200)), (7, (64, 200)), (50, (3,)),
                                               (5, (2, 0)), (1, (4, 4))],
                         ids=["large", "every-id-repeated", "1-D", "empty", "one-id"])
def test_embedding_gradient_adds_up_repeated_ids(vocabulary, shape):
    # Heavily repeated ids go through the rounds and the summed runs of the scatter-add.
    r = np.random.default_rng(5)
    ids = np.minimum(r.zipf(1.5, shape), vocabulary) - 1
    table = fastdl.tensor(r.standard_normal((vocabulary, 8)), requires_grad=True)
    grad = r.standard_normal(shape + (8,))
    out = TakeRows.apply(table, indices=ids)
    np.testing.assert_array_equal(out.numpy(), table.numpy()[ids])
    (out * fastdl.tensor(grad)).sum().backward()
    expected = np.zeros((vocabulary, 8))
    np.add.at(expected, ids.reshape(-1), grad.reshape(-1, 8))
    np.testing.assert_allclose(table.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_adam_moves_an_embedding_row_used_n_times_as_far_as_any_weight():
    # Adam's first step moves each weight by the learning rate. Keras on TensorFlow squares an
    # Embedding's gradient per occurrence (IndexedSlices) and moves a row used n times sqrt(n)
    # times as far; fastdl differentiates the table densely, as Keras's other backends do.
    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              layers.Embedding(3, 2, embeddings_initializer="zeros")])
    ids = np.array([[0, 0, 0, 0, 1]])
    with fastdl.GradientTape() as tape:
        loss = fastdl.ops.sum(model(ids))
    grads = tape.gradient(loss, model.trainable_variables)
    keras.optimizers.Adam(learning_rate=0.01).apply_gradients(
        zip(grads, model.trainable_variables))
    np.testing.assert_allclose(model.get_weights()[0], [[-0.01] * 2, [-0.01] * 2, [0, 0]],
                               rtol=1e-5)


def test_embedding_gradcheck():
    layer = layers.Embedding(6, 3, dtype="float64")
    ids = np.array([[1, 5, 1, 0], [2, 2, 2, 5]])
    layer.build()
    assert fastdl.gradcheck(lambda table: TakeRows.apply(table, indices=ids),
                            [fastdl.tensor(layer.embeddings.numpy(), requires_grad=True)])


def test_embedding_arguments_weights_and_config():
    layer = layers.Embedding(10, 4, embeddings_initializer="zeros", name="tokens")
    assert not layer.built
    out = layer(np.array([[1, 2]], np.int16))
    assert out.shape == (1, 2, 4) and out.dtype == np.float32
    assert [(w.name, w.shape) for w in layer.weights] == [("embeddings", (10, 4))]
    assert layer.compute_output_shape((None, 7)) == (None, 7, 4)
    assert layer.compute_output_shape((None, 3, 7)) == (None, 3, 7, 4)
    config = layer.get_config()
    assert config["input_dim"] == 10 and config["output_dim"] == 4
    assert config["mask_zero"] is False and config["name"] == "tokens"
    copy = layers.Embedding.from_config(config)
    assert (copy.input_dim, copy.output_dim) == (10, 4)
    table = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    preset = layers.Embedding(3, 4, weights=table)
    assert preset.built
    np.testing.assert_array_equal(preset(np.array([2, 0])).numpy(), table[[2, 0]])
    np.testing.assert_array_equal(layers.Embedding(3, 4, weights=[table]).get_weights()[0],
                                  table)
    # Keras's default initializer: uniform in [-0.05, 0.05].
    default = layers.Embedding(200, 50)
    default.build()
    values = default.embeddings.numpy()
    assert abs(values).max() <= 0.05 and values.std() > 0.02
    assert keras.layers.Embedding is layers.Embedding


def test_embedding_keeps_integer_dtypes_and_reads_booleans_as_ids():
    layer = embedding_with(np.arange(8.0, dtype=np.float32).reshape(4, 2))
    for dtype in (np.int8, np.uint8, np.int32, np.int64, np.uint64):
        np.testing.assert_array_equal(layer(np.array([[3, 1]], dtype)).numpy(),
                                      [[[6.0, 7.0], [2.0, 3.0]]])
    np.testing.assert_array_equal(layer(np.array([True, False])).numpy(), [[2, 3], [0, 1]])
    np.testing.assert_array_equal(layer(fastdl.tensor(np.array([2]))).numpy(), [[4, 5]])


def test_embedding_regularizer_adds_a_loss_and_unavailable_options_are_refused():
    layer = layers.Embedding(3, 2, embeddings_initializer="ones",
                             embeddings_regularizer=lambda w: 0.5 * (w * w).sum())
    layer(np.array([0]))
    assert [float(loss.numpy()) for loss in layer.losses] == [3.0]
    for argument in ("embeddings_constraint", "lora_rank", "lora_alpha",
                     "quantization_config"):
        with pytest.raises(NotImplementedError, match=f"Embedding: {argument} is not"):
            layers.Embedding(3, 2, **{argument: 4})
    with pytest.raises(NotImplementedError, match="embeddings_regularizer must be a callable"):
        layers.Embedding(3, 2, embeddings_regularizer="l2")
    with pytest.warns(UserWarning, match="input_length is deprecated"):
        layers.Embedding(3, 2, input_length=5)


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Embedding(0, 2), r"Embedding: input_dim must be a positive integer; "
                                     r"received input_dim=0 \(of type int\)"),
    (lambda: layers.Embedding(3, 2.5), r"output_dim must be a positive integer; received "
                                       r"output_dim=2.5 \(of type float\)"),
    (lambda: layers.Embedding(True, 2), r"input_dim=True \(of type bool\)"),
])
def test_embedding_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_float_tokens_are_refused_naming_the_layer_the_expected_and_the_received():
    layer = layers.Embedding(10, 2, name="words")
    expected = (r"layer 'words' \(Embedding\) expects integer token ids \(an integer dtype "
                r"such as int32\); received an input of dtype {} and shape {}")
    with pytest.raises(ValueError, match=expected.format("float32", r"\(2, 3\)")):
        layer(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=expected.format("float64", r"\(4,\)")):
        layer(fastdl.ones(4, dtype="float64"))
    with pytest.raises(ValueError, match=expected.format("float32", r"\(None, 5\)")):
        layer(keras.Input(shape=(5,)))  # declare token inputs with dtype="int32"
    model = keras.Sequential([layers.Embedding(10, 2, name="ids"), layers.Flatten()])
    with pytest.raises(ValueError, match=r"layer 'ids' \(Embedding\) expects integer"):
        model.predict(np.ones((2, 3)))


def test_token_ids_out_of_range_are_refused_naming_the_layer():
    layer = layers.Embedding(10, 2, name="vocab")
    message = (r"layer 'vocab' \(Embedding\) expects token ids in \[0, 10\) \(input_dim=10\); "
               r"received ids from {} to {} in an input of shape \(1, 2\)")
    with pytest.raises(ValueError, match=message.format(3, 10)):
        layer(np.array([[3, 10]]))
    with pytest.raises(ValueError, match=message.format(-1, 4)):
        layer(np.array([[-1, 4]]))


def test_embedding_without_mask_zero_drops_a_mask_with_a_warning():
    x = fastdl.tensor(np.array([[1, 2]]))
    x._keras_mask = fastdl.tensor(np.array([[True, False]]))
    with pytest.warns(UserWarning, match="does not support masking"):
        out = layers.Embedding(3, 2)(x)
    assert out._keras_mask is None


# --------------------------------------------------------------------------- masks in models

def test_masked_average_of_embeddings_matches_keras(given, keras_values):
    model = keras.Sequential([layers.Embedding(12, 5, mask_zero=True),
                              layers.GlobalAveragePooling1D()])
    model.build((None, 9))
    model.set_weights([given["emb_w"]])
    ids = given["ids"]
    kept = (ids != 0)[..., None]
    expected = (given["emb_w"][ids] * kept).sum(axis=1) / kept.sum(axis=1)
    np.testing.assert_allclose(model(ids).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(model(ids).numpy(), keras_values["seq_out"], rtol=1e-6)
    np.testing.assert_allclose(model.predict(ids), keras_values["seq_predict"], rtol=1e-6)
    assert model.inputs[0].dtype == np.int32 and model.output_shape == (None, 5)


def test_functional_model_on_int_input_carries_the_mask():
    tokens = keras.Input(shape=(None,), dtype="int32")
    embedded = layers.Embedding(30, 4, mask_zero=True)(tokens)
    assert embedded.shape == (None, None, 4)
    assert embedded._keras_mask.shape == (None, None)
    pooled = layers.GlobalAveragePooling1D()(embedded)
    assert pooled.shape == (None, 4) and pooled._keras_mask is None
    model = keras.Model(tokens, pooled)
    ids = np.array([[5, 0, 0], [1, 2, 3]])
    table = model.layers[1].embeddings.numpy()
    np.testing.assert_allclose(model.predict(ids),
                               [table[5], table[[1, 2, 3]].mean(axis=0)], rtol=1e-6)


def test_global_max_pooling_ignores_a_mask_with_a_warning_as_keras(given, keras_values):
    layer = embedding_with(given["emb_w"], mask_zero=True)
    with pytest.warns(UserWarning, match="does not support masking"):
        out = layers.GlobalMaxPooling1D()(layer(given["ids"]))
    np.testing.assert_array_equal(out.numpy(), given["emb_w"][given["ids"]].max(axis=1))
    np.testing.assert_array_equal(out.numpy(), keras_values["gmp_masked"])
    assert bool(keras_values["gmp_warned"])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_masked_global_average_pooling_matches_numpy_and_keras(given, keras_values,
                                                                data_format, keepdims):
    x, mask = given["gap_x"], given["gap_mask"]
    kept = mask[..., None]
    expected = (x * kept).sum(axis=1, keepdims=keepdims) / kept.sum(axis=1, keepdims=keepdims)
    if data_format == "channels_first":
        x = np.transpose(x, (0, 2, 1))
        expected = np.transpose(expected, (0, 2, 1)) if keepdims else expected
    layer = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
    out = layer(x, mask=mask)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(out.numpy(), keras_values[f"gap_{data_format}_{keepdims}"],
                               rtol=1e-6)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + out.shape[1:]


def test_masked_average_leaves_out_what_masked_steps_hold_and_its_gradient():
    x = np.array([[[1.0], [np.inf], [3.0]], [[np.nan], [2.0], [4.0]]])
    mask = np.array([[True, False, True], [False, True, True]])
    layer = layers.GlobalAveragePooling1D(dtype="float64")
    np.testing.assert_array_equal(layer(x, mask=mask).numpy(), [[2.0], [3.0]])
    finite = np.random.default_rng(2).standard_normal((2, 3, 4))
    assert fastdl.gradcheck(lambda t: layer(t, mask=mask),
                            [fastdl.tensor(finite, requires_grad=True)])
    with pytest.raises(ValueError, match=r"the mask must have the shape \(batch, steps\) = "
                                         r"\(2, 3\) of the input of shape \(2, 3, 4\); "
                                         r"received a mask of shape \(2, 4\)"):
        layer(finite, mask=np.ones((2, 4), bool))


# --------------------------------------------------------------------------- Masking

def test_masking_matches_numpy_and_keras(given, keras_values):
    x = given["mask_x"]
    layer = layers.Masking(mask_value=0.5)
    out = layer(x)
    kept = (x != 0.5).any(axis=-1)
    np.testing.assert_array_equal(out.numpy(), x * kept[..., None])
    np.testing.assert_array_equal(out.numpy(), keras_values["masking_out"])
    np.testing.assert_array_equal(out._keras_mask.numpy(), kept)
    np.testing.assert_array_equal(out._keras_mask.numpy(), keras_values["masking_mask"])
    np.testing.assert_array_equal(layer.compute_mask(fastdl.tensor(x)).numpy(), kept)
    assert layer.get_config()["mask_value"] == 0.5
    assert layer.compute_output_shape((None, 6, 4)) == (None, 6, 4)


def test_masking_gradient_and_symbolic_mask():
    r = np.random.default_rng(1)
    layer = layers.Masking(dtype="float64")
    assert fastdl.gradcheck(layer, [fastdl.tensor(r.standard_normal((2, 3, 2)),
                                                  requires_grad=True)])
    x = fastdl.tensor(np.array([[[1.0, 0.0], [0.0, 0.0]]]), requires_grad=True)
    (layer(x) * fastdl.tensor(np.full((1, 2, 2), 3.0))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[3.0, 3.0], [0.0, 0.0]]])  # masked: none
    symbolic = layers.Masking()(keras.Input(shape=(None, 3)))
    assert symbolic.shape == (None, None, 3) and symbolic._keras_mask.shape == (None, None)


def test_masking_then_masked_average_in_a_model():
    x = np.array([[[2.0, 2.0], [0.0, 0.0], [4.0, 0.0]]], np.float32)
    model = keras.Sequential([keras.Input(shape=(3, 2)), layers.Masking(),
                              layers.GlobalAveragePooling1D()])
    np.testing.assert_allclose(model.predict(x), [[3.0, 1.0]])


# --------------------------------------------------------------------------- RepeatVector

def test_repeat_vector_matches_numpy_and_keras(given, keras_values):
    x = given["repeat_x"]
    out = layers.RepeatVector(3)(x)
    np.testing.assert_array_equal(out.numpy(), np.repeat(x[:, None], 3, axis=1))
    np.testing.assert_array_equal(out.numpy(), keras_values["repeat_out"])
    assert layers.RepeatVector(3).compute_output_shape((None, 4)) == (None, 3, 4)
    assert layers.RepeatVector(3)(keras.Input(shape=(4,))).shape == (None, 3, 4)
    layer = layers.RepeatVector(4, dtype="float64")
    assert fastdl.gradcheck(layer, [fastdl.tensor(np.ones((2, 3)), requires_grad=True)])
    assert layer.get_config()["n"] == 4


def test_repeat_vector_errors():
    with pytest.raises(TypeError, match=r"RepeatVector: n must be an integer; received 2.0"):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match=r"RepeatVector: n must be a positive integer; "
                                         r"received n=0"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match=r"layer 'rep' \(RepeatVector\) is incompatible: "
                                         r"expected 2 dimensions \(batch, features\), received "
                                         r"input of shape \(2, 3, 4\)"):
        layers.RepeatVector(2, name="rep")(np.ones((2, 3, 4), np.float32))


# --------------------------------------------------------------------------- TimeDistributed

def test_time_distributed_dense_matches_numpy_and_keras(given, keras_values):
    x, w, b = given["td_dense_x"], given["td_dense_w"], given["td_dense_b"]
    layer = layers.TimeDistributed(layers.Dense(3))
    layer.build((None, 5, 4))
    assert [v.name for v in layer.weights] == ["kernel", "bias"]
    layer.set_weights([w, b])
    out = layer(x)
    np.testing.assert_allclose(out.numpy(), x @ w + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), keras_values["td_dense_out"], rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, None, 4)) == (None, None, 3)
    assert layer.count_params() == 15


def test_time_distributed_conv2d_matches_keras(given, keras_values):
    x = given["td_conv_x"]
    layer = layers.TimeDistributed(layers.Conv2D(4, 3))
    layer.build(x.shape)
    layer.set_weights([given["td_conv_w"], given["td_conv_b"]])
    out = layer(x)
    assert out.shape == (2, 3, 4, 5, 4)
    np.testing.assert_allclose(out.numpy(), keras_values["td_conv_out"], rtol=1e-4, atol=1e-5)
    for t in range(3):  # each step is the convolution of that step's image
        np.testing.assert_allclose(out.numpy()[:, t], layer.layer(x[:, t]).numpy(), rtol=1e-6)
    video = keras.Input(shape=(10, 28, 28, 3), batch_size=32)
    assert layers.TimeDistributed(layers.Conv2D(64, (3, 3)))(video).shape == \
        (32, 10, 26, 26, 64)


def test_time_distributed_gradients():
    layer = layers.TimeDistributed(layers.Dense(2, activation="tanh", dtype="float64"),
                                   dtype="float64")
    x = fastdl.tensor(np.random.default_rng(4).standard_normal((2, 3, 4)), requires_grad=True)
    layer(x)
    kernel, bias = layer.weights

    def through(x, kernel, bias):
        layer.layer.kernel, layer.layer.bias = kernel, bias
        return layer(x)

    try:
        assert fastdl.gradcheck(through, [x, fastdl.tensor(kernel.numpy(), requires_grad=True),
                                          fastdl.tensor(bias.numpy(), requires_grad=True)])
    finally:
        layer.layer.kernel, layer.layer.bias = kernel, bias


def test_time_distributed_passes_the_mask_and_the_training_flag(given, keras_values):
    out = layers.TimeDistributed(layers.Dense(2))(layers.Masking(0.5)(given["mask_x"]))
    np.testing.assert_array_equal(out._keras_mask.numpy(), keras_values["td_mask"])

    class Probe(layers.Layer):
        supports_masking = True

        def call(self, x, training=None, mask=None):
            self.seen = (training, None if mask is None else mask.numpy())
            return x

    probe = Probe()
    mask = np.array([[True, False, True]])
    layers.TimeDistributed(probe)(np.ones((1, 3, 2), np.float32), training=True, mask=mask)
    assert probe.seen[0] is True
    np.testing.assert_array_equal(probe.seen[1], mask.reshape(-1))
    dropout = layers.TimeDistributed(layers.Dropout(0.5, seed=1))
    assert (dropout(np.ones((2, 3, 4), np.float32), training=True).numpy() == 0).any()
    assert (dropout(np.ones((2, 3, 4), np.float32)).numpy() == 1).all()


def test_time_distributed_errors_and_config():
    with pytest.raises(ValueError, match=r"TimeDistributed: layer must be a fastdl.layers.Layer "
                                         r"instance; received 3 \(of type int\)"):
        layers.TimeDistributed(3)
    with pytest.raises(ValueError, match=r"layer 'td' \(TimeDistributed\) is incompatible: "
                                         r"expected at least 3 dimensions, received input of "
                                         r"shape \(2, 4\)"):
        layers.TimeDistributed(layers.Dense(2), name="td")(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"expects inputs of at least 3 dimensions \(batch, "
                                         r"steps, ...\); received input shape \(None, 4\)"):
        layers.TimeDistributed(layers.Dense(2)).compute_output_shape((None, 4))
    with pytest.raises(ValueError, match=r"the mask must have the shape of the inputs' first "
                                         r"two axes \(batch, steps\) = \(1, 3\); received a "
                                         r"mask of shape \(1, 2\)"):
        probe = layers.TimeDistributed(layers.GlobalAveragePooling1D())
        probe(np.ones((1, 3, 2, 2), np.float32), mask=np.ones((1, 2), bool))
    layer = layers.TimeDistributed(layers.Dense(3, activation="relu"))
    copy = layers.TimeDistributed.from_config(layer.get_config())
    assert copy.layer is not layer.layer and copy.layer.units == 3
    assert keras.layers.TimeDistributed is layers.TimeDistributed


# --------------------------------------------------------------------------- data to fit

def test_fit_keeps_token_ids_integer_and_converts_images_once():
    ids64 = np.array([[1, 2, 0]], np.int64)
    images = np.zeros((1, 4, 4), np.uint8)
    tokens = keras.Input(shape=(3,), dtype="int32")
    declared = keras.Model(tokens, layers.Embedding(3, 2)(tokens))
    sequential = keras.Sequential([layers.Embedding(3, 2)])  # built later, by its data
    image_model = keras.Sequential([layers.Flatten(), layers.Dense(2)])
    [tokens] = model_data.as_inputs("fit", ids64, np.float32, declared._input_dtypes())
    assert tokens.dtype == np.int32
    [tokens] = model_data.as_inputs("fit", ids64, np.float32, sequential._input_dtypes())
    assert tokens.dtype == np.int32
    [pixels] = model_data.as_inputs("fit", images, np.float32, image_model._input_dtypes())
    assert pixels.dtype == np.float32 and pixels.flags.c_contiguous
    [kept] = model_data.as_inputs("fit", ids64, np.float32, [None])  # a subclassed model's
    assert kept.dtype == np.int64
    [floats] = model_data.as_inputs("fit", ids64.astype(float), np.float32, [np.dtype("int32")])
    assert floats.dtype == np.float32  # floats never become ids: the Embedding refuses them
    image_model.compile("sgd", "mse")
    image_model.fit(images, np.zeros((1, 2)), verbose=0)
    assert image_model.inputs[0].dtype == np.float32


def test_subclassed_and_functional_models_take_integer_ids():
    class Bag(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = layers.Embedding(10, 3, mask_zero=True)
            self.pool = layers.GlobalAveragePooling1D()

        def call(self, x):
            return self.pool(self.embedding(x))

    ids = np.array([[1, 2, 0], [3, 0, 0]])
    bag = Bag()
    assert bag.predict(ids).shape == (2, 3)
    tokens = keras.Input(shape=(3,), dtype="int32")
    model = keras.Model(tokens, layers.Embedding(10, 3)(tokens))
    assert model.predict(ids.astype(np.uint16)).shape == (2, 3, 3)


def bag_of_words_data(samples, vocabulary=40, steps=12, seed=0):
    """Sequences of 3 to ``steps`` ids, padded with 0: label 1 when most ids come from the
    lower half of the vocabulary."""
    r = np.random.default_rng(seed)
    lengths = r.integers(3, steps + 1, samples)
    lower = r.random(samples) < 0.5
    share = np.where(lower, 0.8, 0.2)
    ids = np.zeros((samples, steps), np.int64)
    for i, (n, p) in enumerate(zip(lengths, share)):
        from_lower = r.random(n) < p
        ids[i, :n] = np.where(from_lower, r.integers(1, vocabulary // 2, n),
                              r.integers(vocabulary // 2, vocabulary, n))
    labels = ((ids > 0) & (ids < vocabulary // 2)).sum(1) * 2 > (ids > 0).sum(1)
    return ids, labels.astype(np.float32)


def test_a_masked_bag_of_embeddings_learns_a_rule_from_token_ids():
    fastdl.manual_seed(0)
    x, y = bag_of_words_data(1200)
    x_test, y_test = bag_of_words_data(400, seed=1)
    model = keras.Sequential([layers.Embedding(40, 8, mask_zero=True),
                              layers.GlobalAveragePooling1D(),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.9, (losses, accuracy)
    assert model.inputs[0].dtype == np.int32


# --------------------------------------------------------------------------- GPU

@pytest.mark.skipif(not GPU_READY, reason="needs a CUDA GPU, CuPy and fastdl's CUDA kernels")
def test_embedding_on_the_gpu_matches_the_cpu():
    r = np.random.default_rng(7)
    ids = np.minimum(r.zipf(1.3, (16, 30)), 499) - 1
    table = r.standard_normal((499, 16)).astype(np.float32)
    grad = r.standard_normal((16, 30, 16)).astype(np.float32)
    results = []
    for device, move in (("cpu", lambda a: a), ("cuda", to_gpu)):
        layer = embedding_with(table, mask_zero=True).to(device)
        out = layer(move(ids))
        (out * fastdl.Tensor(move(grad))).sum().backward()
        results.append((out.numpy() if device == "cpu" else to_cpu(out.data),
                        layer.embeddings.grad.numpy() if device == "cpu"
                        else to_cpu(layer.embeddings.grad.data),
                        out._keras_mask.numpy() if device == "cpu"
                        else to_cpu(out._keras_mask.data)))
    (cpu_out, cpu_grad, cpu_mask), (gpu_out, gpu_grad, gpu_mask) = results
    np.testing.assert_array_equal(gpu_out, cpu_out)
    np.testing.assert_allclose(gpu_grad, cpu_grad, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(gpu_mask, cpu_mask)

