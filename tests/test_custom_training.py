"""Custom training, Keras 3's way: overridden train_step / test_step / predict_step driven by
fit, evaluate and predict; compile without a loss and overridden compile; the metrics
property and its resets; what a step receives; sample weights in the built-in step; and the
VAE example.

Where a test says "Keras 3.15", the expected value or structure is what Keras 3.15.1 with
TensorFlow 2.21 gave on the same program in /opt/tfenv; the other references are float64
NumPy written here.
"""
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

import fastdl
from fastdl import keras
from fastdl.keras import layers

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def dense_model(cls=keras.Model, units=1, inputs=3, **kwargs):
    x = keras.Input(shape=(inputs,))
    return cls(x, layers.Dense(units)(x), **kwargs)


class Count(keras.metrics.Metric):
    """How many times update_state was called since the last reset."""

    def __init__(self, name="count"):
        super().__init__(name)
        self.reset_state()

    def update_state(self, *args, **kwargs):
        self.calls += 1

    def result(self):
        return float(self.calls)

    def reset_state(self):
        self.calls = 0


# --------------------------------------------------------------------------- the guide's models

class GuideModel(keras.Model):
    """The first model of Keras's guide "customizing what happens in fit": the compiled loss
    through compute_loss, every metric of self.metrics updated by hand."""

    def train_step(self, data):
        x, y = data
        with fastdl.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_weights
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_the_guides_train_step_logs_the_compiled_loss_and_metrics():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    model = dense_model(GuideModel)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse",
                  metrics=["mae"])
    history = model.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    # Keras 3.15 on this program: ['mae', 'loss'] (the logs sorted by name, the
    # compile_metrics dict expanded in its place), with these values.
    assert list(history.history) == ["mae", "loss"]
    kernel, bias = (w.numpy().astype(np.float64) for w in model.trainable_weights)
    error = x @ kernel + bias - y
    batch_mse = np.array([np.mean(error[i:i + 6] ** 2) for i in range(0, 20, 6)])
    # The loss tracker weighs each batch's mean once (Mean of a scalar), as Keras's does.
    np.testing.assert_allclose(history.history["loss"], [batch_mse.mean()] * 2, rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"], [np.abs(error).mean()] * 2, rtol=1e-5)


def test_a_custom_step_trains_exactly_as_the_built_in_one():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 3)), rng.integers(0, 4, 40)
    fastdl.manual_seed(0)
    builtin = dense_model(units=4)
    fastdl.manual_seed(0)
    custom = dense_model(GuideModel, units=4)
    for model in (builtin, custom):
        model.compile(optimizer=keras.optimizers.Adam(0.05),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(builtin.get_weights(), custom.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


class LowLevelModel(keras.Model):
    """The guide's lower-level model: its own loss and metric objects, compile() without a
    loss, the trackers listed in the metrics property."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.calls = Count()
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        with fastdl.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        self.calls.update_state()
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result(),
                "calls": self.calls.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric, self.calls]


def test_compile_without_a_loss_and_metrics_reset_every_epoch():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((50, 3)), rng.standard_normal((50, 1))
    model = dense_model(LowLevelModel)
    model.compile(optimizer="adam")
    history = model.fit(x, y, batch_size=10, epochs=3, verbose=0)
    assert history.history["calls"] == [5.0, 5.0, 5.0]  # reset at each epoch's start
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert list(history.history) == ["calls", "loss", "mae"]


def test_the_metrics_property_lists_metric_attributes_after_the_compiled_ones():
    class Tracked(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.zz = keras.metrics.Mean(name="zz")
            self.aa = keras.metrics.Mean(name="aa")

    model = dense_model(Tracked)
    assert model.metrics_names == ["zz", "aa"]
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    # Keras 3.15: ['loss', 'compile_metrics', 'zz', 'aa'].
    assert model.metrics_names == ["loss", "compile_metrics", "zz", "aa"]
    model.compile(optimizer="sgd")
    assert model.metrics_names == ["loss", "zz", "aa"]  # Keras 3.15: the same


# --------------------------------------------------------------------------- what a step gets

class Recorder(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def train_step(self, data):
        self.seen.append(data)
        return {"steps": len(self.seen)}


FIT_DATA = {"x": np.ones((8, 3)), "y": np.arange(8.0).reshape(8, 1), "w": np.linspace(0, 1, 8)}


@pytest.mark.parametrize("fit_arguments,structure", [
    (lambda x, y, w: ((x,), {}), "x"),
    (lambda x, y, w: (([x, x],), {}), "((x, x),)"),
    (lambda x, y, w: ((x, y), {}), "(x, y)"),
    (lambda x, y, w: ((x, y), {"sample_weight": w}), "(x, y, w)"),
], ids=["x", "two-inputs", "x-y", "x-y-w"])
def test_what_train_step_receives_follows_keras(fit_arguments, structure):
    """Keras 3.15 passes these structures for these fit calls (batches of Tensors)."""
    names = FIT_DATA
    model = Recorder()
    model.compile(optimizer="sgd")
    args, kwargs = fit_arguments(**names)
    model.fit(*args, **kwargs, batch_size=4, shuffle=False, verbose=0)
    assert len(model.seen) == 2

    def describe(value):
        if isinstance(value, tuple):
            return "(" + ", ".join(describe(v) for v in value) + ("," if len(value) == 1
                                                                   else "") + ")"
        assert isinstance(value, fastdl.Tensor) and len(value) == 4
        return next(n for n, a in names.items()
                    if value.shape == a[:4].shape and np.allclose(value.numpy(), a[:4]))

    assert describe(model.seen[0]) == structure


def test_a_step_that_does_not_return_a_dict_is_named():
    class Bad(keras.Model):
        def train_step(self, data):
            return fastdl.tensor(1.0)

        def test_step(self, data):
            return [1.0]

    model = dense_model(Bad)
    model.compile(optimizer="sgd")
    with pytest.raises(TypeError, match=r"Bad.train_step must return a dict of logs.*got "
                                        r"Tensor"):
        model.fit(np.ones((4, 3)), verbose=0)
    with pytest.raises(TypeError, match=r"Bad.test_step must return a dict.*got list"):
        model.evaluate(np.ones((4, 3)), verbose=0)


def test_the_built_in_step_needs_a_loss_and_targets():
    model = dense_model()
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"compute_loss: no loss to compute"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"fit: y is required"):
        model.fit(np.ones((4, 3)), verbose=0)
    with pytest.raises(RuntimeError, match=r"call compile\(\) before fit"):
        dense_model().fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)


# --------------------------------------------------------------------------- test and predict

class Evaluated(keras.Model):
    """Keras 3.15 on this model: evaluate gives [5.0, 14.0] and {'a': 5.0, 'b': 14.0}; predict
    gives a dict holding an (8, 1) array and a tuple of two."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.total = keras.metrics.Mean(name="count")

    def test_step(self, data):
        x, y = data
        self.total.update_state(fastdl.sum(y))
        return {"b": self.total.result(), "a": 5.0}

    def predict_step(self, data):
        return {"p": self(data), "q": (data, data)}

    @property
    def metrics(self):
        return [self.total]


def test_evaluate_and_predict_with_custom_steps_follow_keras():
    x = np.arange(8, dtype="float32").reshape(8, 1)
    model = dense_model(Evaluated, inputs=1)
    model.compile(optimizer="sgd")
    assert model.evaluate(x, x, batch_size=4, verbose=0) == [5.0, 14.0]
    logs = model.evaluate(x, x, batch_size=4, verbose=0, return_dict=True)
    assert logs == {"a": 5.0, "b": 14.0} and list(logs) == ["a", "b"]
    out = model.predict(x, batch_size=3)
    assert set(out) == {"p", "q"} and out["p"].shape == (8, 1)
    assert isinstance(out["q"], tuple) and np.array_equal(out["q"][1], x)
    np.testing.assert_allclose(out["p"], model.predict_on_batch(x)["p"], rtol=1e-6)


def test_evaluate_records_no_graph_in_a_custom_test_step():
    class Probe(keras.Model):
        def test_step(self, data):
            return {"recording": float(fastdl.is_grad_enabled())}

    model = dense_model(Probe)
    model.compile(optimizer="sgd")
    assert model.evaluate(np.ones((2, 3)), verbose=0) == 0.0


def test_overrides_that_call_the_built_in_steps():
    class Extra(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.steps = Count(name="steps")

        def train_step(self, data):
            logs = super().train_step(data)
            self.steps.update_state()
            return {**logs, "steps": self.steps.result()}

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         training=True):
            return super().compute_loss(x, y, y_pred, sample_weight, training) + 100.0

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((12, 3)), rng.standard_normal((12, 1))
    model = dense_model(Extra)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    # Keras 3.15 on this model: ['loss', 'mae', 'steps'], steps [3.0, 3.0], loss = mse + 100,
    # and evaluate gives [loss, mae, 0.0].
    assert list(history.history) == ["loss", "mae", "steps"]
    assert history.history["steps"] == [3.0, 3.0]
    kernel, bias = (w.numpy().astype(np.float64) for w in model.trainable_weights)
    mse = np.mean((x @ kernel + bias - y) ** 2)
    np.testing.assert_allclose(history.history["loss"], [mse + 100.0] * 2, rtol=1e-5)
    # The overridden compute_loss counts in evaluate's built-in step as well.
    loss, mae, steps = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(mse + 100.0, rel=1e-5) and steps == 0.0


def test_compute_loss_adds_the_terms_layers_add():
    class ActivityPenalty(layers.Layer):
        def call(self, inputs):
            self.add_loss(0.5 * (inputs * inputs).mean())
            return inputs

    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((10, 3)), rng.standard_normal((10, 1))
    inputs = keras.Input((3,))
    model = keras.Model(inputs, ActivityPenalty()(layers.Dense(1)(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    p = model.predict(x).astype(np.float64)
    expected = np.mean((p - y) ** 2) + 0.5 * np.mean(p ** 2)
    assert model.evaluate(x, y, batch_size=10, verbose=0) == pytest.approx(expected, rel=1e-5)
    history = model.fit(x, y, batch_size=10, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


# --------------------------------------------------------------------------- sample weights

def test_sample_weights_in_the_built_in_steps_match_keras():
    """Keras 3.15 on the same program: {'loss': 2.7822318077087402,
    'mae': 1.7507884502410889, 'mse': 2.565749406814575}, for evaluate and for an epoch of
    fit with a zero learning rate."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3)).astype("float32")
    y = rng.standard_normal((7, 1)).astype("float32")
    w = rng.uniform(0, 2, 7).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1, kernel_initializer="ones",
                                                              bias_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=["mae"],
                  weighted_metrics=["mse"])
    expected = {"loss": 2.7822318077087402, "mae": 1.7507884502410889,
                "mse": 2.565749406814575}
    logs = model.evaluate(x, y, sample_weight=w, batch_size=3, verbose=0, return_dict=True)
    assert logs == pytest.approx(expected, rel=1e-6)
    history = model.fit(x, y, sample_weight=w, batch_size=3, shuffle=False, verbose=0)
    assert {k: v[0] for k, v in history.history.items()} == pytest.approx(expected, rel=1e-6)
    # The same from float64 NumPy: the loss weighs each sample's error, divided by the batch
    # size; mae ignores the weights; the weighted mse divides by their sum.
    p = x.astype(np.float64).sum(axis=1)
    se = (p - y[:, 0]) ** 2
    batches = [slice(0, 3), slice(3, 6), slice(6, 7)]
    loss = sum((se[b] * w[b]).sum() for b in batches) / 7
    assert logs["loss"] == pytest.approx(loss, rel=1e-6)
    assert logs["mse"] == pytest.approx((se * w).sum() / w.sum(), rel=1e-6)


def test_sample_weights_reach_a_custom_step_and_validation():
    class Weighted(keras.Model):
        def train_step(self, data):
            x, y, sample_weight = data
            return {"weight_sum": fastdl.sum(sample_weight)}

    model = dense_model(Weighted)
    model.compile(optimizer="sgd", loss="mse")
    w = np.arange(1.0, 9.0)
    history = model.fit(np.ones((8, 3)), np.ones((8, 1)), sample_weight=w, batch_size=8,
                        validation_data=(np.ones((2, 3)), np.ones((2, 1)), np.ones(2)),
                        verbose=0)
    assert history.history["weight_sum"] == [36.0]
    assert "val_loss" in history.history  # validation ran the built-in test_step


# --------------------------------------------------------------------------- the GAN idiom

class GAN(keras.Model):
    """The guide's GAN, on vectors: an overridden compile with two optimizers, two tapes, each
    optimizer on one sub-model's weights, fit(x) without targets."""

    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_weights_seen = []

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real):
        batch_size = real.shape[0]
        noise = fastdl.randn(batch_size, self.latent_dim)
        generated = self.generator(noise)
        combined = fastdl.concatenate([generated, real], axis=0)
        labels = fastdl.concatenate([fastdl.ones(batch_size, 1), fastdl.zeros(batch_size, 1)],
                                    axis=0)
        with fastdl.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply(grads, self.discriminator.trainable_weights)
        self.d_weights_seen.append([w.numpy().copy() for w in self.discriminator.weights])
        noise = fastdl.randn(batch_size, self.latent_dim)
        with fastdl.GradientTape() as tape:
            g_loss = self.loss_fn(fastdl.zeros(batch_size, 1),
                                  self.discriminator(self.generator(noise)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply(grads, self.generator.trainable_weights)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def test_the_gan_pattern_trains_each_sub_model_with_its_own_optimizer():
    fastdl.manual_seed(0)
    discriminator = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                                      layers.Dense(1)], name="discriminator")
    generator = keras.Sequential([keras.Input((2,)), layers.Dense(4)], name="generator")
    gan = GAN(discriminator, generator, latent_dim=2)
    gan.compile(d_optimizer=keras.optimizers.Adam(0.01),
                g_optimizer=keras.optimizers.Adam(0.01),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    g_before = [w.numpy().copy() for w in generator.weights]
    real = np.random.default_rng(0).standard_normal((32, 4)).astype("float32") + 3.0
    history = gan.fit(real, batch_size=16, epochs=2, verbose=0)
    assert list(history.history) == ["d_loss", "g_loss"]
    assert all(np.isfinite(v).all() for v in history.history.values())
    # The generator's step left the discriminator as its own step had made it.
    for seen, after in zip(gan.d_weights_seen[-1], discriminator.weights):
        np.testing.assert_array_equal(seen, after.numpy())
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(g_before, generator.weights))
    assert gan.optimizer is not None  # super().compile() set the default optimizer


# --------------------------------------------------------------------------- callbacks

def test_callbacks_and_the_progress_line_see_the_custom_logs(capsys):
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_batch_end=lambda batch, logs: seen.append(("batch", dict(logs))),
        on_epoch_end=lambda epoch, logs: seen.append(("epoch", dict(logs))))
    model = Recorder()
    model.compile(optimizer="sgd")
    model.fit(np.ones((6, 3)), batch_size=3, epochs=1, callbacks=[callback], verbose=2)
    assert seen == [("batch", {"steps": 1.0}), ("batch", {"steps": 2.0}),
                    ("epoch", {"steps": 2.0})]
    assert "steps: 2.0000" in capsys.readouterr().out


def test_train_and_test_on_batch_use_the_overridden_steps():
    model = Recorder()
    model.compile(optimizer="sgd")
    assert model.train_on_batch(np.ones((2, 3)), return_dict=True) == {"steps": 1.0}
    assert model.train_on_batch(np.ones((2, 3))) == 2.0


def test_stop_training_inside_an_epoch_stops_after_that_batch():
    class Stopper(Recorder):
        def train_step(self, data):
            logs = super().train_step(data)
            self.stop_training = len(self.seen) == 2
            return logs

    model = Stopper()
    model.compile(optimizer="sgd")
    history = model.fit(np.ones((10, 3)), batch_size=2, epochs=3, verbose=0)
    assert len(model.seen) == 2 and history.history["steps"] == [2.0]


# --------------------------------------------------------------------------- the example

def test_the_vae_example_learns_the_sample(monkeypatch, capsys, tmp_path):
    sample = fastdl.datasets.fashion_mnist.load_sample()
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", lambda: sample)
    monkeypatch.setattr(sys, "argv", ["vae.py", "--epochs", "3", "--samples", "2048",
                                      "--out", str(tmp_path)])
    history = runpy.run_path(str(EXAMPLES / "vae.py"), run_name="example")["main"]()
    losses = history.history["loss"]
    assert list(history.history) == ["kl_loss", "loss", "reconstruction_loss"]
    assert losses[-1] < 0.9 * losses[0] and all(np.isfinite(losses))
    # Each epoch's total is the sum of its two parts (the trackers are reset together).
    for total, reconstruction, kl in zip(losses, history.history["reconstruction_loss"],
                                         history.history["kl_loss"]):
        assert total == pytest.approx(reconstruction + kl, rel=1e-5)
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "reconstruction_loss:" in out
    # The two PNGs, read back: the 15 x 15 grid of decoded 28 x 28 images, and the scatter.
    pytest.importorskip("PIL")
    grid = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "latent_grid.png",
                                                         color_mode="grayscale"))
    scatter = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "latent_means.png"))
    assert grid.shape == (15 * 28, 15 * 28, 1) and grid.std() > 10
    assert scatter.shape == (480, 480, 3) and (scatter < 255).any()
