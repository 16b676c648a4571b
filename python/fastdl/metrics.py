"""Metrics: running means over the batches of an epoch, computed on arrays (no graph).

``metrics=['accuracy']`` picks the accuracy that fits the loss, as Keras does: sparse
categorical for integer labels, categorical for one-hot targets, binary for one output.

>>> import numpy as np, fastdl
>>> m = fastdl.metrics.SparseCategoricalAccuracy()
>>> m.update_state([0, 1, 1], np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]))
>>> round(m.result(), 4)
0.6667
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from fastdl import _C
from fastdl.backend import is_gpu_array, to_device
from fastdl.tensor import Tensor

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "MeanAbsoluteError",
           "MeanSquaredError", "accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "mean_absolute_error", "mean_squared_error", "get"]


def _array(y: Any) -> np.ndarray:
    """A NumPy array of ``y``: metrics work on the CPU, whatever the device."""
    data = y.data if isinstance(y, Tensor) else y
    return to_device(data, "cpu") if is_gpu_array(data) else np.asarray(data)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _aligned(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """y_true with y_pred's rank when it lacks only a trailing axis of 1."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        return y_true[..., None]
    return y_true


# --------------------------------------------------------------------------- per-sample values

def accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1 where the prediction equals the target exactly."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    return (_aligned(y_true, y_pred) == y_pred).astype(np.float64)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """Per-sample fraction of outputs on the target's side of ``threshold``."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    hits = _aligned(y_true, y_pred) == (y_pred > threshold)
    return hits.mean(axis=-1)


def categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1 where the arg-max of the prediction is the arg-max of the one-hot target."""
    return (_array(y_true).argmax(axis=-1) == _array(y_pred).argmax(axis=-1)).astype(
        np.float64)


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """True where the arg-max of the prediction is the integer label."""
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim:
        y_true = y_true.reshape(y_true.shape[:-1])
    return y_pred.argmax(axis=-1) == y_true


def mean_absolute_error(y_true: Any, y_pred: Any) -> np.ndarray:
    y_true, y_pred = _array(y_true), _array(y_pred)
    return np.abs(y_pred - _aligned(y_true, y_pred)).mean(axis=-1)


def mean_squared_error(y_true: Any, y_pred: Any) -> np.ndarray:
    y_true, y_pred = _array(y_true), _array(y_pred)
    return np.square(y_pred - _aligned(y_true, y_pred)).mean(axis=-1)


# --------------------------------------------------------------------------- sample weights

def align_weights(weights: np.ndarray, values_ndim: int) -> np.ndarray:
    """``weights`` reshaped to broadcast against values of rank ``values_ndim`` where the
    ranks differ by a trailing axis of 1 (weights ``(N, 1)`` for values ``(N,)``, or ``(N,)``
    for ``(N, 1)``), as Keras matches them.

    >>> from fastdl.metrics import align_weights
    >>> align_weights(np.ones((4, 1)), 1).shape, align_weights(np.ones(4), 2).shape
    ((4,), (4, 1))
    """
    if weights.ndim == values_ndim + 1 and weights.shape[-1] == 1:
        return weights.reshape(weights.shape[:-1])
    if values_ndim == weights.ndim + 1 and weights.ndim >= 1:
        return weights[..., None]
    return weights


# --------------------------------------------------------------------------- streaming metrics

class Metric:
    """Base class: ``update_state(y_true, y_pred, sample_weight=None)``, ``result()``,
    ``reset_state()``."""

    def __init__(self, name: Optional[str] = None) -> None:
        self.name = name or _snake(type(self).__name__)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define update_state")

    def result(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define result")

    def reset_state(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define reset_state")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.update_state(*args, **kwargs)
        return self.result()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The running (weighted) mean of the values it is given, as Keras computes it: each
    sample's values are averaged first, then the samples weigh ``sample_weight`` each (1 by
    default). A loss tracker is ``Mean(name="loss")``.

    >>> from fastdl.metrics import Mean
    >>> tracker = Mean(name="loss")
    >>> tracker.update_state(2.0); tracker.update_state([[1.0, 3.0], [5.0, 7.0]])
    >>> tracker.result()  # (2 + 2 + 6) / 3 samples
    3.3333333333333335
    >>> tracker.update_state([1.0, 0.0], sample_weight=[0.0, 3.0])
    >>> tracker.result()  # (2 + 2 + 6 + 0) / (3 + 3)
    1.6666666666666667
    """

    def __init__(self, name: Optional[str] = None) -> None:
        super().__init__(name or "mean")
        self.reset_state()

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        if sample_weight is None or isinstance(sample_weight, (int, float)):
            # A loss tracker's case: one number per batch (a float, or a loss Tensor).
            if isinstance(values, Tensor):
                values = _array(values)
            if isinstance(values, (int, float, np.floating)) or (
                    isinstance(values, np.ndarray) and values.ndim == 0):
                weight = 1.0 if sample_weight is None else float(sample_weight)
                self.total += float(values) * weight
                self.count += weight
                return
        values = np.asarray(_array(values), dtype=np.float64)
        if sample_weight is None:
            weights = None
        else:
            weights = align_weights(np.asarray(_array(sample_weight), np.float64), values.ndim)
            if values.ndim > weights.ndim:  # one value per weight
                values = values.mean(axis=tuple(range(weights.ndim, values.ndim)))
            weights = np.broadcast_to(weights, values.shape)
            values = values * weights
            if weights.ndim > 1:
                weights = weights.mean(axis=tuple(range(1, weights.ndim)))
        if values.ndim > 1:  # one value per sample
            values = values.mean(axis=tuple(range(1, values.ndim)))
        self.total += float(values.sum())
        if weights is not None:
            self.count += float(weights.sum())
        else:
            self.count += len(values) if values.ndim else 1

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0


