"""Softmax, log-softmax and fused softmax cross-entropy on the GPU (``fastdl._cuda``), the
signatures of :mod:`fastdl.backend.cpu`'s.

The losses stay on the device: :func:`softmax_cross_entropy` returns a 0-d float32 CuPy array
where the CPU returns a Python float, so that a training step never waits for the GPU. For the
same reason the labels are not checked on the host: a label outside ``[0, classes)`` makes its
row's loss, and so the mean, NaN, and its gradient row NaN.
"""
from __future__ import annotations

import math

import numpy as np

from fastdl.backend.cuda import runtime
from fastdl.backend.geometry import axis_index

__all__ = ["softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
           "softmax_cross_entropy", "softmax_cross_entropy_with_grad"]


def _along_axis(op: str, kernel, arrays, axis: int):
    """Runs `kernel` (which works along the last axis) along `axis` of every array, after making
    them C-contiguous float32 GPU arrays. The rank is checked first: the conversion would turn a
    0-d array into a 1-d one."""
    ax = axis_index(op, np.ndim(arrays[0]), axis)
    arrays = runtime.float32_operands(op, *arrays)
    if ax == arrays[0].ndim - 1:
        return kernel(*arrays)
    cp = runtime.cupy()
    out = kernel(*(cp.ascontiguousarray(cp.moveaxis(a, ax, -1)) for a in arrays))
    return cp.moveaxis(out, -1, ax)


def _forward(x, log: bool):
    out = runtime.empty(x.shape)
    runtime.kernels().softmax(x, out, log, runtime.stream())
    return out


def softmax(x, axis: int = -1):
    """``exp(x) / sum(exp(x))`` along ``axis``, as :func:`fastdl.backend.cpu.softmax`."""
    return _along_axis("softmax", lambda a: _forward(a, False), (x,), axis)


def log_softmax(x, axis: int = -1):
    """``x - log(sum(exp(x)))`` along ``axis``, as :func:`fastdl.backend.cpu.log_softmax`."""
    return _along_axis("log_softmax", lambda a: _forward(a, True), (x,), axis)


def _backward(op: str, log: bool, grad, y, axis: int):
    def kernel(g, s):
        out = runtime.empty(g.shape)
        runtime.kernels().softmax_backward(g, s, out, log, runtime.stream())
        return out

    return _along_axis(op, kernel, (grad, y), axis)


def softmax_backward(grad, y, axis: int = -1):
    """``y * (grad - sum(grad * y))`` along ``axis``, as
    :func:`fastdl.backend.cpu.softmax_backward`."""
    return _backward("softmax_backward", False, grad, y, axis)


def log_softmax_backward(grad, y, axis: int = -1):
    """``grad - exp(y) * sum(grad)`` along ``axis``, as
    :func:`fastdl.backend.cpu.log_softmax_backward`."""
    return _backward("log_softmax_backward", True, grad, y, axis)


def _labels(op: str, labels):
    """The labels as a C-contiguous int64 or int32 CuPy array."""
    cp = runtime.cupy()
    if not isinstance(labels, cp.ndarray):
        got = "on the CPU" if isinstance(labels, np.ndarray) else f"as a {type(labels).__name__}"
        raise RuntimeError(
            f"{op}: expected the labels on the GPU, got them {got} (shape {np.shape(labels)}); "
            "move them with cupy.asarray first"
        )
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: labels has dtype {labels.dtype} and shape {labels.shape}; expected an "
            "integer array"
        )
    if labels.dtype not in (np.int64, np.int32):
        # Values past INT64_MAX in a uint64 array wrap to negative and get a NaN loss.
        labels = labels.astype(np.int64)
    return cp.ascontiguousarray(labels)


def _cross_entropy(logits, labels, with_grad: bool):
    op = "softmax_cross_entropy"
    axis_index(op, np.ndim(logits), -1)  # rank >= 1, before the conversion makes 0-d 1-d
    (logits,) = runtime.float32_operands(op, logits)
    labels = _labels(op, labels)
    loss = runtime.empty(())
    dlogits = runtime.empty(logits.shape) if with_grad else None
    workspace = runtime.empty((math.prod(logits.shape[:-1]),))
    runtime.kernels().softmax_cross_entropy(logits, labels, loss, dlogits, workspace,
                                            runtime.stream())
    return loss, dlogits


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of ``softmax(logits)`` (last axis) against integer labels of shape
    ``logits.shape[:-1]``, as :func:`fastdl.backend.cpu.softmax_cross_entropy` but returned as a
    0-d float32 array on the GPU."""
    loss, _ = _cross_entropy(logits, labels, False)
    return loss


def softmax_cross_entropy_with_grad(logits, labels):
    """:func:`softmax_cross_entropy` (a 0-d GPU array) and its gradient with respect to
    ``logits``, ``(softmax(logits) - onehot(labels)) / rows``, from one pass over each row."""
    return _cross_entropy(logits, labels, True)
