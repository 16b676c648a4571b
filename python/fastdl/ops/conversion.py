"""Copies between devices and dtypes (:meth:`Tensor.to`, :meth:`Tensor.astype`, cast), with
gradients that flow back to the source's device and dtype, and Keras's conversions between
tensors and other values (convert_to_tensor, convert_to_numpy)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module, device_of, is_gpu_array, to_device
from fastdl.ops.common import FLOATX, INDEX_DTYPE, operand
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


def convert_to_tensor(x: Any, dtype: Any = None, sparse: Optional[bool] = None,
                      ragged: Optional[bool] = None) -> Tensor:
    """``x`` as a Tensor: a Tensor as it is (cast when ``dtype`` differs, differentiably), an
    array (NumPy's or a GPU array) wrapped without a copy, other values (numbers, nested
    lists) with Keras's default dtypes: float32 for floats, int32 for ints. Sparse and ragged
    tensors do not exist here.

    >>> import numpy as np, fastdl
    >>> fastdl.ops.convert_to_tensor([1, 2]).dtype, fastdl.ops.convert_to_tensor(0.5).dtype
    (dtype('int32'), dtype('float32'))
    >>> fastdl.ops.convert_to_tensor(np.ones(2), dtype="float32")
    tensor([1., 1.])
    """
    if sparse or ragged:
        raise ValueError("convert_to_tensor: fastdl has no sparse or ragged tensors")
    if not isinstance(x, Tensor):
        if isinstance(x, (np.ndarray, np.generic)) or is_gpu_array(x):
            x = array_module(x).asarray(x)
        else:
            x = np.asarray(x)
            x = x.astype({"f": FLOATX, "i": INDEX_DTYPE}.get(x.dtype.kind, x.dtype), copy=False)
        x = Tensor(x)
    if dtype is None or np.dtype(dtype) == x.dtype:
        return x
    return Cast.apply(x, dtype=np.dtype(dtype))


def convert_to_numpy(x: Any) -> np.ndarray:
    """``x`` as a NumPy array: a CPU tensor's own array (shared, not copied), a GPU tensor's or
    GPU array's copied to the host, anything else through ``numpy.asarray``.

    >>> import fastdl
    >>> fastdl.ops.convert_to_numpy(fastdl.ones(2))
    array([1., 1.], dtype=float32)
    """
    data = x.data if isinstance(x, Tensor) else x
    return np.asarray(to_device(data, "cpu") if is_gpu_array(data) else data)
