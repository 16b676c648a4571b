"""Arrays in, batches out: how fit, evaluate and predict see their data, and what a
``train_step``, ``test_step`` or ``predict_step`` receives.

>>> import numpy as np
>>> from fastdl.models.data import unpack_x_y_sample_weight
>>> x, y, sample_weight = unpack_x_y_sample_weight((np.ones(2), np.zeros(2)))
>>> sample_weight is None
True
"""
from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import numpy as np

from fastdl import _C
from fastdl.backend import is_gpu_array, to_device
from fastdl.layers.nested import map_structure
from fastdl.tensor import Tensor


def as_inputs(op: str, x: Any, dtype: np.dtype,
              declared: Optional[Sequence[Optional[np.dtype]]] = None) -> list[np.ndarray]:
    """The model's inputs as a list of C-contiguous arrays, converted once, not per batch.

    Floating data becomes ``dtype``, the model's. Integer and boolean data follow the dtype
    the input takes, listed in ``declared`` (None where the model does not say, as a
    subclassed model): an input that takes integers (token ids: ``keras.Input(shape,
    dtype="int32")``, a Sequential model that starts with an Embedding) gets them in its
    dtype; one that takes floats gets them in ``dtype`` (uint8 images); one that does not
    say gets them as they are, as Keras passes them. Floats never become integers here:
    float token ids reach the Embedding, which refuses them.
    """
    if x is None:
        raise ValueError(f"{op}: x is required")
    arrays = list(x) if isinstance(x, (list, tuple)) else [x]
    declared = list(declared or [])
    out = []
    for i, a in enumerate(arrays):
        a = a.data if isinstance(a, Tensor) else np.asarray(a)
        if a.dtype.kind not in "fiub":
            raise TypeError(f"{op}: inputs must be numeric arrays, got dtype {a.dtype}")
        wanted = declared[i] if i < len(declared) else None
        if a.dtype.kind == "f" or (wanted is not None and wanted.kind not in "iub"):
            wanted = dtype
        out.append(np.ascontiguousarray(a, dtype=a.dtype if wanted is None else wanted))
    sizes = {len(a) for a in out}
    if len(sizes) > 1:
        raise ValueError(f"{op}: the inputs have different numbers of samples: "
                         f"{[len(a) for a in out]}")
    return out


def as_targets(op: str, y: Any, samples: int, dtype: np.dtype) -> Any:
    """Targets as an array (floating targets in the model's dtype, integer labels kept), a
    list or dict of them (one per output, given as a list or tuple of arrays or as a dict),
    or None when there are none."""
    if y is None:
        return None
    if isinstance(y, dict) or (isinstance(y, (list, tuple)) and y and all(
            isinstance(one, (np.ndarray, Tensor, list, dict)) or is_gpu_array(one)
            for one in y)):
        return map_structure(lambda one: as_targets(op, one, samples, dtype), y)
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
    if y.dtype.kind == "f" and y.dtype != dtype:
        y = y.astype(dtype)
    if len(y) != samples:
        raise ValueError(f"{op}: x has {samples} samples but y has {len(y)}; they must match")
    return y


def as_sample_weights(op: str, sample_weight: Any, samples: int,
                      dtype: np.dtype) -> Optional[np.ndarray]:
    """One weight per sample (or per sample and time step), in the model's dtype, or None."""
    if sample_weight is None:
        return None
    w = sample_weight.data if isinstance(sample_weight, Tensor) else np.asarray(sample_weight)
    if w.dtype.kind not in "fiub" or w.ndim == 0:
        raise ValueError(f"{op}: sample_weight must be an array with one weight per sample, "
                         f"got {w.dtype} of shape {w.shape}")
    if len(w) != samples:
        raise ValueError(f"{op}: x has {samples} samples but sample_weight has {len(w)}; they "
                         f"must match")
    return w.astype(dtype, copy=False)


def batch_size_or_default(op: str, batch_size: Optional[int], default: int = 32) -> int:
    if batch_size is None:
        return default
    if int(batch_size) <= 0:
        raise ValueError(f"{op}: batch_size must be positive, got {batch_size}")
    return int(batch_size)


