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
from fastdl.ops.common import operand
from fastdl.ops.softmax_family import Softmax
from fastdl.tensor import Tensor

__all__ = ["Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError",
           "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "mean_squared_error",
           "mean_absolute_error", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "mse", "mae", "get"]

EPSILON = 1e-7


# --------------------------------------------------------------------------- helpers

def _as_tensor(y: Any) -> Tensor:
    """Predictions as a Tensor: arrays keep their dtype, Python lists of floats are float32
    (as ``fastdl.tensor`` makes them)."""
    if isinstance(y, Tensor):
        return y
    if isinstance(y, (list, tuple, dict)) and any(
            isinstance(one, Tensor) for one in (y.values() if isinstance(y, dict) else y)):
        raise ValueError(f"a loss was given {len(y)} predictions (a {type(y).__name__} of "
                         f"tensors); compile a model with several outputs with one loss per "
                         f"output: a list, or a dict by output name")
    return Tensor(operand(y))


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
    """Mean of the squared errors over the last axis: one loss per sample (per position of
    a sequence or an image), as in Keras.

    >>> import fastdl
    >>> fastdl.losses.mean_squared_error([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]])
    tensor([0.5, 0. ])
    """
    y_pred = _as_tensor(y_pred)
    diff = y_pred - _matching_target("mean_squared_error", y_true, y_pred)
    return (diff * diff).mean(axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """Mean of the absolute errors over the last axis."""
    y_pred = _as_tensor(y_pred)
    return abs(y_pred - _matching_target("mean_absolute_error", y_true, y_pred)).mean(axis=-1)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0) -> Tensor:
    """Binary cross-entropy of each output, averaged over the last axis: on images of
    shape (N, H, W, C), the mean over the channels of each pixel, shape (N, H, W).
    ``label_smoothing`` moves the targets towards 0.5 by that fraction.

    >>> import numpy as np, fastdl
    >>> images = np.full((2, 4, 4, 1), 0.5, np.float32)
    >>> fastdl.losses.binary_crossentropy(images, images).shape
    (2, 4, 4)
    """
    y_pred = _as_tensor(y_pred)
    t = _smoothed(_matching_target("binary_crossentropy", y_true, y_pred), label_smoothing, 2)
    logits = y_pred if from_logits else _sigmoid_logits(y_pred)
    if logits is not None:
        return _SigmoidCrossEntropy.apply(logits, t).mean(axis=-1)
    p = y_pred.clip(EPSILON, 1.0 - EPSILON)
    return -(t * p.log() + (1.0 - t) * (1.0 - p).log()).mean(axis=-1)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy against one-hot (or any probability) targets along the last axis.
    ``label_smoothing`` mixes that fraction of the uniform distribution into the
    targets."""
    y_pred = _as_tensor(y_pred)
    t = _matching_target("categorical_crossentropy", y_true, y_pred)
    t = _smoothed(t, label_smoothing, y_pred.shape[-1])
    logits = y_pred if from_logits else _softmax_logits(y_pred)
    if logits is not None:
        return -(t * ops.log_softmax(logits)).sum(axis=-1)
    return -(t * _probabilities(y_pred).log()).sum(axis=-1)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any,
                                    from_logits: bool = False) -> Tensor:
    """Cross-entropy against integer class labels (one per row of the last axis, so that
    ``y_true`` has the shape of ``y_pred`` without its last axis)."""
    y_pred = _as_tensor(y_pred)
    labels = _labels("sparse_categorical_crossentropy", y_true, y_pred)
    logits = y_pred if from_logits else _softmax_logits(y_pred)
    scores = ops.log_softmax(logits) if logits is not None else _probabilities(y_pred)
    rows = scores.reshape(-1, scores.shape[-1])  # one row per label, whatever the rank
    flat = labels.reshape(-1)
    picked = rows[array_module(flat).arange(flat.size), flat].reshape(labels.shape)
    return -picked if logits is not None else -picked.log()


def _probabilities(y_pred: Tensor) -> Tensor:
    """Keras's categorical probabilities: renormalized along the last axis, then clipped."""
    return (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)


def _smoothed(targets: Any, label_smoothing: float, classes: int) -> Any:
    if not label_smoothing:
        return targets
    return targets * (1.0 - label_smoothing) + label_smoothing / classes


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


# --------------------------------------------------------------------------- weights, reduction

_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none", None)


def _aligned(op: str, weights: Any, losses: Tensor) -> Any:
    """``weights`` with the rank of ``losses`` where a trailing axis of 1 is all that
    differs, as Keras aligns sample weights and masks with per-sample losses."""
    if weights.ndim == losses.ndim + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    elif losses.ndim == weights.ndim + 1 and losses.shape[-1] == 1:
        weights = weights[..., None]
    try:
        np.broadcast_shapes(weights.shape, losses.shape)  # shapes only: any device
    except ValueError:
        raise ValueError(f"{op}: sample_weight of shape {weights.shape} does not fit the "
                         f"per-sample losses of shape {tuple(losses.shape)}") from None
    return weights


