"""A Model's steps, as Keras 3 defines them: ``train_step``, ``test_step`` and
``predict_step`` each take one batch (``data``) and are what ``fit``, ``evaluate`` and
``predict`` call; a subclass overrides them to train its own way, with
:class:`fastdl.GradientTape`, ``compute_loss``, the optimizer and its metrics.

The built-in steps are the ones ``fit`` runs on its arrays directly (no Tensors packed and
unpacked per batch) when nothing they depend on is overridden: ``train_step`` and
``compute_metrics`` (``compute_loss`` is always called). The ``metrics`` property lists what
is reset at the start of each epoch and of ``evaluate``: the loss tracker, the compiled
metrics, and every metric held in an attribute of the model.

>>> import numpy as np, fastdl
>>> from fastdl import keras
>>> class Scaled(keras.Model):
...     def __init__(self):
...         super().__init__()
...         self.dense = keras.layers.Dense(1)
...         self.tracker = keras.metrics.Mean(name="loss")
...     def call(self, x):
...         return self.dense(x)
...     def train_step(self, data):
...         x, y = data
...         with fastdl.GradientTape() as tape:
...             loss = ((self(x, training=True) - y) ** 2).mean()
...         grads = tape.gradient(loss, self.trainable_weights)
...         self.optimizer.apply(grads, self.trainable_weights)
...         self.tracker.update_state(loss)
...         return {"loss": self.tracker.result()}
...     @property
...     def metrics(self):  # reset at the start of each epoch
...         return [self.tracker]
>>> model = Scaled()
>>> model.compile(optimizer="sgd")  # no loss: train_step computes it
>>> history = model.fit(np.ones((8, 2)), np.zeros((8, 1)), epochs=2, verbose=0)
>>> list(history.history), len(history.history["loss"])
(['loss'], 2)
"""
from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Callable

import numpy as np

from fastdl.autograd import no_grad
from fastdl.backend import to_device
from fastdl.layers.nested import map_structure
from fastdl.metrics import Metric
from fastdl.models import data as _data
from fastdl.tensor import Tensor

