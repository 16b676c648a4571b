"""Random tensors from the counter-based stream of fastdl's kernels, with Keras 3's
``keras.random`` signatures (``fastdl.keras.random`` re-exports them): ``normal``, ``uniform``,
``truncated_normal``, ``randint``, ``dropout`` and ``shuffle``.

Each takes ``seed``: an int (the same values at every call), a
:class:`~fastdl.random.SeedGenerator` (new values at every call, the same sequence for the same
seed) or None (fastdl's global SeedGenerator, reset by :func:`fastdl.manual_seed` and
``fastdl.utils.set_random_seed``). Value ``i`` of a draw depends only on the draw's key and
``i``: the same for any thread count or ISA. The CPU and the GPU have different streams
(:mod:`fastdl.random`), so one seed draws different values on each; on the GPU, floating draws
are float32. New tensors are made on ``device``; ``dropout`` and ``shuffle`` work where their
input is.

>>> from fastdl.keras import random
>>> x = random.normal((2, 3), seed=7)
>>> x.shape, x.dtype
((2, 3), dtype('float32'))
>>> bool((random.normal((2, 3), seed=7).numpy() == x.numpy()).all())
True
>>> random.randint((6,), 0, 10, seed=1).numpy()
array([0, 4, 8, 6, 0, 3], dtype=int32)
"""
from __future__ import annotations

import numbers
from types import ModuleType
from typing import Any, Optional, Sequence, Union

import numpy as np

from fastdl import random as _random
from fastdl.backend import array_module, cpu, kernels_for, parse_device
from fastdl.backend.geometry import axis_index
from fastdl.ops.arithmetic import Mul
from fastdl.ops.common import operand
from fastdl.ops.shaping import GetItem
from fastdl.tensor import Tensor

Shape = Union[int, Sequence[int]]
Seed = Union[int, _random.SeedGenerator, None]

# The dtypes the kernels draw a requested floating dtype in (float16 is drawn as float32).
_DRAWN_AS = {np.dtype(np.float16): np.dtype(np.float32),
             np.dtype(np.float32): np.dtype(np.float32),
             np.dtype(np.float64): np.dtype(np.float64)}


def _kernels_on(device: str) -> ModuleType:
    """The backend module of a parsed device name."""
    if device == "cpu":
        return cpu
    from fastdl.backend import cuda
    return cuda


