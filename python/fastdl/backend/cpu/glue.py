"""The CPU side of the small helpers that operations call through the backend module
(:mod:`fastdl.backend.cuda` has the GPU side): dtype harmonization, gathered rows, scattered
adds and the sums a bias's gradient takes."""
from __future__ import annotations

import math

import numpy as np

from fastdl import _C

__all__ = ["as_float_arrays", "index_add", "take_rows", "index_add_rows", "sum_leading_axes"]

_FLOATS = (np.float32, np.float64)


def as_float_arrays(op: str, *arrays) -> list:
    """NumPy arrays with one floating dtype: float32 stays float32, anything mixed with float64
    becomes float64. Non-floating inputs raise TypeError naming ``op``.

    >>> from fastdl.backend import cpu
    >>> [a.dtype.name for a in cpu.as_float_arrays("add", np.ones(2, np.float32), [1.0])]
    ['float64', 'float64']
    """
    out = [a if isinstance(a, np.ndarray) else np.asarray(a) for a in arrays]
    dtypes = {a.dtype for a in out}
    for a in out:
        if a.dtype.type not in _FLOATS:
            shapes = ", ".join(str(x.shape) for x in out)
            raise TypeError(
                f"{op}: unsupported dtype {a.dtype} (operand shapes {shapes}); "
                "expected float32 or float64"
            )
    if len(dtypes) > 1:
        out = [a.astype(np.float64, copy=False) for a in out]
    return out


def index_add(out: np.ndarray, index, values) -> None:
    """``out[index] += values`` in place, with repeated indices adding up."""
    np.add.at(out, index, values)


def take_rows(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``a[index]`` for 1-D indices in ``[0, len(a))``: the rows copied by the kernels'
    threads (IndexError for an index out of bounds).

    >>> from fastdl.backend import cpu
    >>> cpu.take_rows(np.arange(6.0).reshape(3, 2), np.array([2, 0, 2]))
    array([[4., 5.],
           [0., 1.],
           [4., 5.]])
    """
    if index.dtype.kind != "i":
        index = index.astype(np.intp)
    return _C.take_rows(np.ascontiguousarray(a), index)


def sum_leading_axes(a: np.ndarray, lead: int) -> np.ndarray:
    """``a.sum(axis=tuple(range(lead)))``, as a bias's gradient sums its output's: for float
    arrays by fastdl's column sums (a (rows, cols) view, rows being the leading axes), several
    times faster than NumPy's reduction over leading axes and in an order that does not depend
    on the thread count.

    >>> from fastdl.backend import cpu
    >>> cpu.sum_leading_axes(np.ones((2, 3, 4), np.float32), 2)
    array([6., 6., 6., 6.], dtype=float32)
    """
    trailing = a.shape[lead:]
    if a.dtype.type in _FLOATS and a.size > 0:
        return _C.column_sums(a.reshape(-1, math.prod(trailing))).reshape(trailing)
    return a.sum(axis=tuple(range(lead)))


def index_add_rows(out: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """``out[index[i]] += values[i]`` for every i, in place, repeated indices adding up:
    ``out`` of shape (rows, n), ``index`` 1-D, ``values`` of shape (len(index), n).

    For float arrays (an Embedding's gradient) fastdl's kernel adds the rows in the order of
    ``index``, its threads taking ranges of columns, so that the sums do not depend on the
    thread count (a character GPT's (768, 128) gradient into its 76-row table: 21 us with a
    new zeroed table, against 226 us by rounds of NumPy gathers and adds). Other dtypes take
    ``np.add.at``.

    >>> from fastdl.backend import cpu
    >>> out = np.zeros((3, 2))
    >>> cpu.index_add_rows(out, np.array([2, 0, 2]), np.ones((3, 2)))
    >>> out
    array([[1., 1.],
           [0., 0.],
           [2., 2.]])
    """
    if out.dtype.type in _FLOATS and out.flags.c_contiguous and values.dtype == out.dtype:
        _C.index_add_rows(out, index, values)
    else:
        np.add.at(out, index, values)
