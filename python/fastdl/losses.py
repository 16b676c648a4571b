"""Losses with Keras's names and semantics.

A loss object, called as ``loss(y_true, y_pred)``, returns the mean over the batch of the
per-sample losses, a scalar Tensor. The functions of the same names
(``sparse_categorical_crossentropy(y_true, y_pred)``) return the per-sample losses.

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before their log, as Keras does. When
``y_pred`` was produced by a softmax (or a sigmoid) in a graph that is being recorded, the
cross-entropies are computed from the logits under it instead, in one fused kernel for integer
labels: the same value, without the clipping, and a gradient that does not pass through the
probabilities.

>>> import fastdl
>>> loss = fastdl.losses.SparseCategoricalCrossentropy()
>>> round(loss([0, 1], fastdl.tensor([[0.9, 0.1], [0.2, 0.8]])).item(), 4)
0.1643
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from fastdl import ops
from fastdl.autograd import Function
from fastdl.backend import array_module, device_of, is_gpu_array
from fastdl.ops.activation import Activation
from fastdl.ops.softmax_family import Softmax
from fastdl.tensor import Tensor

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "mean_squared_error",
           "mean_absolute_error", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "mse", "mae", "get"]

EPSILON = 1e-7


# --------------------------------------------------------------------------- helpers

def _as_tensor(y: Any, dtype: Any = None) -> Tensor:
    if isinstance(y, Tensor):
        return y
    if is_gpu_array(y):
        return Tensor(y if dtype is None else y.astype(dtype, copy=False))
    return Tensor(np.asarray(y, dtype=dtype))


def _target_array(op: str, y_true: Any, y_pred: Tensor, dtype: Any = None):
    """y_true as an array on y_pred's device. Targets already in an array must be there:
    nothing moves between devices implicitly."""
    t = y_true.data if isinstance(y_true, Tensor) else y_true
    if isinstance(t, np.ndarray) or is_gpu_array(t):
        if device_of(t) != y_pred.device:
            raise RuntimeError(f"{op}: y_true is on {device_of(t)} but y_pred is on "
                               f"{y_pred.device}; move y_true with .to('{y_pred.device}')")
    return array_module(y_pred.data).asarray(t, dtype=dtype)


def _matching_target(op: str, y_true: Any, y_pred: Tensor) -> np.ndarray:
    """y_true as an array of y_pred's dtype and shape; (N,) targets for (N, 1) predictions
    get their axis back, as in Keras."""
    t = _target_array(op, y_true, y_pred, y_pred.data.dtype)
    if t.shape != y_pred.shape and t.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        t = t[..., None]
    if t.shape != y_pred.shape:
        raise ValueError(f"{op}: y_true has shape {t.shape} but y_pred has shape "
                         f"{tuple(y_pred.shape)}; they must match")
    return t


def _labels(op: str, y_true: Any, y_pred: Tensor) -> np.ndarray:
    """Integer class labels of shape y_pred.shape[:-1] ((N, 1) is accepted for (N,))."""
    labels = _target_array(op, y_true, y_pred)
    if labels.shape == tuple(y_pred.shape[:-1]) + (1,):
        labels = labels.reshape(labels.shape[:-1])
    if labels.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(f"{op}: y_true has shape {labels.shape} but y_pred has shape "
                         f"{tuple(y_pred.shape)}; expected one integer label per row, shape "
                         f"{tuple(y_pred.shape[:-1])}")
    if labels.dtype.kind == "f":
        if not np.array_equal(labels, np.round(labels)):
            raise ValueError(f"{op}: y_true must hold integer class labels; got "
                             f"non-integral values (one-hot targets go to "
                             f"categorical_crossentropy)")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: y_true must hold integer class labels, got dtype "
                        f"{labels.dtype}")
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{op}: labels must lie in [0, {classes}) for y_pred of shape "
                         f"{tuple(y_pred.shape)}; got values in [{labels.min()}, "
                         f"{labels.max()}]")
    return labels


def _recorded_input(y_pred: Tensor, function: type, **attributes: Any) -> Optional[Tensor]:
    """The input of the recorded operation that made ``y_pred``, if it was ``function`` with
    these attribute values (the logits under a softmax or sigmoid)."""
    node = y_pred._node
    if type(node) is not function or node.parents is None:
        return None
    if any(getattr(node, k, None) != v for k, v in attributes.items()):
        return None
    return node.parents[0]


def _softmax_logits(y_pred: Tensor) -> Optional[Tensor]:
    logits = _recorded_input(y_pred, Softmax, log=False)
    if logits is None or y_pred._node.axis not in (-1, y_pred.ndim - 1):
        return None
    return logits


def _sigmoid_logits(y_pred: Tensor) -> Optional[Tensor]:
    return _recorded_input(y_pred, Activation, name="sigmoid")


class _SigmoidCrossEntropy(Function):
    """Elementwise binary cross-entropy of sigmoid(z) against targets t, from the logits:
    ``max(z, 0) - z t + log(1 + exp(-|z|))``, which neither overflows nor takes log(0)."""

    @staticmethod
    def forward(ctx, z, t):
        if ctx.requires_grad:
            ctx.z, ctx.t = z, t
        return np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))

    @staticmethod
    def backward(ctx, grad):
        sigmoid = 0.5 * (1.0 + np.tanh(0.5 * ctx.z))
        return grad * (sigmoid - ctx.t), None


# --------------------------------------------------------------------------- per-sample losses

def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample mean of the squared errors over the last axis."""
    y_pred = _as_tensor(y_pred)
    diff = y_pred - _matching_target("mean_squared_error", y_true, y_pred)
    return (diff * diff).mean(axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample mean of the absolute errors over the last axis."""
    y_pred = _as_tensor(y_pred)
    return abs(y_pred - _matching_target("mean_absolute_error", y_true, y_pred)).mean(axis=-1)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False) -> Tensor:
    """Per-sample binary cross-entropy, averaged over the last axis."""
    y_pred = _as_tensor(y_pred)
    t = _matching_target("binary_crossentropy", y_true, y_pred)
    logits = y_pred if from_logits else _sigmoid_logits(y_pred)
    if logits is not None:
        return _SigmoidCrossEntropy.apply(logits, t).mean(axis=-1)
    p = y_pred.clip(EPSILON, 1.0 - EPSILON)
    return -(t * p.log() + (1.0 - t) * (1.0 - p).log()).mean(axis=-1)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False) -> Tensor:
    """Per-sample cross-entropy against one-hot (or any probability) targets."""
    y_pred = _as_tensor(y_pred)
    t = _matching_target("categorical_crossentropy", y_true, y_pred)
    logits = y_pred if from_logits else _softmax_logits(y_pred)
    if logits is not None:
        return -(t * ops.log_softmax(logits)).sum(axis=-1)
    # Keras renormalizes the probabilities before clipping them.
    p = (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)
    return -(t * p.log()).sum(axis=-1)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any,
                                    from_logits: bool = False) -> Tensor:
    """Per-sample cross-entropy against integer class labels."""
    y_pred = _as_tensor(y_pred)
    labels = _labels("sparse_categorical_crossentropy", y_true, y_pred)
    logits = y_pred if from_logits else _softmax_logits(y_pred)
    rows = array_module(labels).arange(labels.size).reshape(labels.shape)
    if logits is not None:
        return -ops.log_softmax(logits)[rows, labels]
    return -y_pred.clip(EPSILON, 1.0 - EPSILON)[rows, labels].log()


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


# --------------------------------------------------------------------------- loss objects

class Loss:
    """Base class: ``call(y_true, y_pred)`` gives per-sample losses, ``__call__`` their mean
    (``reduction='sum_over_batch_size'``), their sum (``'sum'``) or themselves (``'none'``)."""

    def __init__(self, name: Optional[str] = None,
                 reduction: str = "sum_over_batch_size") -> None:
        if reduction not in ("sum_over_batch_size", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be "
                             f"'sum_over_batch_size', 'sum' or 'none', got {reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def __call__(self, y_true: Any, y_pred: Any) -> Tensor:
        losses = self.call(y_true, _as_tensor(y_pred))
        if self.reduction == "none":
            return losses
        return losses.sum() if self.reduction == "sum" else losses.mean()

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}


class _FunctionLoss(Loss):
    fn: Callable[..., Tensor]
    takes_logits = False

    def __init__(self, from_logits: bool = False, name: Optional[str] = None,
                 reduction: str = "sum_over_batch_size") -> None:
        super().__init__(name, reduction)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        if self.takes_logits:
            return type(self).fn(y_true, y_pred, self.from_logits)
        return type(self).fn(y_true, y_pred)

    def get_config(self):
        config = super().get_config()
        if self.takes_logits:
            config["from_logits"] = self.from_logits
        return config


class MeanSquaredError(_FunctionLoss):
    fn = staticmethod(mean_squared_error)

    def __init__(self, name: Optional[str] = None, reduction: str = "sum_over_batch_size"):
        super().__init__(False, name, reduction)


class MeanAbsoluteError(_FunctionLoss):
    fn = staticmethod(mean_absolute_error)

    def __init__(self, name: Optional[str] = None, reduction: str = "sum_over_batch_size"):
        super().__init__(False, name, reduction)


class BinaryCrossentropy(_FunctionLoss):
    fn = staticmethod(binary_crossentropy)
    takes_logits = True


class CategoricalCrossentropy(_FunctionLoss):
    fn = staticmethod(categorical_crossentropy)
    takes_logits = True


class SparseCategoricalCrossentropy(_FunctionLoss):
    """Cross-entropy against integer labels.

    With a softmax under ``y_pred`` (or ``from_logits=True``) and the mean reduction, the loss
    and its gradient come from one pass of fastdl's fused softmax-cross-entropy kernel.
    """

    fn = staticmethod(sparse_categorical_crossentropy)
    takes_logits = True

    def __call__(self, y_true, y_pred):
        y_pred = _as_tensor(y_pred)
        if self.reduction == "sum_over_batch_size":
            logits = y_pred if self.from_logits else _softmax_logits(y_pred)
            if logits is not None and logits.ndim == 2:
                labels = y_true.data if isinstance(y_true, Tensor) else y_true
                if not (labels.__class__ is logits.data.__class__ and labels.dtype.kind in "iu"
                        and labels.shape == logits.shape[:1]):
                    labels = _labels("sparse_categorical_crossentropy", y_true, y_pred)
                try:  # the kernel checks integer labels itself (a training loop's case)
                    return ops.softmax_cross_entropy(logits, labels)
                except ValueError:
                    _labels("sparse_categorical_crossentropy", y_true, y_pred)  # says why
                    raise
        return super().__call__(y_true, y_pred)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


_BY_NAME: dict[str, Callable[[], Loss]] = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_FUNCTIONS = {mean_squared_error: "mean_squared_error", mean_absolute_error:
              "mean_absolute_error", binary_crossentropy: "binary_crossentropy",
              categorical_crossentropy: "categorical_crossentropy",
              sparse_categorical_crossentropy: "sparse_categorical_crossentropy"}

LossLike = Union[str, Loss, Callable[..., Tensor]]


def get(identifier: LossLike) -> Callable[[Any, Any], Tensor]:
    """A loss object from a name (Keras's snake_case names or class names), a Loss, one of
    this module's functions, or any callable ``f(y_true, y_pred)`` returning per-sample or
    scalar losses (the mean is taken)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier if identifier in _BY_NAME else _snake(identifier)
        if key not in _BY_NAME:
            raise ValueError(f"unknown loss {identifier!r}; known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[key]()
    if identifier in _FUNCTIONS:
        return _BY_NAME[_FUNCTIONS[identifier]]()
    if callable(identifier):
        return _CallableLoss(identifier)
    raise TypeError(f"a loss must be a name, a Loss or a callable, got {identifier!r}")


class _CallableLoss(Loss):
    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__(getattr(fn, "__name__", "loss"))
        self.fn = fn

    def call(self, y_true, y_pred):
        return _as_tensor(self.fn(y_true, y_pred))