def _loss_weights(loss: "Loss", losses: Tensor, sample_weight: Any, mask: Any) -> Any:
    """The weights of the per-sample losses: ``sample_weight`` times the predictions' mask.
    For a mean, the mask is scaled so that the masked entries leave the mean of the others
    unchanged (Keras's rule)."""
    weights = None
    if mask is not None:
        kept = _aligned(loss.name, mask.data.astype(losses.data.dtype), losses)
        count = float(kept.sum())
        if loss.reduction in ("sum_over_batch_size", "mean") and count:
            kept = kept * (kept.size / count)
        weights = kept
    if sample_weight is not None:
        given = _aligned(loss.name, _target_array(loss.name, sample_weight, losses,
                                                  losses.data.dtype), losses)
        weights = given if weights is None else weights * given
    return weights


def _reduced(losses: Tensor, weights: Any, reduction: Optional[str]) -> Tensor:
    if weights is None:
        if reduction is None or reduction == "none":
            return losses
        return losses.sum() if reduction == "sum" else losses.mean()
    losses = losses * weights
    if reduction is None or reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    divisor = float(weights.sum()) if reduction == "mean_with_sample_weight" else \
        losses.data.size
    return total / divisor if divisor else total * 0.0


# --------------------------------------------------------------------------- loss objects

class Loss:
    """Base class of losses: ``call(y_true, y_pred)`` gives the losses (per sample, or
    already reduced); calling the object weights them by ``sample_weight`` and by the mask
    the predictions carry, then reduces them by ``reduction``: ``'sum_over_batch_size'``
    (the mean, the default), ``'mean'`` (the same), ``'mean_with_sample_weight'`` (the sum
    divided by the sum of the weights), ``'sum'``, or ``'none'`` / None (unreduced).

    >>> import fastdl
    >>> class Squared(fastdl.losses.Loss):
    ...     def call(self, y_true, y_pred):
    ...         return ((y_pred - y_true) ** 2).sum(axis=-1)
    >>> loss = Squared()
    >>> y_true, y_pred = fastdl.tensor([[1.0], [3.0]]), fastdl.tensor([[0.0], [0.0]])
    >>> loss.name, loss(y_true, y_pred, sample_weight=[1, 0])
    ('squared', tensor(0.5))
    """

    def __init__(self, name: Optional[str] = None,
                 reduction: Optional[str] = "sum_over_batch_size") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{', '.join(map(repr, _REDUCTIONS))}; received {reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = _as_tensor(y_pred)
        losses = _as_tensor(self.call(y_true, y_pred))
        mask = y_pred._keras_mask
        weights = None if sample_weight is None and mask is None else \
            _loss_weights(self, losses, sample_weight, mask)
        return _reduced(losses, weights, self.reduction)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}


class LossFunctionWrapper(Loss):
    """A Loss made of a per-sample loss function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn: Callable[..., Tensor], reduction: Optional[str] =
                 "sum_over_batch_size", name: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(name or getattr(fn, "__name__", None), reduction)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._fn_kwargs}


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "mean_squared_error") -> None:
        super().__init__(mean_squared_error, reduction, name)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "mean_absolute_error") -> None:
        super().__init__(mean_absolute_error, reduction, name)


class _CrossEntropy(LossFunctionWrapper):
    """A cross-entropy: of probabilities, or of logits with ``from_logits=True``."""

    @property
    def from_logits(self) -> bool:
        return self._fn_kwargs["from_logits"]

    @from_logits.setter
    def from_logits(self, value: bool) -> None:
        self._fn_kwargs["from_logits"] = bool(value)


class BinaryCrossentropy(_CrossEntropy):
    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, *,
                 reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "binary_crossentropy") -> None:
        super().__init__(binary_crossentropy, reduction, name, from_logits=bool(from_logits),
                         label_smoothing=float(label_smoothing))


class CategoricalCrossentropy(_CrossEntropy):
    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, *,
                 reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "categorical_crossentropy") -> None:
        super().__init__(categorical_crossentropy, reduction, name,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing))


class SparseCategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy against integer labels.

    With a softmax under ``y_pred`` (or ``from_logits=True``), the mean reduction and no
    sample weights or mask, the loss and its gradient come from one pass of fastdl's fused
    softmax-cross-entropy kernel.
    """

    def __init__(self, from_logits: bool = False, *,
                 reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy") -> None:
        super().__init__(sparse_categorical_crossentropy, reduction, name,
                         from_logits=bool(from_logits))

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = _as_tensor(y_pred)
        if (self.reduction == "sum_over_batch_size" and sample_weight is None
                and y_pred._keras_mask is None):
            logits = y_pred if self.from_logits else _softmax_logits(y_pred)
            # Any rank: a sequence model's (batch, steps, classes) as well as (batch, classes).
            if logits is not None and logits.ndim >= 2:
                labels = y_true.data if isinstance(y_true, Tensor) else y_true
                if not (labels.__class__ is logits.data.__class__ and labels.dtype.kind in "iu"
                        and labels.shape == logits.shape[:-1]):
                    labels = _labels("sparse_categorical_crossentropy", y_true, y_pred)
                try:  # the kernel checks integer labels itself (a training loop's case)
                    return ops.softmax_cross_entropy(logits, labels)
                except ValueError:
                    _labels("sparse_categorical_crossentropy", y_true, y_pred)  # says why
                    raise
        return super().__call__(y_true, y_pred, sample_weight)


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


def get(identifier: LossLike) -> Callable[..., Tensor]:
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
        return LossFunctionWrapper(identifier)
    raise TypeError(f"a loss must be a name, a Loss or a callable, got {identifier!r}")
