"""Copies between devices and dtypes: :meth:`Tensor.to` and :meth:`Tensor.astype`, with
gradients that flow back to the source's device and dtype."""
from __future__ import annotations

from typing import Any

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import device_of, to_device
from fastdl.ops.common import operand
from fastdl.tensor import Tensor


class ToDevice(Function):
    """A copy of the array on another device; the gradient is copied back to the source
    device."""

    @staticmethod
    def forward(ctx, a, device):
        ctx.source = device_of(a)
        return to_device(a, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.source)


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype)


def cast(x: Any, dtype: Any) -> Tensor:
    """A copy with another dtype; differentiable between floating dtypes.

    >>> import fastdl
    >>> fastdl.ops.cast([1.5, 2.5], "float64").dtype
    dtype('float64')
    """
    return Cast.apply(operand(x), dtype=np.dtype(dtype))
