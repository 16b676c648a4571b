"""Softmax, log-softmax and fused softmax cross-entropy on the CPU (``fastdl._C``). The kernels
work along the last axis; another axis is moved there and back."""
from __future__ import annotations

import numpy as np

from fastdl import _C
from fastdl.backend.cpu.glue import as_float_arrays
from fastdl.backend.geometry import axis_index

__all__ = ["softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
           "softmax_cross_entropy", "softmax_cross_entropy_with_grad"]


def _straight(x, axis: int) -> bool:
    """Whether ``x`` goes to the kernel as it is: a NumPy array along its last axis (a
    classifier's outputs, every training step); the kernel checks the dtype itself."""
    return type(x) is np.ndarray and x.ndim > 0 and (axis == -1 or axis == x.ndim - 1)


def _along_axis(op: str, kernel, arrays, axis: int) -> np.ndarray:
    """Runs ``kernel`` (which works along the last axis) along ``axis`` of every array."""
    ax = axis_index(op, arrays[0].ndim, axis)
    if ax == arrays[0].ndim - 1:
        return kernel(*arrays)
    out = kernel(*(np.moveaxis(a, ax, -1) for a in arrays))
    return np.moveaxis(out, -1, ax)


def softmax(x, axis: int = -1) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` along ``axis``, with the maximum subtracted first so that any
    finite input gives a finite result.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> np.round(cpu.softmax(np.array([[1.0, 2.0, 3.0]])), 4)
    array([[0.09  , 0.2447, 0.6652]])
    >>> cpu.softmax(np.array([1e4, -1e4], np.float32))
    array([1., 0.], dtype=float32)
    """
    if _straight(x, axis):
        return _C.softmax(x, False)
    (x,) = as_float_arrays("softmax", x)
    return _along_axis("softmax", lambda a: _C.softmax(a, False), (x,), axis)


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """``x - log(sum(exp(x)))`` along ``axis``, computed without overflow.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> np.round(cpu.log_softmax(np.array([0.0, 0.0])), 4)
    array([-0.6931, -0.6931])
    """
    if _straight(x, axis):
        return _C.softmax(x, True)
    (x,) = as_float_arrays("log_softmax", x)
    return _along_axis("log_softmax", lambda a: _C.softmax(a, True), (x,), axis)


def softmax_backward(grad, y, axis: int = -1) -> np.ndarray:
    """Gradient of :func:`softmax` with respect to its input, from the upstream gradient and
    the forward output ``y``: ``y * (grad - sum(grad * y))`` along ``axis``.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> y = cpu.softmax(np.zeros(2))
    >>> cpu.softmax_backward(np.array([1.0, 0.0]), y)
    array([ 0.25, -0.25])
    """
    return _softmax_family_backward("softmax_backward", False, grad, y, axis)


def log_softmax_backward(grad, y, axis: int = -1) -> np.ndarray:
    """Gradient of :func:`log_softmax` with respect to its input, from the upstream gradient
    and the forward output ``y``: ``grad - exp(y) * sum(grad)`` along ``axis``.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> y = cpu.log_softmax(np.zeros(2))
    >>> cpu.log_softmax_backward(np.array([1.0, 0.0]), y)
    array([ 0.5, -0.5])
    """
    return _softmax_family_backward("log_softmax_backward", True, grad, y, axis)


def _softmax_family_backward(op: str, log: bool, grad, y, axis: int) -> np.ndarray:
    if _straight(grad, axis) and type(y) is np.ndarray and y.dtype == grad.dtype:
        return _C.softmax_backward(grad, y, log)
    grad, y = as_float_arrays(op, grad, y)
    return _along_axis(op, lambda g, s: _C.softmax_backward(g, s, log), (grad, y), axis)


def _cross_entropy(logits, labels, with_grad: bool):
    if type(logits) is np.ndarray and type(labels) is np.ndarray:
        # The common case goes straight to the kernel, which validates dtypes and shapes.
        return _C.softmax_cross_entropy(logits, labels, with_grad)
    (logits,) = as_float_arrays("softmax_cross_entropy", logits)
    labels = labels if isinstance(labels, np.ndarray) else np.asarray(labels)
    return _C.softmax_cross_entropy(logits, labels, with_grad)


def softmax_cross_entropy(logits, labels) -> float:
    """Mean cross-entropy of ``softmax(logits)`` (last axis) against integer class labels:
    ``mean(-log_softmax(logits)[..., label])``. ``labels`` has shape ``logits.shape[:-1]`` and
    values in ``[0, logits.shape[-1])``; the probabilities are never materialized.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> round(cpu.softmax_cross_entropy(np.zeros((2, 4), np.float32), [0, 3]), 6)
    1.386294
    """
    loss, _ = _cross_entropy(logits, labels, False)
    return loss


def softmax_cross_entropy_with_grad(logits, labels) -> tuple[float, np.ndarray]:
    """:func:`softmax_cross_entropy` and its gradient with respect to ``logits``,
    ``(softmax(logits) - onehot(labels)) / rows``, from one pass over each row.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> loss, dlogits = cpu.softmax_cross_entropy_with_grad(np.zeros((1, 2)), [1])
    >>> round(loss, 6), dlogits
    (0.693147, array([[ 0.5, -0.5]]))
    """
    return _cross_entropy(logits, labels, True)
