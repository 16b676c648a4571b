"""Ways to make tensors. float32 is the default floating dtype; NumPy arrays keep theirs."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from fastdl import random as _random
from fastdl.backend import array_library, array_module, parse_device, to_device
from fastdl.tensor import Tensor

Shape = Union[int, Sequence[int]]


def _shape(shape: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def _dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.float32 if dtype is None else dtype)


def _array_library(op: str, device: str):
    """numpy or cupy, for arrays made directly on ``device``."""
    return array_library(parse_device(op, device))


def _on(op: str, array: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    """A tensor of ``array`` (made on the host) on ``device``."""
    return Tensor(to_device(array, parse_device(op, device)), requires_grad)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           device: Optional[str] = None) -> Tensor:
    """A tensor holding a copy of ``data``, on ``device`` (``'cpu'`` or ``'cuda'``; by default
    where ``data`` is: the CPU for anything but a GPU array or tensor).

    Python floats become float32, Python ints int64; a NumPy array keeps its dtype (float64
    stays float64) unless ``dtype`` is given.

    >>> import fastdl
    >>> fastdl.tensor([[1.0, 2.0]]).dtype
    dtype('float32')
    >>> fastdl.tensor([1, 2]).dtype
    dtype('int64')
    """
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "__cuda_array_interface__"):
        xp = array_module(data)
        array = xp.array(data, dtype=dtype)
        return Tensor(to_device(array, parse_device("tensor", device or "cuda")), requires_grad)
    if dtype is not None:
        array = np.array(data, dtype=dtype)
    else:
        array = np.array(data)
        if not isinstance(data, (np.ndarray, np.generic)) and array.dtype == np.float64:
            array = array.astype(np.float32)
    return _on("tensor", array, device or "cpu", requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy).

    >>> import numpy as np, fastdl
    >>> a = np.zeros(2, np.float32)
    >>> t = fastdl.from_numpy(a); a[0] = 5
    >>> t
    tensor([5., 0.])
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


_DLPACK_CUDA = 2  # DLDeviceType kDLCUDA


def from_dlpack(obj: Any) -> Tensor:
    """A tensor sharing memory with any object that implements the DLPack protocol: a GPU
    tensor for one in GPU memory (a PyTorch CUDA tensor, say), else a CPU tensor."""
    if obj.__dlpack_device__()[0] == _DLPACK_CUDA:
        from fastdl.backend.cuda import runtime
        return Tensor(runtime.cupy().from_dlpack(obj))
    return Tensor(np.from_dlpack(obj))


def zeros(*shape: Shape, dtype: Any = None, requires_grad: bool = False,
          device: str = "cpu") -> Tensor:
    """>>> import fastdl; fastdl.zeros(2, 3).shape
    (2, 3)
    """
    xp = _array_library("zeros", device)
    return Tensor(xp.zeros(_shape(shape), _dtype(dtype)), requires_grad)


def ones(*shape: Shape, dtype: Any = None, requires_grad: bool = False,
         device: str = "cpu") -> Tensor:
    """>>> import fastdl; fastdl.ones(2)
    tensor([1., 1.])
    """
    xp = _array_library("ones", device)
    return Tensor(xp.ones(_shape(shape), _dtype(dtype)), requires_grad)


def full(shape: Shape, value: float, dtype: Any = None, requires_grad: bool = False,
         device: str = "cpu") -> Tensor:
    """>>> import fastdl; fastdl.full((2,), 7.0)
    tensor([7., 7.])
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(_array_library("full", device).full(shape, value, _dtype(dtype)), requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros with the shape, dtype (unless given) and device of ``t``."""
    data = t.data if isinstance(t, Tensor) else t
    data = data if hasattr(data, "shape") else np.asarray(data)
    return Tensor(array_module(data).zeros(data.shape, dtype or data.dtype), requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones with the shape, dtype (unless given) and device of ``t``."""
    data = t.data if isinstance(t, Tensor) else t
    data = data if hasattr(data, "shape") else np.asarray(data)
    return Tensor(array_module(data).ones(data.shape, dtype or data.dtype), requires_grad)


def arange(start: float, stop: Optional[float] = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False, device: str = "cpu") -> Tensor:
    """Evenly spaced values in [start, stop): int64 for integer arguments, else float32.

    >>> import fastdl; fastdl.arange(3)
    tensor([0, 1, 2])
    """
    values = np.arange(start, stop, step) if stop is not None else np.arange(start, step=step)
    if dtype is None and values.dtype == np.float64:
        dtype = np.float32
    values = values.astype(dtype) if dtype is not None else values
    return _on("arange", values, device, requires_grad)


def rand(*shape: Shape, dtype: Any = None, requires_grad: bool = False,
         device: str = "cpu") -> Tensor:
    """Uniform on [0, 1), from fastdl's generator (:func:`fastdl.manual_seed`); drawn on the
    host, so that a seed gives the same values on every device."""
    dt = _dtype(dtype)
    return _on("rand", _random.generator().random(_shape(shape), dtype=dt), device,
               requires_grad)


def randn(*shape: Shape, dtype: Any = None, requires_grad: bool = False,
          device: str = "cpu") -> Tensor:
    """Standard normal, from fastdl's generator (:func:`fastdl.manual_seed`); drawn on the
    host, so that a seed gives the same values on every device."""
    dt = _dtype(dtype)
    return _on("randn", _random.generator().standard_normal(_shape(shape), dtype=dt), device,
               requires_grad)