__all__ = ["StepMixin", "NonFiniteLossError", "model_input", "pythonify_logs"]


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite during training; ``value`` is the loss."""

    def __init__(self, message: str, value: float) -> None:
        super().__init__(message)
        self.value = value


def model_input(xs: list, device: str) -> Any:
    """The batch's arrays as Tensors on the model's device: each batch moves once."""
    inputs = [Tensor(to_device(a, device)) for a in xs]
    return inputs if len(inputs) > 1 else inputs[0]


def pythonify_logs(logs: Mapping) -> dict:
    """Logs as callbacks, History and evaluate give them, as Keras does: in the order of
    their names, one-element values as Python floats, the entries of dict values (a
    ``compile_metrics`` result) merged in, other values as given."""
    out: dict = {}
    for key, value in sorted(logs.items()):
        if isinstance(value, Mapping):
            out.update(pythonify_logs(value))
            continue
        if isinstance(value, Tensor):
            value = to_device(value.data, "cpu")
        if isinstance(value, (int, float, np.number, np.ndarray)) and np.size(value) == 1:
            value = float(value)
        out[key] = value
    return out


def _on(arrays: Any, device: str) -> Any:
    """An array, or a list or dict of them (several outputs' targets), on ``device``."""
    if arrays is None or arrays.__class__ is np.ndarray:  # the usual case, kept cheap
        return None if arrays is None else to_device(arrays, device)
    return map_structure(lambda a: to_device(a, device), arrays)


class StepMixin:
    """Keras 3's per-batch API of a model (mixed into :class:`fastdl.models.Model` through
    its training mixin)."""

    #: Set by compile: whether it was called, the running mean of the loss, the compiled
    #: metrics, and the weights trainable then.
    compiled = False
    _loss_tracker: Any = None
    _compile_metrics: Any = None
    _trainable_snapshot: Any = None
    _listed_layers: Any = None

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self) -> list:
        """The metrics to reset at each epoch and at ``evaluate``: the loss tracker (named
        ``loss``) and the compiled metrics once compiled, the loss of each output of a
        model with several, then every Metric held in an attribute of the model. A subclass
        may override it to list its own."""
        found = [m for m in (self._loss_tracker, self._compile_metrics) if m is not None]
        found += getattr(self.loss, "metrics", [])
        for value in vars(self).values():
            if isinstance(value, Metric) and all(value is not m for m in found):
                found.append(value)
        return found

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Resets every metric of :attr:`metrics`."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict:
        """The current value of every metric of :attr:`metrics` by name (a dict result, the
        compiled metrics', merged in)."""
        logs: dict = {}
        for m in self.metrics:
            result = m.result()
            if isinstance(result, Mapping):
                logs.update(result)
            else:
                logs[m.name] = result
        return logs

    # ------------------------------------------------------------------ loss and metrics
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> Tensor:
        """The compiled loss of ``y_pred`` against ``y`` (weighted by ``sample_weight`` as
        Keras weighs it) plus the sum of each term the layers added in the last forward pass
        (:attr:`losses`). Override it to add terms; ``x`` and ``training`` are there for
        that."""
        total = None if self.loss is None else self.loss(y, y_pred, sample_weight)
        for term in self._added_losses():
            term = term.sum() if isinstance(term, Tensor) else term
            total = term if total is None else total + term
        if total is None:
            raise ValueError(f"{type(self).__name__}.compute_loss: no loss to compute; pass "
                             f"loss= to compile(), or compute the loss in your train_step")
        return total

    def _added_losses(self) -> list:
        """:attr:`losses`, from the layers listed when fit or evaluate started (see
        _layers_listed) rather than by walking the model at every step."""
        if self._listed_layers is None:
            return self.losses
        return [term for layer in self._listed_layers for term in layer._own_losses]

    @contextlib.contextmanager
    def _layers_listed(self) -> Iterator[None]:
        """Lists the model's layers for the steps of one fit or evaluate call."""
        if self._listed_layers is not None:  # evaluate on validation data, inside fit
            yield
            return
        self._listed_layers = self._walk()
        try:
            yield
        finally:
            self._listed_layers = None

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict:
        """Updates the compiled metrics and returns :meth:`get_metrics_result`."""
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    # ------------------------------------------------------------------ the steps
    def train_step(self, data: Any) -> dict:
        """One optimizer step on one batch: the model's outputs, :meth:`compute_loss`, its
        gradient with respect to the weights trainable at compile time, the optimizer's
        update, the loss tracker, then :meth:`compute_metrics`. ``data`` is ``x``, ``(x,)``,
        ``(x, y)`` or ``(x, y, sample_weight)``. Returns the logs: the metrics by name."""
        self._require_compiled("train_step")
        return self._builtin_step(data, self._train_batch)

    def test_step(self, data: Any) -> dict:
        """The loss and metrics of one batch at inference (``training=False``, no graph).
        Returns the logs: the metrics by name."""
        self._require_compiled("test_step")
        return self._builtin_step(data, self._test_batch)

    def _builtin_step(self, data: Any, batch: Callable) -> dict:
        """``batch`` (the training or the inference pass) on ``data`` as the steps receive
        it, then :meth:`compute_metrics`."""
        x, y, sample_weight = _data.unpack_x_y_sample_weight(data)
        y, sample_weight = _data.array_of(y), _data.array_of(sample_weight)
        y_pred = batch(_data.input_arrays(x), y, sample_weight)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for one batch at inference."""
        x, _, _ = _data.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _require_compiled(self, op: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"model {self.name!r}: call compile() before {op}")

    def _overrides(self, *names: str) -> bool:
        """Whether the model's class replaces any of these methods of the built-in steps."""
        return any(getattr(type(self), name) is not getattr(StepMixin, name) for name in names)

    def _checked_logs(self, method: str, logs: Any) -> Mapping:
        if not isinstance(logs, Mapping):
            raise TypeError(f"{type(self).__name__}.{method} must return a dict of logs "
                            f"(metric names to values), got {type(logs).__name__}")
        return logs

    # ------------------------------------------------------------------ built-in, on arrays
    def _trainable_for_step(self, xs: list) -> list:
        """The weights the optimizer updates: those trainable at compile time. The others
        stop requiring grad during the step, so that no gradient is computed for them."""
        if self._trainable_snapshot is None:
            # Compiled before its layers had weights: a call on one sample creates them.
            with no_grad():
                self(model_input([a[:1] for a in xs], self.device), training=False)
            self._trainable_snapshot = self.trainable_weights
        train = self._trainable_snapshot
        if getattr(self, "_grad_flags_for", None) is not train:
            ids = {id(v) for v in train}
            self._grad_flags = [(v, id(v) in ids) for v in self.weights if v.trainable]
            self._grad_flags_for = train
        for v, flag in self._grad_flags:
            v.requires_grad = flag
        return train

    def _train_batch(self, xs: list, y: Any, sample_weight: Any) -> Any:
        """The built-in training step on arrays; returns the outputs. A loss that is not
        finite raises NonFiniteLossError before anything is updated."""
        train = self._trainable_for_step(xs)
        device = train[0].device if train else self.device
        inputs = model_input(xs, device)
        y_pred = self(inputs, training=True)
        loss = self.compute_loss(inputs, _on(y, device), y_pred, _on(sample_weight, device),
                                 training=True)
        value = float(loss.data)
        if not math.isfinite(value):
            raise NonFiniteLossError(f"train_step: the loss became {value}; the batch was not "
                                     f"applied", value)
        if train:
            for v in train:
                v.grad = None
            loss.backward()
            self.optimizer.apply_gradients([(v.grad, v) for v in train])
        else:  # as in Keras: a frozen model still computes its loss and metrics
            warnings.warn(f"train_step: the model {self.name!r} has no trainable weights; "
                          f"nothing is updated")
        self._loss_tracker.update_state(value, len(xs[0]))
        return y_pred

    def _test_batch(self, xs: list, y: Any, sample_weight: Any) -> Any:
        """The built-in test step on arrays; returns the outputs."""
        with no_grad():
            device = self.device
            inputs = model_input(xs, device)
            y_pred = self(inputs, training=False)
            loss = self.compute_loss(inputs, _on(y, device), y_pred,
                                     _on(sample_weight, device), training=False)
        self._loss_tracker.update_state(float(loss.data), len(xs[0]))
        return y_pred

