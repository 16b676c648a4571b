"""Callbacks: EarlyStopping, ModelCheckpoint, LambdaCallback, custom callbacks."""
import numpy as np
import pytest

import fastdl
from fastdl import callbacks, keras, layers


def regression_model():
    fastdl.manual_seed(0)
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=fastdl.optimizers.SGD(0.05), loss="mse")
    return model


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    return x, x @ np.array([1.0, -1.0], np.float32)


def test_early_stopping_waits_patience_epochs_then_stops():
    x, y = data()
    model = regression_model()
    # min_delta so large that no epoch counts as an improvement after the first.
    stop = callbacks.EarlyStopping(monitor="loss", min_delta=100.0, patience=2)
    history = model.fit(x, y, epochs=10, callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == 3 and stop.stopped_epoch == 2


def test_early_stopping_restores_the_best_weights():
    x, y = data()
    model = regression_model()
    seen = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(
        (logs["val_loss"], model.get_weights())))
    stop = callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    # A learning rate that diverges after a few epochs makes val_loss turn up.
    model.compile(optimizer=fastdl.optimizers.SGD(1.05), loss="mse")
    model.fit(x, y, epochs=30, validation_data=(x, y), callbacks=[record, stop], verbose=0)
    assert stop.stopped_epoch > 0
    best_loss, best_weights = min(seen, key=lambda entry: entry[0])
    for a, b in zip(model.get_weights(), best_weights):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_warns_about_a_missing_monitor():
    x, y = data()
    model = regression_model()
    with pytest.warns(UserWarning, match="'val_accuracy' is not in the logs"):
        model.fit(x, y, epochs=1, callbacks=[callbacks.EarlyStopping("val_accuracy")],
                  verbose=0)


def test_model_checkpoint_saves_every_epoch_with_formatted_names(tmp_path):
    x, y = data()
    model = regression_model()
    path = str(tmp_path / "ckpt-{epoch:02d}-{loss:.3f}.weights.npz")
    model.fit(x, y, epochs=3, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(path, monitor="loss", save_weights_only=True)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and names[0].startswith("ckpt-01-")
    restored = regression_model()
    restored.load_weights(tmp_path / names[-1])
    np.testing.assert_array_equal(restored.get_weights()[0], model.get_weights()[0])


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = data()
    model = regression_model()
    model.compile(optimizer=fastdl.optimizers.SGD(1.05), loss="mse")  # gets worse later
    saved = []
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "best.npz"), monitor="loss",
                                           save_best_only=True, save_weights_only=True)
    track = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: saved.append(
        (logs["loss"], (tmp_path / "best.npz").stat().st_mtime_ns)))
    model.fit(x, y, epochs=12, verbose=0, callbacks=[checkpoint, track])
    losses = [loss for loss, _ in saved]
    assert checkpoint.best == min(losses)
    restored = regression_model()
    restored.load_weights(tmp_path / "best.npz")
    assert restored.evaluate(x, y, verbose=0) < losses[-1]


def test_model_checkpoint_requires_weights_only():
    with pytest.raises(ValueError, match="save_weights_only=True"):
        callbacks.ModelCheckpoint("model.keras")


def test_lambda_and_custom_callbacks_get_every_hook():
    x, y = data()
    calls = []
    hooks = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_batch_end=lambda batch, logs: calls.append(f"batch {batch} {sorted(logs)}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch}"),
        on_train_end=lambda logs: calls.append("train_end"))

    class Stop(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    model = regression_model()
    model.fit(x, y, epochs=5, batch_size=32, callbacks=[hooks, Stop()], verbose=0)
    assert calls == ["train_begin", "epoch_begin 0", "batch 0 ['loss']", "batch 1 ['loss']",
                     "epoch_end 0", "epoch_begin 1", "batch 0 ['loss']", "batch 1 ['loss']",
                     "epoch_end 1", "train_end"]


def test_initial_epoch_continues_the_count():
    x, y = data()
    model = regression_model()
    history = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]
