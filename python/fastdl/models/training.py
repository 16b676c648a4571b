"""compile, fit, evaluate, predict and the per-batch entry points of a Model: the loops
around the steps of :mod:`fastdl.models.steps`."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from fastdl import metrics as _metrics
from fastdl import optimizers as _optimizers
from fastdl import random as _random
from fastdl.autograd import no_grad
from fastdl.callbacks import Callback, CallbackList, History, ProgbarLogger, format_logs
from fastdl.layers.nested import flatten, pack_like
from fastdl.models import data as _data
from fastdl.models.compiled import CompileMetrics, host_arrays
from fastdl.models.multi_io import compile_loss, compile_metrics, inputs_in_order
from fastdl.models.steps import NonFiniteLossError, StepMixin, pythonify_logs

__all__ = ["TrainingMixin", "NonFiniteLossError"]

# A step on one batch of arrays (inputs, targets, sample weights): the step's logs, or None
# when the model's metrics hold them (the built-in steps).
BatchStep = Callable[[list, Any, Any], Optional[Mapping]]


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


class TrainingMixin(StepMixin):
    """Keras's training API on a model (mixed into :class:`fastdl.models.Model`)."""

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                metrics: Optional[Sequence[Any]] = None,
                weighted_metrics: Optional[Sequence[Any]] = None, run_eagerly: bool = False,
                jit_compile: Any = "auto") -> None:
        """Sets the optimizer (a name or an Optimizer), the loss (a name, a Loss or a
        callable; None when ``train_step`` computes it), the metrics and the metrics weighted
        by ``sample_weight``. A model with several outputs takes a loss, loss weight and
        metrics per output, as lists or dicts by output name (see
        :mod:`fastdl.models.multi_io`). As in Keras, which weights train is read now: setting
        ``layer.trainable`` later takes effect at the next ``compile``. ``run_eagerly`` and
        ``jit_compile`` are accepted for compatibility; fastdl always runs eagerly."""
        self.optimizer = _optimizers.get(optimizer)
        self.loss = None if loss is None else compile_loss(self, loss, loss_weights)
        self._loss_tracker = _metrics.Mean(name="loss")
        self._compile_metrics = compile_metrics(self, metrics, weighted_metrics, self.loss)
        self._trainable_snapshot = self.trainable_weights if self.built else None
        self.stop_training = False
        self.compiled = True

    # ------------------------------------------------------------------ step functions
    def _train_function(self) -> BatchStep:
        """The training step fit calls on each batch: the built-in one on the arrays, or the
        model's ``train_step`` on Tensors."""
        return self._batch_function("fit", "train_step", "train", self._train_batch)

    def _test_function(self) -> BatchStep:
        """Like :meth:`_train_function`, for ``test_step`` (without a graph)."""
        return self._batch_function("evaluate", "test_step", "evaluate", self._test_batch)

    def _batch_function(self, op: str, step_name: str, verb: str,
                        builtin_batch: Callable) -> BatchStep:
        """The built-in step (``builtin_batch`` on the arrays, then the compiled metrics)
        unless the model overrides ``step_name`` or ``compute_metrics``; else the model's
        step on Tensors, whose logs are checked (test_step's runs without a graph)."""
        if not self._overrides(step_name, "compute_metrics"):
            def builtin(xs: list, y: Any, sample_weight: Any) -> None:
                if y is None and self.loss is not None:  # else the layers' added losses
                    raise ValueError(f"{op}: y is required: the built-in {step_name} computes "
                                     f"the loss from it (override {step_name} to {verb} "
                                     f"without targets)")
                y_pred = builtin_batch(xs, y, sample_weight)
                if self._compile_metrics is not None:
                    self._compile_metrics.update_state(y, y_pred, sample_weight)
            return builtin
        device = self.device
        recording = step_name == "train_step"

        def custom(xs: list, y: Any, sample_weight: Any) -> Mapping:
            data = _data.step_data(xs, y, sample_weight, device)
            if recording:
                logs = getattr(self, step_name)(data)
            else:
                with no_grad():
                    logs = getattr(self, step_name)(data)
            return self._checked_logs(step_name, logs)
        return custom

    def _logs_after(self, step_logs: Optional[Mapping]) -> dict:
        """The logs after a step: what it returned, else the model's metrics."""
        return pythonify_logs(self.get_metrics_result() if step_logs is None else step_logs)

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
            epochs: int = 1, verbose: Any = "auto",
            callbacks: Optional[Sequence[Callback]] = None, validation_split: float = 0.0,
            validation_data: Optional[tuple] = None, shuffle: bool = True,
            sample_weight: Any = None, initial_epoch: int = 0,
            validation_batch_size: Optional[int] = None) -> History:
        """Trains for ``epochs`` epochs over ``(x, y)`` in batches of ``batch_size`` (32 by
        default), reshuffled every epoch. ``x`` is an array or a list of arrays (several
        inputs); ``y`` may be left out when ``train_step`` needs no targets; ``sample_weight``
        weighs each sample's loss (and the weighted metrics). Each batch goes to
        ``train_step`` (see :mod:`fastdl.models.steps`). Returns a History whose ``.history``
        holds each epoch's logs: the metrics' means over the epoch (``loss``, ``accuracy``,
        and ``val_loss``, ``val_accuracy`` with validation data), or what a custom
        ``train_step`` returned at the epoch's last batch.

        With the built-in step, stops with NonFiniteLossError (a RuntimeError) naming the
        epoch and batch if the loss becomes NaN or infinite; that batch's update is not
        applied.
        """
        self._require_compiled("fit")
        verbose = _verbosity(verbose)
        batch_size = _data.batch_size_or_default("fit", batch_size)
        arrays = self._arrays("fit", x, y, sample_weight)
        if validation_data is None and validation_split:
            arrays, validation_data = _data.split_validation(arrays, validation_split)
        elif validation_data is not None:
            validation_data = self._validation_arrays(validation_data)
        samples = len(arrays[0][0])
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
        with self._layers_listed():
            step = self._train_function()
            hooks.call("on_train_begin", {})
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                hooks.call("on_epoch_begin", epoch, {})
                order = _random.generator().permutation(samples) if shuffle else None
                logs = self._fit_epoch(step, hooks, _data.batches(*arrays, batch_size, order),
                                       f"epoch {epoch + 1}", steps)
                if validation_data is not None:
                    val_logs = self._evaluate_arrays(validation_data,
                                                     validation_batch_size or batch_size)
                    logs.update({"val_" + k: v for k, v in val_logs.items()})
                hooks.call("on_epoch_end", epoch, logs)
                if self.stop_training:
                    break
            hooks.call("on_train_end", {})
        return history

    def _fit_epoch(self, step: BatchStep, hooks: CallbackList, batches: Iterator,
                   epoch: str, steps: int) -> dict:
        """The steps of one epoch (until ``stop_training``); returns the epoch's logs."""
        step_logs = None
        for i, batch in enumerate(batches):
            if hooks.wants_batch_logs:
                hooks.on_train_batch_begin(i, {})
            try:
                step_logs = step(*batch)
            except NonFiniteLossError as error:
                raise NonFiniteLossError(
                    f"fit: the loss became {error.value} at {epoch}, batch {i + 1} of "
                    f"{steps}; the batch was not applied. Lower the learning rate, check the "
                    f"data for NaN/inf, or clip gradients (e.g. "
                    f"optimizer=Adam(clipnorm=1.0))", error.value) from None
            if hooks.wants_batch_logs:
                hooks.on_train_batch_end(i, self._logs_after(step_logs))
            if self.stop_training:
                break
        return self._logs_after(step_logs)

    def _arrays(self, op: str, x: Any, y: Any, sample_weight: Any) -> tuple:
        """(inputs, targets, sample weights) as arrays, checked once for the whole call."""
        xs = _data.as_inputs(op, inputs_in_order(self, x), self.dtype,
                             self._input_dtypes())
        samples = len(xs[0])
        return (xs, _data.as_targets(op, y, samples, self.dtype),
                _data.as_sample_weights(op, sample_weight, samples, self.dtype))

    def _validation_arrays(self, validation_data: Any) -> tuple:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, "
                             "y_val, val_sample_weight)")
        x_val, y_val, *weights = validation_data
        return self._arrays("fit (validation_data)", x_val, y_val, weights[0] if weights else None)

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate_arrays(self, arrays: tuple, batch_size: int) -> dict:
        with self._layers_listed():
            step = self._test_function()
            self.reset_metrics()
            step_logs = None
            for batch in _data.batches(*arrays, batch_size):
                step_logs = step(*batch)
        return self._logs_after(step_logs)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
                 verbose: Any = "auto", sample_weight: Any = None,
                 return_dict: bool = False) -> Any:
        """The loss and metrics over ``(x, y)`` at inference (no graph, ``training=False``),
        each batch through ``test_step``: a dict with ``return_dict=True``, else the values
        in the order of :attr:`metrics` (then the other logs by name), one value alone."""
        self._require_compiled("evaluate")
        verbose = _verbosity(verbose)
        logs = self._evaluate_arrays(self._arrays("evaluate", x, y, sample_weight),
                                     _data.batch_size_or_default("evaluate", batch_size))
        if verbose:
            print(format_logs(logs))
        return self._result(logs, return_dict)

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Any = 0) -> Any:
        """What ``predict_step`` returns for ``x`` (the model's outputs by default), computed
        in batches (32 by default) at inference (no graph, dropout off) and joined along the
        batch axis into arrays, in the structure of the step's output."""
        xs = _data.as_inputs("predict", inputs_in_order(self, x), self.dtype,
                             self._input_dtypes())
        batch_size = _data.batch_size_or_default("predict", batch_size)
        device = self.device
        parts: list = []
        outputs: Any = None
        with no_grad():
            for bx, _, _ in _data.batches(xs, None, None, batch_size):
                outputs = self.predict_step(_data.step_data(bx, None, None, device))
                parts.append(host_arrays(flatten(outputs)))
        if not parts:
            raise ValueError("predict: x holds no samples")
        return pack_like(outputs, [np.concatenate(leaves) for leaves in zip(*parts)])

    # ------------------------------------------------------------------ single batches
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One ``train_step`` on ``(x, y)``; returns that batch's loss and metrics."""
        self._require_compiled("train_on_batch")
        self.reset_metrics()
        try:
            logs = self._train_function()(*self._arrays("train_on_batch", x, y, sample_weight))
        except NonFiniteLossError as error:
            raise NonFiniteLossError(f"train_on_batch: the loss became {error.value}; the "
                                     f"batch was not applied", error.value) from None
        return self._result(self._logs_after(logs), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """The loss and metrics of one batch at inference, through ``test_step``."""
        self._require_compiled("test_on_batch")
        self.reset_metrics()
        logs = self._test_function()(*self._arrays("test_on_batch", x, y, sample_weight))
        return self._result(self._logs_after(logs), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """What ``predict_step`` returns for one batch, at inference, as arrays."""
        xs = _data.as_inputs("predict_on_batch", inputs_in_order(self, x), self.dtype,
                             self._input_dtypes())
        with no_grad():
            outputs = self.predict_step(_data.step_data(xs, None, None, self.device))
        return pack_like(outputs, host_arrays(flatten(outputs)))

    def _result(self, logs: dict, return_dict: bool) -> Any:
        """Keras's return value of evaluate and the batch methods: the dict, or its values in
        the order of :attr:`metrics` (the compiled metrics by their own names) and then the
        other logs by name, one value alone."""
        if return_dict:
            return logs
        names = []
        for m in self.metrics:
            names += m.names if isinstance(m, CompileMetrics) else [m.name]
        values = [logs[n] for n in names if n in logs]
        values += [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values