def batches(xs: Sequence[np.ndarray], y: Optional[np.ndarray],
            sample_weight: Optional[np.ndarray], batch_size: int,
            order: Optional[np.ndarray] = None) -> Iterator[tuple[list, Any, Any]]:
    """(inputs, targets, sample weights) per batch, in ``order`` (a permutation) or in
    sequence; None for targets or weights there are none of."""
    n = len(xs[0])
    for lo in range(0, n, batch_size):
        if order is None:
            sl = slice(lo, lo + batch_size)
            yield [a[sl] for a in xs], _part(y, sl), _part(sample_weight, sl)
        else:
            idx = order[lo:lo + batch_size]
            yield [_take(a, idx) for a in xs], _taken(y, idx), _taken(sample_weight, idx)


def _part(arrays: Any, sl: slice) -> Any:
    """A slice of the samples of an array, or of each array of a list or dict (targets)."""
    if arrays is None or arrays.__class__ is np.ndarray:  # the usual case, kept cheap
        return None if arrays is None else arrays[sl]
    return map_structure(lambda a: a[sl], arrays)


def _take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The samples ``idx`` of ``a`` (a valid permutation's slice). A C-contiguous array's rows
    are copied by the kernels' threads, whose misses on rows scattered over the whole array
    overlap; NumPy's take copies them one at a time."""
    if a.__class__ is np.ndarray and a.flags.c_contiguous:
        return _C.take_rows(a, idx)
    return a.take(idx, axis=0)


def _taken(arrays: Any, idx: np.ndarray) -> Any:
    if arrays is None or arrays.__class__ is np.ndarray:
        return None if arrays is None else _take(arrays, idx)
    return map_structure(lambda a: _take(a, idx), arrays)


def split_validation(arrays: tuple, fraction: float) -> tuple[tuple, tuple]:
    """Keras's ``validation_split`` of ``(xs, y, sample_weight)`` (y and the weights may be
    None): the last ``fraction`` of the samples, before shuffling."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fit: validation_split must be in (0, 1), got {fraction}")
    xs, y, sample_weight = arrays
    n = len(xs[0])
    cut = int(n * (1.0 - fraction))
    if cut == 0 or cut == n:
        raise ValueError(f"fit: validation_split={fraction} leaves no training or no "
                         f"validation samples out of {n}")
    head, tail = slice(None, cut), slice(cut, None)
    return (([a[head] for a in xs], _part(y, head), _part(sample_weight, head)),
            ([a[tail] for a in xs], _part(y, tail), _part(sample_weight, tail)))


# --------------------------------------------------------------------------- step data

def step_data(xs: list, y: Optional[np.ndarray], sample_weight: Optional[np.ndarray],
              device: str) -> Any:
    """A batch as Keras hands it to the steps, in Tensors on ``device``: the input alone
    (``(inputs,)`` for several), ``(x, y)``, or ``(x, y, sample_weight)``."""
    inputs = [Tensor(to_device(a, device)) for a in xs]
    x = inputs[0] if len(inputs) == 1 else tuple(inputs)
    if y is None and sample_weight is None:
        return x if len(inputs) == 1 else (x,)
    y = None if y is None else map_structure(lambda a: Tensor(to_device(a, device)), y)
    if sample_weight is None:
        return (x, y)
    return (x, y, Tensor(to_device(sample_weight, device)))


def unpack_x_y_sample_weight(data: Any) -> tuple:
    """``(x, y, sample_weight)`` from what a step receives: ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)``, with None for what is missing (Keras's function of the same
    name)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"unpack_x_y_sample_weight: data must be x, (x,), (x, y) or (x, y, "
                     f"sample_weight); got a tuple of {len(data)}")


def input_arrays(x: Any) -> list:
    """The arrays of a step's inputs (a Tensor or an array, or a list or tuple of them)."""
    return [array_of(a) for a in (x if isinstance(x, (list, tuple)) else [x])]


def array_of(value: Any) -> Any:
    """A Tensor's array; an array (or None) as it is, anything else through NumPy."""
    if value is None or isinstance(value, np.ndarray) or is_gpu_array(value):
        return value
    return value.data if isinstance(value, Tensor) else np.asarray(value)
