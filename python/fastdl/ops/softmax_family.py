"""The softmax family on fastdl's kernels: softmax, log_softmax (along one axis, or several as
Keras allows), and the fused softmax cross-entropy that the losses use for integer labels."""
from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module, kernels_for
from fastdl.backend.geometry import axis_index
from fastdl.ops.common import operand
from fastdl.ops.shaping import Reshape, Transpose
from fastdl.tensor import Tensor

Axis = Union[int, Sequence[int]]


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis, log):
        kernels = kernels_for(x)
        out = kernels.log_softmax(x, axis) if log else kernels.softmax(x, axis)
        if ctx.requires_grad:
            ctx.out, ctx.axis, ctx.log = out, axis, log
        return out

    @staticmethod
    def backward(ctx, grad):
        kernels = kernels_for(grad)
        backward = kernels.log_softmax_backward if ctx.log else kernels.softmax_backward
        return backward(grad, ctx.out, ctx.axis), None, None


class SoftmaxCrossEntropy(Function):
    """Mean cross-entropy of softmax(logits) against integer labels; the gradient comes from
    the same pass as the loss."""

    @staticmethod
    def forward(ctx, logits, labels):
        kernels = kernels_for(logits)
        if ctx.requires_grad:
            loss, ctx.dlogits = kernels.softmax_cross_entropy_with_grad(logits, labels)
        else:
            loss = kernels.softmax_cross_entropy(logits, labels)
        return array_module(logits).asarray(loss, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        return ctx.dlogits * grad, None


def _softmax(op: str, x: Any, axis: Axis, log: bool) -> Tensor:
    """The kernel along one axis; several axes are moved last and merged into one for it."""
    x = operand(x)
    if isinstance(axis, (int, np.integer)):
        return Softmax.apply(x, axis, log)
    axes = tuple(axis_index(op, x.ndim, a) for a in axis)
    others = tuple(i for i in range(x.ndim) if i not in axes)
    moved = Transpose.apply(x, axes=others + axes)
    merged = Reshape.apply(moved, shape=tuple(moved.shape[:len(others)]) + (-1,))
    out = Reshape.apply(Softmax.apply(merged, -1, log), shape=tuple(moved.shape))
    return Transpose.apply(out, axes=tuple(int(i) for i in np.argsort(others + axes)))


def softmax(x: Any, axis: Axis = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (or over several axes together), with the
    maximum subtracted first so that any finite input gives a finite result.

    >>> import fastdl
    >>> fastdl.softmax([[1.0, 2.0, 3.0]]).numpy().round(4)
    array([[0.09  , 0.2447, 0.6652]], dtype=float32)
    >>> fastdl.softmax([1e4, -1e4])
    tensor([1., 0.])
    >>> fastdl.softmax([[0.0, 0.0], [0.0, 0.0]], axis=(0, 1))
    tensor([[0.25, 0.25],
            [0.25, 0.25]])
    """
    return _softmax("softmax", x, axis, False)


def log_softmax(x: Any, axis: Axis = -1) -> Tensor:
    """``x - log(sum(exp(x)))`` along ``axis`` (or over several axes together), computed
    without overflow.

    >>> import fastdl
    >>> fastdl.log_softmax([0.0, 0.0]).numpy().round(4)
    array([-0.6931, -0.6931], dtype=float32)
    """
    return _softmax("log_softmax", x, axis, True)


def softmax_cross_entropy(logits: Any, labels: Any) -> Tensor:
    """Mean cross-entropy of ``softmax(logits)`` (last axis) against integer class labels,
    ``mean(-log_softmax(logits)[..., label])``, as a 0-d Tensor. ``labels`` has shape
    ``logits.shape[:-1]`` and values in ``[0, logits.shape[-1])``; the probabilities are never
    materialized, and the gradient comes from the same pass over each row.

    >>> import numpy as np, fastdl
    >>> round(float(fastdl.softmax_cross_entropy(np.zeros((2, 4), np.float32), [0, 3])), 6)
    1.386294
    """
    return SoftmaxCrossEntropy.apply(operand(logits), labels)