def _shape(op: str, shape: Any) -> tuple:
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    if dims is None or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool)
                               and d >= 0 for d in dims):
        raise ValueError(f"{op}: shape must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _dtype(op: str, dtype: Any, kinds: str, what: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"{op}: unknown dtype {dtype!r}") from None
    if dt.kind not in kinds:
        raise ValueError(f"{op}: dtype must be {what}, got {dt}")
    return dt


def _float_dtype(op: str, dtype: Any) -> np.dtype:
    dt = _dtype(op, "float32" if dtype is None else dtype, "f", "a floating-point type")
    if dt not in _DRAWN_AS:
        raise ValueError(f"{op}: dtype must be float16, float32 or float64, got {dt}")
    return dt


def _finite(op: str, name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise ValueError(f"{op}: {name} must be finite, got {number}")
    return number


def _integer(op: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{op}: {name} must be an int, got {value!r}")
    return int(value)


def _normal_parameters(op: str, mean: Any, stddev: Any) -> tuple:
    mean, stddev = _finite(op, "mean", mean), _finite(op, "stddev", stddev)
    if stddev < 0:
        raise ValueError(f"{op}: stddev must be non-negative, got {stddev}")
    return mean, stddev


def _draw(op: str, shape: Any, dtype: np.dtype, drawn_as: np.dtype, device: str, fill: str,
          seed: Seed, *params: float) -> Tensor:
    """A new tensor of ``shape`` and ``dtype`` on ``device``: the backend's ``fill`` kernel
    draws it in ``drawn_as`` with ``seed``'s next key and ``params``."""
    dims, device = _shape(op, shape), parse_device(op, device)
    kernel = getattr(_kernels_on(device), fill)
    values = kernel(dims, drawn_as, _random.draw_key(seed, op), *params)
    return Tensor(values if drawn_as == dtype else values.astype(dtype))


def normal(shape: Shape, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
           seed: Seed = None, device: str = "cpu") -> Tensor:
    """Samples of the normal distribution (Box-Muller on pairs of the stream's numbers; in
    float32 no sample lies beyond 5.8 standard deviations, a mass of 8e-9).

    >>> from fastdl.keras import random
    >>> z = random.normal((100000,), mean=1.0, stddev=2.0, seed=3).numpy()
    >>> bool(abs(z.mean() - 1.0) < 0.05), bool(abs(z.std() - 2.0) < 0.05)
    (True, True)
    """
    dt = _float_dtype("normal", dtype)
    mean, stddev = _normal_parameters("normal", mean, stddev)
    return _draw("normal", shape, dt, _DRAWN_AS[dt], device, "random_normal", seed, mean,
                 stddev)


def uniform(shape: Shape, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None,
            seed: Seed = None, device: str = "cpu") -> Tensor:
    """Samples of the uniform distribution on ``[minval, maxval)``: 24 random bits in float32,
    53 in float64.

    >>> from fastdl.keras import random
    >>> u = random.uniform((1000,), minval=-1.0, maxval=1.0, seed=0).numpy()
    >>> bool(u.min() >= -1.0), bool(u.max() < 1.0)
    (True, True)
    """
    dt = _float_dtype("uniform", dtype)
    minval, maxval = _finite("uniform", "minval", minval), _finite("uniform", "maxval", maxval)
    if minval > maxval:
        raise ValueError(f"uniform: minval must not exceed maxval, got [{minval}, {maxval})")
    with np.errstate(over="ignore"):
        span = _DRAWN_AS[dt].type(maxval) - _DRAWN_AS[dt].type(minval)
    if not np.isfinite(span):
        raise ValueError(f"uniform: maxval - minval overflows {dt}, got [{minval}, {maxval})")
    return _draw("uniform", shape, dt, _DRAWN_AS[dt], device, "random_uniform", seed, minval,
                 maxval)


def truncated_normal(shape: Shape, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Seed = None, device: str = "cpu") -> Tensor:
    """Samples of the normal distribution conditioned on lying within two standard deviations
    of the mean: samples outside are discarded and drawn again, as Keras does.

    >>> from fastdl.keras import random
    >>> t = random.truncated_normal((10000,), stddev=0.5, seed=4).numpy()
    >>> bool(abs(t).max() <= 1.0)
    True
    """
    op = "truncated_normal"
    dt = _float_dtype(op, dtype)
    mean, stddev = _normal_parameters(op, mean, stddev)
    return _draw(op, shape, dt, _DRAWN_AS[dt], device, "random_truncated_normal", seed, mean,
                 stddev)


def randint(shape: Shape, minval: int, maxval: int, dtype: Any = "int32", seed: Seed = None,
            device: str = "cpu") -> Tensor:
    """Integers uniform on ``[minval, maxval)``, from 64 random bits each (the bias of mapping
    them onto the range is below ``(maxval - minval) / 2^64``).

    >>> from fastdl.keras import random
    >>> r = random.randint((10000,), 1, 7, seed=2).numpy()
    >>> sorted(set(r.tolist())), r.dtype
    ([1, 2, 3, 4, 5, 6], dtype('int32'))
    """
    dt = _dtype("randint", dtype, "iu", "an integer type")
    minval, maxval = _integer("randint", "minval", minval), _integer("randint", "maxval", maxval)
    lowest, highest = max(np.iinfo(dt).min, -2**63), min(np.iinfo(dt).max, 2**63 - 1)
    if not lowest <= minval < maxval <= highest + 1:
        raise ValueError(f"randint: [minval, maxval) must be a non-empty range of {dt} values, "
                         f"got [{minval}, {maxval})")
    drawn_as = dt if dt == np.int32 else np.dtype(np.int64)
    return _draw("randint", shape, dt, drawn_as, device, "random_integers", seed, minval, maxval)


def _noise_shape(shape: tuple, noise_shape: Optional[Sequence[Optional[int]]]) -> tuple:
    """Keras's noise_shape: None entries take the input's size; the rest must be 1 or it."""
    if noise_shape is None:
        return shape
    dims = tuple(noise_shape)
    if len(dims) == len(shape):
        dims = tuple(n if d is None else d for d, n in zip(dims, shape))
        if all(d in (1, n) for d, n in zip(dims, shape)):
            return dims
    raise ValueError(f"dropout: noise_shape {tuple(noise_shape)} does not broadcast to the "
                     f"inputs' shape {shape}")


def dropout(inputs: Any, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None,
            seed: Seed = None) -> Tensor:
    """Keras's ``keras.random.dropout``: zeroes each element with probability ``rate`` and
    scales the rest by ``1 / (1 - rate)``, the mask drawn by the dropout kernel (the stream's
    words against ``rate * 2^32``) at ``noise_shape`` and broadcast over the inputs (None
    entries: the inputs' size). Differentiable; ``fastdl.ops.dropout`` is the layer's form.

    >>> import fastdl
    >>> from fastdl.keras import random
    >>> y = random.dropout(fastdl.ones((2, 4)), 0.5, noise_shape=(None, 1), seed=6)
    >>> y.numpy()
    array([[0., 0., 0., 0.],
           [2., 2., 2., 2.]], dtype=float32)
    """
    rate = _finite("dropout", "rate", rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1], got {rate}")
    x = operand(inputs)
    if x.dtype.kind != "f":
        raise ValueError(f"dropout: inputs must be floating-point, got dtype {x.dtype}")
    shape = _noise_shape(x.shape, noise_shape)
    if rate == 0.0:
        return x if isinstance(x, Tensor) else Tensor(x)
    data = x.data if isinstance(x, Tensor) else x
    ones = array_module(data).ones(shape, _DRAWN_AS.get(x.dtype, np.dtype(np.float32)))
    if rate == 1.0:  # everything dropped (the kernel takes rates below 1)
        mask = ones * 0
    else:
        mask, _ = kernels_for(ones).dropout_forward(ones, rate, _random.draw_key(seed, "dropout"))
    return Mul.apply(x, mask.astype(x.dtype, copy=False))


def shuffle(x: Any, axis: int = 0, seed: Seed = None) -> Tensor:
    """``x`` with its slices along ``axis`` in a uniformly random order: the order that sorts
    64-bit random integers, one per slice. Differentiable.

    >>> import numpy as np
    >>> from fastdl.keras import random
    >>> y = random.shuffle(np.arange(10), seed=3).numpy()
    >>> sorted(y.tolist()) == list(range(10)), y.tolist() != list(range(10))
    (True, True)
    """
    x = operand(x)
    axis = axis_index("shuffle", x.ndim, axis)
    data = x.data if isinstance(x, Tensor) else x
    sort_keys = kernels_for(data).random_integers(
        (x.shape[axis],), np.int64, _random.draw_key(seed, "shuffle"), -2**63, 2**63 - 1)
    order = array_module(data).argsort(sort_keys)
    return GetItem.apply(x, index=(slice(None),) * axis + (order,))