class MeanMetricWrapper(Mean):
    """The running (weighted) mean of ``fn(y_true, y_pred)`` over every sample seen."""

    def __init__(self, fn: Callable[..., Any], name: Optional[str] = None) -> None:
        super().__init__(name or getattr(fn, "__name__", "metric"))
        self.fn = fn

    def update_state(self, y_true: Any, y_pred: Any,  # type: ignore[override]
                     sample_weight: Any = None) -> None:
        super().update_state(self.fn(y_true, y_pred), sample_weight)


class Accuracy(MeanMetricWrapper):
    def __init__(self, name: str = "accuracy") -> None:
        super().__init__(accuracy, name)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5) -> None:
        super().__init__(lambda t, p: binary_accuracy(t, p, threshold), name)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "categorical_accuracy") -> None:
        super().__init__(categorical_accuracy, name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "sparse_categorical_accuracy") -> None:
        super().__init__(sparse_categorical_accuracy, name)

    def update_state(self, y_true: Any, y_pred: Any,  # type: ignore[override]
                     sample_weight: Any = None) -> None:
        # A batch of class scores and integer labels, unweighted (fit's usual case): the hits
        # counted in one native pass, not argmax, compare, convert and sum in NumPy (a tenth
        # of an MLP's training step).
        if sample_weight is None:
            pred, true = _array(y_pred), _array(y_true)
            if true.ndim == pred.ndim == 2 and true.shape[-1] == 1:
                true = true[:, 0]
            if (pred.ndim == 2 and pred.shape[-1] > 0 and pred.dtype in _FLOATS
                    and true.dtype.kind in "iu" and true.shape == pred.shape[:1]):
                self.total += float(_C.argmax_matches(pred, true))
                self.count += len(true)
                return
        super().update_state(y_true, y_pred, sample_weight)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_error") -> None:
        super().__init__(mean_absolute_error, name)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_error") -> None:
        super().__init__(mean_squared_error, name)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
}

MetricLike = Union[str, Metric, Callable[..., Any]]


def _accuracy_for(loss_name: str, y_true: np.ndarray, output_shape: tuple) -> Callable:
    """Which accuracy 'accuracy' means, decided as Keras decides it."""
    if "sparse_categorical" in loss_name:
        return sparse_categorical_accuracy
    if "categorical" in loss_name:
        return categorical_accuracy
    if "binary" in loss_name or output_shape[-1] == 1:
        return binary_accuracy
    if y_true.ndim == len(output_shape) and y_true.shape[-1] == output_shape[-1]:
        return categorical_accuracy
    return sparse_categorical_accuracy


def get(identifier: MetricLike, loss_name: str = "", y_true: Optional[np.ndarray] = None,
        output_shape: tuple = (None, 2)) -> Metric:
    """A Metric from a name, a Metric (returned as is) or a function of (y_true, y_pred).
    ``'accuracy'`` / ``'acc'`` are resolved from the loss's name, the targets and the
    model's output shape."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            fn = _accuracy_for(loss_name, np.zeros((0,)) if y_true is None else y_true,
                               output_shape)
        elif identifier in _FUNCTIONS:
            fn = _FUNCTIONS[identifier]
        else:
            raise ValueError(f"unknown metric {identifier!r}; known: accuracy, acc, "
                             f"{', '.join(sorted(_FUNCTIONS))}")
        if fn is sparse_categorical_accuracy:
            return SparseCategoricalAccuracy(identifier)
        return MeanMetricWrapper(fn, identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"a metric must be a name, a Metric or a callable, got {identifier!r}")
