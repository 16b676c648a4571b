"""Tensors made from a shape, a range or labels, with Keras's arguments and default dtypes
(float32, or int32 for integer ranges): zeros, ones, full, eye, arange, linspace, one_hot and
the ``*_like`` forms, which follow their input's dtype and device. None of them is
differentiable. (:func:`fastdl.zeros` and its siblings take a device and ``requires_grad``.)

>>> import fastdl
>>> fastdl.ops.zeros((2, 3)).dtype, fastdl.ops.arange(3).dtype
(dtype('float32'), dtype('int32'))
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from fastdl.backend import array_module
from fastdl.ops.common import FLOATX, INDEX_DTYPE, operand
from fastdl.tensor import Tensor

Shape = Union[int, Sequence[int]]


def _shape(shape: Shape) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)


def _dtype(dtype: Any, default: Any = FLOATX) -> np.dtype:
    return np.dtype(default if dtype is None else dtype)


def _array(x: Any) -> Any:
    """The array of a Tensor, an array as it is, anything else as a NumPy array."""
    x = operand(x)
    return x.data if isinstance(x, Tensor) else x


def zeros(shape: Shape, dtype: Any = None) -> Tensor:
    """Zeros of ``shape`` (float32 unless ``dtype`` says otherwise).

    >>> import fastdl
    >>> fastdl.ops.zeros(2)
    tensor([0., 0.])
    """
    return Tensor(np.zeros(_shape(shape), _dtype(dtype)))


def ones(shape: Shape, dtype: Any = None) -> Tensor:
    """Ones of ``shape`` (float32 unless ``dtype`` says otherwise).

    >>> import fastdl
    >>> fastdl.ops.ones((2, 1), dtype="int32")
    tensor([[1],
            [1]], dtype=int32)
    """
    return Tensor(np.ones(_shape(shape), _dtype(dtype)))


def full(shape: Shape, fill_value: Any, dtype: Any = None) -> Tensor:
    """``fill_value`` everywhere in ``shape`` (float32 unless ``dtype`` says otherwise).

    >>> import fastdl
    >>> fastdl.ops.full((2,), 3)
    tensor([3., 3.])
    """
    return Tensor(np.full(_shape(shape), fill_value, _dtype(dtype)))


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    """Zeros of the shape of ``x``, in its dtype (unless ``dtype`` is given) and on its device.

    >>> import fastdl
    >>> fastdl.ops.zeros_like(fastdl.ops.arange(3))
    tensor([0, 0, 0], dtype=int32)
    """
    data = _array(x)
    return Tensor(array_module(data).zeros(data.shape, _dtype(dtype, data.dtype)))


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    """Ones of the shape of ``x``, in its dtype (unless ``dtype`` is given) and on its device.

    >>> import fastdl
    >>> fastdl.ops.ones_like([[1.0, 2.0]])
    tensor([[1., 1.]])
    """
    data = _array(x)
    return Tensor(array_module(data).ones(data.shape, _dtype(dtype, data.dtype)))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    """``fill_value`` in the shape of ``x``, in its dtype (unless ``dtype`` is given) and on its
    device.

    >>> import fastdl
    >>> fastdl.ops.full_like(fastdl.ops.arange(2), 3.7)
    tensor([3, 3], dtype=int32)
    """
    data = _array(x)
    return Tensor(array_module(data).full(data.shape, fill_value, _dtype(dtype, data.dtype)))


def eye(N: int, M: Optional[int] = None, k: int = 0, dtype: Any = None) -> Tensor:  # noqa: N803
    """The ``N`` x ``M`` matrix (``M`` defaults to ``N``) with ones on diagonal ``k`` (above
    the main one for positive ``k``).

    >>> import fastdl
    >>> fastdl.ops.eye(2, 3, k=1)
    tensor([[0., 1., 0.],
            [0., 0., 1.]])
    """
    return Tensor(np.eye(N, M, k, dtype=_dtype(dtype)))


def arange(start: float, stop: Optional[float] = None, step: Optional[float] = None,
           dtype: Any = None) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (``[0, start)`` without ``stop``) by ``step``
    (1 by default): int32 when every bound is an integer, else float32, unless ``dtype`` says.

    >>> import fastdl
    >>> fastdl.ops.arange(1, 7, 2)
    tensor([1, 3, 5], dtype=int32)
    >>> fastdl.ops.arange(0, 1, 0.25)
    tensor([0.  , 0.25, 0.5 , 0.75])
    """
    bounds = [v for v in (start, stop, step) if v is not None]
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in bounds)
        dtype = INDEX_DTYPE if integral else FLOATX
    if stop is None:
        start, stop = 0, start
    return Tensor(np.arange(start, stop, 1 if step is None else step, dtype=np.dtype(dtype)))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0) -> Union[Tensor, tuple]:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included when ``endpoint``);
    with array bounds, one such range per element, along ``axis`` of the result. float32
    unless a bound is an array of another floating dtype or ``dtype`` says; with ``retstep``,
    ``(values, step)``.

    >>> import fastdl
    >>> fastdl.ops.linspace(0, 1, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> fastdl.ops.linspace(0, 1, 4, endpoint=False, retstep=True)
    (tensor([0.  , 0.25, 0.5 , 0.75]), tensor(0.25))
    """
    if dtype is None:
        floating = [b.dtype for b in (start, stop) if getattr(b, "dtype", None) is not None
                    and b.dtype.kind == "f"]
        dtype = np.result_type(FLOATX, *floating)
    start, stop = (b.data if isinstance(b, Tensor) else b for b in (start, stop))
    values, step = np.linspace(start, stop, num, endpoint, retstep=True, dtype=dtype, axis=axis)
    values = Tensor(values)
    return (values, Tensor(np.asarray(step, values.dtype))) if retstep else values


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None,
            sparse: bool = False) -> Tensor:
    """Integer labels as one-hot vectors of ``num_classes`` entries, on a new axis ``axis`` of
    the result (the last by default), float32 unless ``dtype`` says. A label outside
    ``[0, num_classes)`` gives a vector of zeros.

    >>> import fastdl
    >>> fastdl.ops.one_hot([0, 2, -1], 3)
    tensor([[1., 0., 0.],
            [0., 0., 1.],
            [0., 0., 0.]])
    """
    if sparse:
        raise ValueError("one_hot: fastdl has no sparse tensors")
    labels = _array(x)
    if labels.dtype.kind not in "iuf":
        raise TypeError(f"one_hot: labels must be numbers; got dtype {labels.dtype}")
    xp = array_module(labels)
    classes = xp.arange(int(num_classes))
    hot = (labels.astype(np.int64)[..., None] == classes).astype(_dtype(dtype))
    if not -hot.ndim <= axis < hot.ndim:
        raise ValueError(f"one_hot: axis {axis} is out of range for a result of "
                         f"{hot.ndim} dimensions")
    return Tensor(xp.moveaxis(hot, -1, axis))
