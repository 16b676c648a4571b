"""Models: Sequential, functional and subclassed models, compile/fit/evaluate/predict, the
per-batch entry points, summary, weights files, reproducibility and the errors users meet."""
import gc
import io
import math
import tracemalloc
import weakref

import numpy as np
import pytest

import fastdl
from fastdl import keras, layers


def mlp(input_dim=6, hidden=16, classes=3, dropout=0.0):
    stack = [layers.Dense(hidden, activation="relu", input_shape=(input_dim,))]
    if dropout:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(classes, activation="softmax"))
    return keras.Sequential(stack)


def blobs(n=240, dim=6, classes=3, seed=0):
    """Separable clusters: a model that learns reaches high accuracy quickly."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, dim)) * 3
    y = rng.integers(0, classes, n)
    x = centers[y] + rng.standard_normal((n, dim))
    return x.astype(np.float32), y


# --------------------------------------------------------------------------- building

def test_sequential_from_list_and_add_agree():
    fastdl.manual_seed(0)
    a = mlp()
    fastdl.manual_seed(0)
    b = keras.Sequential()
    b.add(layers.InputLayer(shape=(6,)))
    b.add(layers.Dense(16, activation="relu"))
    b.add(layers.Dense(3, activation="softmax"))
    x = np.random.default_rng(1).standard_normal((4, 6))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert a.output_shape == b.output_shape == (None, 3)
    assert [type(layer).__name__ for layer in b.layers] == ["Dense", "Dense"]


def test_sequential_without_input_shape_builds_on_first_call():
    model = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not model.built and model.weights == []
    assert model(np.ones((3, 5))).shape == (3, 2)
    assert model.built and model.output_shape == (None, 2)
    assert [w.shape for w in model.weights] == [(5, 4), (4,), (4, 2), (2,)]


def test_functional_model_replays_the_layer_calls(rng):
    inputs = layers.Input(shape=(5,))
    shared = layers.Dense(5, activation="tanh")
    h = shared(shared(inputs))  # one layer called twice
    outputs = layers.Dense(2)(h)
    model = fastdl.models.Model(inputs, outputs)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    expected = model.layers[-1](shared(shared(x)))
    np.testing.assert_allclose(model.predict(x), expected.numpy(), rtol=1e-6)
    assert len(model.weights) == 4  # the shared layer's weights once
    assert model.output_shape == (None, 2)


def test_functional_model_with_two_inputs_and_two_outputs(rng):
    class Add(layers.Layer):
        def call(self, inputs):
            return inputs[0] + inputs[1]

    a, b = layers.Input(shape=(3,)), layers.Input(shape=(3,))
    total = Add()([a, b])
    model = fastdl.models.Model([a, b], [total, layers.Dense(1)(total)])
    xa, xb = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    first, second = model.predict([xa, xb])
    np.testing.assert_allclose(first, (xa + xb).astype(np.float32), rtol=1e-6)
    assert second.shape == (4, 1)


def test_functional_model_checks_input_shapes():
    inputs = layers.Input(shape=(4,), name="pixels")
    model = fastdl.models.Model(inputs, layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match=r"'pixels'.*\(None, 4\).*\(2, 5\)"):
        model.predict(np.ones((2, 5)))


def test_subclassed_model(rng):
    class TwoLayers(fastdl.models.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(3, activation="softmax")

        def call(self, x, training=None):
            return self.out(self.hidden(x))

    model = TwoLayers()
    x, y = blobs()
    model.compile(optimizer=fastdl.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, verbose=0)
    assert len(model.weights) == 4
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_summary_lists_layers_shapes_and_parameter_counts():
    model = mlp(input_dim=784, hidden=128, classes=10, dropout=0.5)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 128)" in text and "100,480" in text and "1,290" in text
    assert "Dropout" in text and "Total params: 101,770" in text
    assert "Trainable params: 101,770" in text and "Non-trainable params: 0" in text


def test_summary_counts_non_trainable_weights():
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)),
                              layers.BatchNormalization()])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Non-trainable params: 8" in "\n".join(lines)


# --------------------------------------------------------------------------- training

def test_fit_history_has_keras_keys_and_learns():
    x, y = blobs()
    xv, yv = blobs(60, seed=1)
    model = mlp()
    model.compile(optimizer=fastdl.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=16, validation_data=(xv, yv), verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 8 for v in history.history.values())
    assert history.history["accuracy"][-1] > 0.9
    assert model.history is history and history.epoch == list(range(8))


def test_validation_split_takes_the_last_samples():
    x, y = blobs(100)
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, validation_split=0.2, shuffle=False, verbose=0)
    expected = model.evaluate(x[80:], y[80:], verbose=0)
    np.testing.assert_allclose([history.history["val_loss"][0],
                                history.history["val_accuracy"][0]], expected, rtol=1e-6)


def test_evaluate_matches_the_loss_of_predictions():
    x, y = blobs(50)
    model = mlp(dropout=0.5)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    p = model.predict(x).astype(np.float64)
    loss = -np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1 - 1e-7)).mean()
    accuracy = (p.argmax(1) == y).mean()
    result = model.evaluate(x, y, batch_size=7, verbose=0)
    np.testing.assert_allclose(result, [loss, accuracy], rtol=1e-5)


def test_evaluate_without_metrics_returns_the_loss_and_dict_form():
    x, y = blobs(20)
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss"}


def test_predict_records_no_graph_and_turns_dropout_off():
    x, _ = blobs(40)
    model = mlp(dropout=0.5)
    a = model.predict(x, batch_size=7)
    b = model.predict(x, batch_size=40)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    seen = []
    call = model.call
    model.call = lambda inputs, training=None: seen.append(
        (fastdl.is_grad_enabled(), training)) or call(inputs, training)
    model.predict(x[:3])
    assert seen == [(False, False)]  # no graph recorded, inference mode
    assert model(x, training=False)._node is not None  # a direct call records as usual


def test_batch_entry_points():
    x, y = blobs(32)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = model.get_weights()
    loss, accuracy = model.train_on_batch(x, y)
    assert 0 <= accuracy <= 1 and loss > 0
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    after = model.get_weights()
    test_loss, _ = model.test_on_batch(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(after, model.get_weights()))
    assert test_loss > 0
    assert model.predict_on_batch(x).shape == (32, 3)
    assert set(model.train_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}


@pytest.mark.parametrize("loss,targets,metric", [
    ("categorical_crossentropy", "onehot", "categorical_accuracy"),
    ("sparse_categorical_crossentropy", "labels", "sparse_categorical_accuracy"),
])
def test_accuracy_follows_the_loss(loss, targets, metric):
    x, y = blobs(60)
    t = fastdl.utils.to_categorical(y, 3) if targets == "onehot" else y
    model = mlp()
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    model.fit(x, t, epochs=1, verbose=0)
    p = model.predict(x)
    expected = (p.argmax(1) == y).mean()
    assert model.evaluate(x, t, verbose=0)[1] == pytest.approx(expected)


def test_binary_classification_with_sigmoid_output():
    x, y = blobs(120, classes=2)
    model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(6,)),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=fastdl.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    p = model.predict(x)[:, 0]
    assert model.evaluate(x, y, verbose=0)[1] == pytest.approx(((p > 0.5) == y).mean())


def test_regression_with_mse_and_mae():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3)).astype(np.float32)
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=fastdl.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=30, batch_size=20, verbose=0)
    assert history.history["loss"][-1] < 1e-3 and "mae" in history.history
    np.testing.assert_allclose(model.layers[0].kernel.numpy()[:, 0], [1.0, -2.0, 0.5],
                               atol=0.02)


def test_trainable_is_read_at_compile_time_gan_pattern():
    fastdl.manual_seed(0)
    generator = keras.Sequential([layers.Dense(4, input_shape=(2,))], name="generator")
    discriminator = keras.Sequential([layers.Dense(1, activation="sigmoid",
                                                   input_shape=(4,))], name="discriminator")
    discriminator.compile(optimizer="adam", loss="binary_crossentropy")
    discriminator.trainable = False
    gan = keras.Sequential([generator, discriminator])
    gan.compile(optimizer="adam", loss="binary_crossentropy")
    assert len(gan.trainable_weights) == 2
    noise = np.random.default_rng(0).standard_normal((8, 2))
    d_before, g_before = discriminator.get_weights(), generator.get_weights()
    gan.train_on_batch(noise, np.ones(8))
    assert all(np.array_equal(a, b) for a, b in zip(d_before, discriminator.get_weights()))
    assert not np.array_equal(g_before[0], generator.get_weights()[0])
    # Compiled while trainable, the discriminator still trains on its own.
    discriminator.train_on_batch(np.ones((8, 4)), np.zeros(8))
    assert not np.array_equal(d_before[0], discriminator.get_weights()[0])


def small_gan_with_batch_norm(width=8):
    """A generator and a discriminator holding BatchNormalization, and the two stacked
    with the discriminator frozen, as a GAN program builds them."""
    generator = keras.Sequential([keras.Input((4,)), layers.Dense(width),
                                  layers.BatchNormalization(), layers.LeakyReLU(0.2)])
    discriminator = keras.Sequential([keras.Input((width,)), layers.Dense(width),
                                      layers.BatchNormalization(), layers.LeakyReLU(0.2),
                                      layers.Dense(1, activation="sigmoid")],
                                     name="discriminator")
    discriminator.compile(optimizer="adam", loss="binary_crossentropy")
    discriminator.trainable = False
    combined = keras.Sequential([generator, discriminator])
    combined.compile(optimizer="adam", loss="binary_crossentropy")
    return generator, discriminator, combined


def test_frozen_discriminator_keeps_its_batch_norm_statistics_during_generator_steps():
    """Frozen, BatchNormalization runs in inference mode (Keras 3): a generator step leaves
    the discriminator's moving mean and variance bitwise unchanged, the generator's move."""
    fastdl.manual_seed(0)
    generator, discriminator, combined = small_gan_with_batch_norm()
    rng = np.random.default_rng(0)
    discriminator.train_on_batch(rng.standard_normal((16, 8)), np.ones(16))
    d_before = [w.copy() for w in discriminator.get_weights()]
    g_stats = [w.numpy().copy() for w in generator.layers[1].non_trainable_weights]
    for _ in range(3):
        combined.train_on_batch(rng.standard_normal((16, 4)), np.ones(16))
    assert all(np.array_equal(a, b) for a, b in zip(d_before, discriminator.get_weights()))
    assert all(not np.array_equal(a, b.numpy())
               for a, b in zip(g_stats, generator.layers[1].non_trainable_weights))


def test_a_model_without_trainable_weights_trains_with_a_warning_and_changes_nothing():
    """As in Keras 3: compiled while frozen, train_on_batch computes the loss, warns and
    updates nothing (BatchNormalization statistics included)."""
    fastdl.manual_seed(0)
    _, discriminator, _ = small_gan_with_batch_norm()
    discriminator.compile(optimizer="adam", loss="binary_crossentropy")
    before = [w.copy() for w in discriminator.get_weights()]
    with pytest.warns(UserWarning, match="'discriminator' has no trainable weights"):
        loss = discriminator.train_on_batch(np.ones((16, 8)), np.zeros(16))
    assert np.isfinite(loss) and loss > 0
    assert all(np.array_equal(a, b) for a, b in zip(before, discriminator.get_weights()))


def test_compiling_again_does_not_grow_memory():
    """Recompiling (as GAN programs do between phases) drops the previous optimizer and its
    slots: after warm-up, twenty compile-and-train rounds, each making two new Adams with
    ~0.5 MB of slots, leave the traced memory where it was."""
    fastdl.manual_seed(0)
    _, discriminator, combined = small_gan_with_batch_norm(width=256)
    rng = np.random.default_rng(0)
    noise, ones = rng.standard_normal((16, 4)), np.ones(16)

    def round_of_compiles():
        discriminator.trainable = True
        discriminator.compile(optimizer="adam", loss="binary_crossentropy")
        discriminator.train_on_batch(rng.standard_normal((16, 256)), ones)
        discriminator.trainable = False
        combined.compile(optimizer="adam", loss="binary_crossentropy")
        combined.train_on_batch(noise, ones)

    tracemalloc.start()
    try:
        round_of_compiles()
        old_optimizer = weakref.ref(combined.optimizer)
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            round_of_compiles()
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert old_optimizer() is None
    assert growth < 200_000, f"memory grew by {growth} bytes over 20 compiles"


def test_nan_loss_stops_fit_naming_epoch_and_batch():
    x, y = blobs(64)
    x[40] = np.nan
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(RuntimeError, match=r"loss became nan at epoch 1, batch 3 of 4"):
        model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    # The NaN batch was not applied: the weights are those after batch 2.
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_compile_and_fit_errors():
    model = mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones((2, 6)), np.zeros(2))
    with pytest.raises(ValueError, match="unknown loss 'sparse_crossentropy'"):
        model.compile(optimizer="adam", loss="sparse_crossentropy")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="x has 4 samples but y has 3"):
        model.fit(np.ones((4, 6)), np.zeros(3), verbose=0)
    with pytest.raises(ValueError, match=r"'dense.*axis -1.*size 6.*\(4, 5\)"):
        model.fit(np.ones((4, 5)), np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        model.fit(np.ones((4, 6)), np.full(4, 7), verbose=0)


# --------------------------------------------------------------------------- weights files

def test_save_and_load_weights_round_trip_bit_exact(tmp_path):
    x, y = blobs(64)
    model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(6,)),
                              layers.BatchNormalization(),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "model.weights.npz"
    model.save_weights(path)
    fresh = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(6,)),
                              layers.BatchNormalization(),
                              layers.Dense(3, activation="softmax")])
    fresh.load_weights(path)
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(model.predict(x), fresh.predict(x))
    assert [p.name for p in tmp_path.iterdir()] == ["model.weights.npz"]


def test_weights_file_holds_no_pickles(tmp_path):
    model = mlp()
    model.save_weights(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz", allow_pickle=False) as archive:
        assert all(archive[k].dtype == np.float32 for k in archive.files)


def test_load_weights_mismatch_names_layer_weight_and_shapes(tmp_path):
    mlp(hidden=16).save_weights(tmp_path / "w.npz")
    other = mlp(hidden=12)
    with pytest.raises(ValueError, match=r"layer 'dense.*', weight 'kernel': expected shape "
                                         r"\(6, 12\).*received \(6, 16\)"):
        other.load_weights(tmp_path / "w.npz")
    deeper = keras.Sequential([layers.Dense(4, input_shape=(6,)), layers.Dense(4),
                               layers.Dense(3)])
    with pytest.raises(ValueError, match="holds 4 weights but model .* has 6"):
        deeper.load_weights(tmp_path / "w.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a fastdl weights file"):
        other.load_weights(tmp_path / "bad.npz")


# --------------------------------------------------------------------------- reproducibility

def _train_once(conv: bool) -> list:
    fastdl.utils.set_random_seed(42)
    rng = np.random.default_rng(0)
    if conv:
        x = rng.random((64, 10, 10, 1)).astype(np.float32)
        model = keras.Sequential([layers.Conv2D(4, 3, activation="relu",
                                                input_shape=(10, 10, 1)),
                                  layers.MaxPooling2D(), layers.Flatten(), layers.Dropout(0.3),
                                  layers.Dense(3, activation="softmax")])
    else:
        x = rng.random((64, 6)).astype(np.float32)
        model = mlp(dropout=0.5)
    y = rng.integers(0, 3, 64)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model.get_weights()


@pytest.mark.parametrize("conv", [False, True])
def test_set_random_seed_makes_runs_bitwise_identical(conv):
    first, second = _train_once(conv), _train_once(conv)
    for a, b in zip(first, second):
        assert a.tobytes() == b.tobytes()


def test_progress_output_one_line_per_epoch_when_not_a_terminal(capsys):
    x, y = blobs(32)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=8, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Epoch 1/3") and "accuracy:" in lines[0]


def test_progress_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    x, y = blobs(32)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    out = Terminal()
    bar = fastdl.callbacks.ProgbarLogger(verbose=1, stream=out)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[bar])
    text = out.getvalue()
    assert "Epoch 1/2" in text and "4/4" in text and "loss:" in text


def test_fit_returns_history_losses_that_are_finite_means():
    x, y = blobs(30)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=2, batch_size=7, verbose=0)
    assert all(math.isfinite(v) for v in history.history["loss"])
