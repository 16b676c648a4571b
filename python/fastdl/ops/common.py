"""What the operation modules share: turning arguments into operands, Keras's default dtypes,
NumPy's broadcasting undone for gradients, and axis normalization."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl.backend import array_module, is_gpu_array, kernels_for
from fastdl.tensor import Tensor

#: Keras's default floating dtype: what integer inputs of floating functions become.
FLOATX = np.dtype(np.float32)
#: Keras's default integer dtype: the dtype of indices that operations compute (argmax, top_k).
INDEX_DTYPE = np.dtype(np.int32)


#: The types :func:`operand` passes through as they are (with GPU arrays).
READY_OPERANDS = (Tensor, np.ndarray)


def operand(x: Any) -> Any:
    """``x`` as an operation takes it: a Tensor or an array (NumPy's, or a GPU array) as it is;
    anything else (Python numbers, nested lists) as a NumPy array made as :func:`fastdl.tensor`
    makes one: Python floats become float32.

    >>> operand([1.0, 2.0]).dtype, operand(np.float64(1.0)).dtype
    (dtype('float32'), dtype('float64'))
    """
    if isinstance(x, READY_OPERANDS) or is_gpu_array(x):
        return x
    array = np.asarray(x)
    if array.dtype == np.float64 and not isinstance(x, np.generic):
        return array.astype(np.float32)
    return array


def floating(x: Any) -> Any:
    """An operand as a floating function takes it, as Keras does: floating ones as they are,
    integer and boolean ones (which carry no gradient) as float32 arrays.

    >>> floating(np.array([1, 2])).dtype, floating(np.ones(1)).dtype
    (dtype('float32'), dtype('float64'))
    """
    if x.dtype.kind in "fc":
        return x
    return (x.data if isinstance(x, Tensor) else x).astype(FLOATX)


def _is_number(x: Any) -> bool:
    """A Python number (NumPy's scalars are arrays for promotion, not weak numbers)."""
    return isinstance(x, (int, float, complex)) and not isinstance(x, np.generic)


def operands(a: Any, b: Any) -> tuple:
    """The two operands of a binary operation: a Python number next to a Tensor or an array
    stays a number, so that it takes the other operand's dtype (NumPy's weak scalars); anything
    else goes through :func:`operand`.

    >>> operands(np.ones(2, np.float32), 0.5)
    (array([1., 1.], dtype=float32), 0.5)
    """
    if _is_number(b) and not _is_number(a):
        return operand(a), b
    if _is_number(a) and not _is_number(b):
        return a, operand(b)
    return operand(a), operand(b)


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sums ``grad`` over the axes that broadcasting added or stretched to reach its shape
    from ``shape``.

    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    if not stretched:  # only axes in front were added (a bias's gradient): one column sum
        return kernels_for(grad).sum_leading_axes(grad, lead).reshape(shape)
    axes = tuple(range(lead)) + stretched
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def array_module_of(*values: Any):
    """cupy when one of ``values`` is a GPU array, else numpy."""
    for v in values:
        if is_gpu_array(v):
            return array_module(v)
    return np


def shape_of(x: Any) -> tuple:
    return x.shape if isinstance(x, np.ndarray) else np.shape(x)


def broadcast_error(op: str, a: Any, b: Any) -> ValueError:
    """NumPy's broadcasting error, reworded to name the operation."""
    return ValueError(f"{op}: shapes {shape_of(a)} and {shape_of(b)} do not broadcast together")


def normalize_axis(axis: Any, ndim: int) -> Optional[tuple]:
    """``axis`` (None, an int or a sequence of them, negative ones counting from the end) as a
    tuple of non-negative axes, or None for all of them.

    >>> normalize_axis(-1, 3), normalize_axis((0, -2), 3), normalize_axis(None, 3)
    ((2,), (0, 1), None)
    """
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim if ndim else 0 for a in axes)
