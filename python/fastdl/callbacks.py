"""Callbacks for ``Model.fit``, with Keras's hooks and arguments.

>>> import numpy as np, fastdl
>>> model = fastdl.keras.Sequential([fastdl.layers.Dense(1, input_shape=(2,))])
>>> model.compile(optimizer="sgd", loss="mse")
>>> stop = fastdl.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
>>> history = model.fit(np.ones((8, 2)), np.ones(8), epochs=5, callbacks=[stop], verbose=0)
>>> len(history.history["loss"])
2
"""
from __future__ import annotations

import math
import numbers
import os
import sys
import time
import warnings
from typing import Any, Callable, Iterable, Optional

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "LambdaCallback"]


class Callback:
    """Base class. Hooks receive the epoch or batch index and a dict of logs; ``self.model``
    is the model being trained, ``self.params`` holds epochs, steps and verbose."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_train_end(self, logs: Optional[dict] = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_test_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_test_end(self, logs: Optional[dict] = None) -> None: ...
    def on_predict_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_predict_end(self, logs: Optional[dict] = None) -> None: ...


def _overrides(callback: Callback, hook: str) -> bool:
    """Whether the callback does something in ``hook`` (a method of its class, or a
    LambdaCallback's function)."""
    return (getattr(type(callback), hook) is not getattr(Callback, hook)
            or hook in getattr(callback, "_defined", ()))


class CallbackList:
    """Calls a hook on every callback. The per-batch hooks are called only on callbacks that
    define them, and ``wants_batch_logs`` tells the training loop whether to build batch logs
    at all."""

    def __init__(self, callbacks: Iterable[Callback], model: Any, params: dict) -> None:
        self.callbacks = list(callbacks)
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(params)
        self._batch_begin = [c for c in self.callbacks if _overrides(c, "on_train_batch_begin")]
        self._batch_end = [c for c in self.callbacks if _overrides(c, "on_train_batch_end")]
        self.wants_batch_logs = bool(self._batch_begin or self._batch_end)

    def call(self, hook: str, *args: Any) -> None:
        for c in self.callbacks:
            getattr(c, hook)(*args)

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        for c in self._batch_begin:
            c.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        for c in self._batch_end:
            c.on_train_batch_end(batch, logs)


class History(Callback):
    """Records each epoch's logs: ``history.history['loss']`` is the list of epoch losses."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


def format_logs(logs: dict) -> str:
    """``'loss: 0.1235 - accuracy: 0.9000'``: numbers to four decimals, anything else (a
    custom step may log an array) as it prints."""
    return " - ".join(f"{k}: {v:.4f}" if isinstance(v, numbers.Real) else f"{k}: {v}"
                      for k, v in logs.items())


class ProgbarLogger(Callback):
    """Progress output: with ``verbose=1`` on a terminal, a live bar per epoch (tqdm) showing
    the running loss and metrics; otherwise (``verbose=2``, or output that is not a
    terminal) one line per epoch."""

    # Refreshing the bar's text costs more than a small training step: at most this often.
    REFRESH_SECONDS = 0.1

    def __init__(self, verbose: int = 1, stream: Any = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self._bar: Any = None

    def _out(self) -> Any:
        return self.stream or sys.stdout

    def _live(self) -> bool:
        out = self._out()
        return self.verbose == 1 and hasattr(out, "isatty") and out.isatty()

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._epoch_title = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}"
        if self._live():
            from tqdm.auto import tqdm
            self._bar = tqdm(total=self.params.get("steps"), desc=self._epoch_title,
                             unit="batch", file=self._out(), leave=True, dynamic_ncols=True,
                             mininterval=self.REFRESH_SECONDS)
            self._refreshed = self._start

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is None:
            return
        self._bar.update(1)
        now = time.perf_counter()
        if logs and now - self._refreshed >= self.REFRESH_SECONDS:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._refreshed = now

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs or {}), refresh=False)
            self._bar.close()
            self._bar = None
            return
        print(f"{self._epoch_title} - {seconds:.2f}s - {format_logs(logs or {})}",
              file=self._out(), flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _monitor_mode(monitor: str, mode: str, who: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"


def _improved(mode: str, current: float, best: float, min_delta: float = 0.0) -> bool:
    if mode == "max":
        return current - min_delta > best
    return current + min_delta < best


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs; ``restore_best_weights`` puts back the best epoch's weights."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: Optional[float] = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.min_delta = abs(float(min_delta))
        self.mode = _monitor_mode(monitor, mode, "EarlyStopping")
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.stopped_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self.baseline if self.baseline is not None else (
            -math.inf if self.mode == "max" else math.inf)
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: monitor {self.monitor!r} is not in the logs "
                          f"(available: {', '.join(logs or {})}); nothing is stopped",
                          stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if _improved(self.mode, current, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping (best {self.monitor} "
                      f"{self.best:.4f} at epoch {self.best_epoch + 1})")


class ModelCheckpoint(Callback):
    """Saves the model's weights (fastdl's ``.npz`` weights format) after each epoch, or only
    when ``monitor`` improves with ``save_best_only``. ``filepath`` may hold ``{epoch}`` and
    log names: ``'ckpt-{epoch:02d}-{val_loss:.2f}.weights.npz'``."""

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: Any = "epoch",
                 initial_value_threshold: Optional[float] = None) -> None:
        super().__init__()
        if not save_weights_only:
            raise ValueError(
                "ModelCheckpoint: fastdl checkpoints hold the weights only; pass "
                "save_weights_only=True (restore with model.load_weights(path))")
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch', got {save_freq!r}")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only = save_best_only
        self.mode = _monitor_mode(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold if initial_value_threshold is not None else (
            -math.inf if self.mode == "max" else math.inf)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: monitor {self.monitor!r} is not in the logs "
                              f"(available: {', '.join(logs)}); nothing saved", stacklevel=2)
                return
            if not _improved(self.mode, current, self.best):
                return
            self.best = current
        self.model.save_weights(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved weights to {path}")


class LambdaCallback(Callback):
    """A callback made of functions: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_batch_begin(batch, logs)``,
    ``on_batch_end(batch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``."""

    def __init__(self, on_epoch_begin: Optional[Callable] = None,
                 on_epoch_end: Optional[Callable] = None,
                 on_batch_begin: Optional[Callable] = None,
                 on_batch_end: Optional[Callable] = None,
                 on_train_begin: Optional[Callable] = None,
                 on_train_end: Optional[Callable] = None) -> None:
        super().__init__()
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_batch_begin": on_batch_begin, "on_train_batch_end": on_batch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end}
        for hook, fn in hooks.items():
            if fn is not None:
                setattr(self, hook, fn)
        self._defined = {hook for hook, fn in hooks.items() if fn is not None}

