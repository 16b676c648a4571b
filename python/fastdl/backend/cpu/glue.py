"""The CPU side of the small helpers that operations call through the backend module
(:mod:`fastdl.backend.cuda` has the GPU side): dtype harmonization and scattered adds."""
from __future__ import annotations

import numpy as np

__all__ = ["as_float_arrays", "index_add"]

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
