"""compile, fit, evaluate, predict and the per-batch entry points of a Model."""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from fastdl import losses as _losses
from fastdl import metrics as _metrics
from fastdl import optimizers as _optimizers
from fastdl import random as _random
from fastdl.autograd import no_grad
from fastdl.backend import to_device
from fastdl.callbacks import Callback, CallbackList, History, ProgbarLogger
from fastdl.models import data as _data
from fastdl.tensor import Tensor


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite during training."""


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _model_input(xs: list, device: str) -> Any:
    """The batch's arrays as Tensors on the model's device: each batch moves once."""
    inputs = [Tensor(to_device(a, device)) for a in xs]
    return inputs if len(inputs) > 1 else inputs[0]


def _output_array(out: Any) -> Any:
    """The outputs as NumPy arrays (what metrics and predict work on, from any device)."""
    if isinstance(out, (list, tuple)):
        return [to_device(o.data, "cpu") for o in out]
    return to_device(out.data, "cpu")


class TrainingMixin:
    """Keras's training API on a model (mixed into :class:`fastdl.models.Model`)."""

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                metrics: Optional[Sequence[Any]] = None, run_eagerly: bool = False,
                jit_compile: Any = "auto") -> None:
        """Sets the optimizer (a name or an Optimizer), the loss (a name, a Loss or a
        callable) and the metrics. As in Keras, which weights train is read now: setting
        ``layer.trainable`` later takes effect at the next ``compile``. ``run_eagerly`` and
        ``jit_compile`` are accepted for compatibility; fastdl always runs eagerly."""
        if loss is None:
            raise ValueError(f"model {self.name!r}: compile needs a loss, e.g. "
                             f"loss='sparse_categorical_crossentropy'")
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        self._metric_specs = list(metrics or [])
        self.compiled_metrics: Optional[list] = None  # made at the first batch (see below)
        self._trainable_snapshot = self.trainable_weights if self.built else None
        self.stop_training = False

    def _require_compiled(self, op: str) -> None:
        if getattr(self, "optimizer", None) is None or getattr(self, "loss", None) is None:
            raise RuntimeError(f"model {self.name!r}: call compile(optimizer, loss) before "
                               f"{op}")

    def _trainable_for_step(self, xs: list) -> list:
        """The weights the optimizer updates: those trainable at compile time. The others
        stop requiring grad during the step, so that no gradient is computed for them."""
        if self._trainable_snapshot is None:
            # Compiled before its layers had weights: a call on one sample creates them.
            with no_grad():
                self(_model_input([a[:1] for a in xs], self.device), training=False)
            self._trainable_snapshot = self.trainable_weights
        train = self._trainable_snapshot
        if getattr(self, "_grad_flags_for", None) is not train:
            ids = {id(v) for v in train}
            self._grad_flags = [(v, id(v) in ids) for v in self.weights if v.trainable]
            self._grad_flags_for = train
        for v, flag in self._grad_flags:
            v.requires_grad = flag
        return train

    def _metrics_for(self, y: np.ndarray, pred: Any) -> list:
        """The compiled metrics, made once the targets and outputs are known ('accuracy'
        depends on both)."""
        if self.compiled_metrics is None:
            loss_name = getattr(self.loss, "name", "")
            shape = tuple(np.shape(pred[0] if isinstance(pred, list) else pred))
            self.compiled_metrics = [
                _metrics.get(m, loss_name=loss_name, y_true=y, output_shape=shape)
                for m in self._metric_specs]
        return self.compiled_metrics

    # ------------------------------------------------------------------ one batch
    def _train_batch(self, xs: list, y: np.ndarray) -> float:
        """One optimizer step on one batch; returns the loss (not applied if not finite)."""
        train = self._trainable_for_step(xs)
        device = train[0].device if train else self.device
        pred = self(_model_input(xs, device), training=True)
        loss = self.loss(to_device(y, device), pred)
        value = float(loss.data)
        if not math.isfinite(value):
            return value
        for v in train:
            v.grad = None
        loss.backward()
        self.optimizer.apply_gradients([(v.grad, v) for v in train])
        out = _output_array(pred)
        for m in self._metrics_for(y, out):
            m.update_state(y, out)
        return value

    def _test_batch(self, xs: list, y: np.ndarray) -> float:
        with no_grad():
            device = self.device
            pred = self(_model_input(xs, device), training=False)
            value = float(self.loss(to_device(y, device), pred).data)
        out = _output_array(pred)
        for m in self._metrics_for(y, out):
            m.update_state(y, out)
        return value

    def _reset_metrics(self) -> None:
        for m in self.compiled_metrics or []:
            m.reset_state()

    def _logs(self, loss: float, prefix: str = "") -> dict:
        logs = {prefix + "loss": loss}
        for m in self.compiled_metrics or []:
            logs[prefix + m.name] = m.result()
        return logs

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
            epochs: int = 1, verbose: Any = "auto",
            callbacks: Optional[Sequence[Callback]] = None, validation_split: float = 0.0,
            validation_data: Optional[tuple] = None, shuffle: bool = True,
            initial_epoch: int = 0, validation_batch_size: Optional[int] = None) -> History:
        """Trains for ``epochs`` epochs over ``(x, y)`` in batches of ``batch_size`` (32 by
        default), shuffled each epoch with fastdl's generator. Returns a History whose
        ``.history`` holds the epoch means of the loss and metrics (``loss``, ``accuracy``,
        and ``val_loss``, ``val_accuracy`` with validation data).

        Stops with NonFiniteLossError (a RuntimeError) naming the epoch and batch if the
        loss becomes NaN or infinite; that batch's update is not applied.
        """
        self._require_compiled("fit")
        verbose = _verbosity(verbose)
        batch_size = _data.batch_size_or_default("fit", batch_size)
        xs = _data.as_inputs("fit", x, self.dtype)
        y = _data.as_targets("fit", y, len(xs[0]), self.dtype)
        if validation_data is None and validation_split:
            (xs, y), validation_data = _data.split_validation(xs, y, validation_split)
        validation = None
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            vx = _data.as_inputs("fit (validation_data)", validation_data[0], self.dtype)
            validation = (vx, _data.as_targets("fit (validation_data)", validation_data[1],
                                               len(vx[0]), self.dtype))
        samples = len(xs[0])
        steps = -(-samples // batch_size)
        history = History()
        callback_list = list(callbacks or [])
        if verbose:
            callback_list.append(ProgbarLogger(verbose))
        callback_list.append(history)
        hooks = CallbackList(callback_list, self, {"epochs": epochs, "steps": steps,
                                                   "verbose": verbose})
        self.history = history
        self.stop_training = False
        hooks.call("on_train_begin", {})
        for epoch in range(initial_epoch, epochs):
            hooks.call("on_epoch_begin", epoch, {})
            self._reset_metrics()
            order = _random.generator().permutation(samples) if shuffle else None
            loss_sum = 0.0
            seen = 0
            for step, (bx, by) in enumerate(_data.batches(xs, y, batch_size, order)):
                if hooks.wants_batch_logs:
                    hooks.on_train_batch_begin(step, {})
                value = self._train_batch(bx, by)
                if not math.isfinite(value):
                    raise NonFiniteLossError(
                        f"fit: the loss became {value} at epoch {epoch + 1}, batch "
                        f"{step + 1} of {steps}; the batch was not applied. Lower the "
                        f"learning rate, check the data for NaN/inf, or clip gradients "
                        f"(e.g. optimizer=Adam(clipnorm=1.0))")
                loss_sum += value * len(by)
                seen += len(by)
                if hooks.wants_batch_logs:
                    hooks.on_train_batch_end(step, self._logs(loss_sum / seen))
            logs = self._logs(loss_sum / seen)
            if validation is not None:
                logs.update(self._evaluate_arrays(*validation, validation_batch_size or
                                                  batch_size, prefix="val_"))
            hooks.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        hooks.call("on_train_end", {})
        return history

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate_arrays(self, xs: list, y: np.ndarray, batch_size: int,
                         prefix: str = "") -> dict:
        self._reset_metrics()
        loss_sum = 0.0
        for bx, by in _data.batches(xs, y, batch_size):
            loss_sum += self._test_batch(bx, by) * len(by)
        return self._logs(loss_sum / len(y), prefix)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
                 verbose: Any = "auto", return_dict: bool = False) -> Any:
        """The loss and metrics over ``(x, y)`` at inference (no graph, ``training=False``):
        the loss alone without metrics, else ``[loss, *metrics]`` (a dict with
        ``return_dict=True``)."""
        self._require_compiled("evaluate")
        verbose = _verbosity(verbose)
        xs = _data.as_inputs("evaluate", x, self.dtype)
        y = _data.as_targets("evaluate", y, len(xs[0]), self.dtype)
        logs = self._evaluate_arrays(xs, y, _data.batch_size_or_default("evaluate", batch_size))
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return _result(logs, return_dict)

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Any = 0) -> Any:
        """The model's outputs for ``x`` as arrays, computed in batches (32 by default) at
        inference: no graph is recorded and dropout is off."""
        xs = _data.as_inputs("predict", x, self.dtype)
        batch_size = _data.batch_size_or_default("predict", batch_size)
        outputs = []
        device = self.device
        with no_grad():
            for bx, _ in _data.batches(xs, None, batch_size):
                outputs.append(_output_array(self(_model_input(bx, device), training=False)))
        if not outputs:
            raise ValueError("predict: x holds no samples")
        if isinstance(outputs[0], list):
            return [np.concatenate(parts) for parts in zip(*outputs)]
        return np.concatenate(outputs)

    # ------------------------------------------------------------------ single batches
    def train_on_batch(self, x: Any, y: Any, return_dict: bool = False) -> Any:
        """One optimizer step on ``(x, y)``; returns that batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        xs = _data.as_inputs("train_on_batch", x, self.dtype)
        y = _data.as_targets("train_on_batch", y, len(xs[0]), self.dtype)
        self._reset_metrics()
        value = self._train_batch(xs, y)
        if not math.isfinite(value):
            raise NonFiniteLossError(f"train_on_batch: the loss became {value}; the batch "
                                     f"was not applied")
        return _result(self._logs(value), return_dict)

    def test_on_batch(self, x: Any, y: Any, return_dict: bool = False) -> Any:
        """The loss (and metrics) of one batch at inference."""
        self._require_compiled("test_on_batch")
        xs = _data.as_inputs("test_on_batch", x, self.dtype)
        y = _data.as_targets("test_on_batch", y, len(xs[0]), self.dtype)
        self._reset_metrics()
        return _result(self._logs(self._test_batch(xs, y)), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """The outputs for one batch, at inference."""
        xs = _data.as_inputs("predict_on_batch", x, self.dtype)
        with no_grad():
            return _output_array(self(_model_input(xs, self.device), training=False))


def _result(logs: dict, return_dict: bool) -> Any:
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
