"""Weight initializers, with Keras's names, defaults and formulas.

An initializer is called with a shape and a dtype and returns a NumPy array. Random ones draw
from fastdl's generator, so :func:`fastdl.manual_seed` (or
``fastdl.keras.utils.set_random_seed``) makes them reproducible.

Fans follow Keras: a Dense kernel ``(in, out)`` has fan_in = in and fan_out = out; a
convolution kernel ``(*window, in, out)`` multiplies both by the window's size.

>>> import fastdl
>>> fastdl.manual_seed(0)
>>> w = fastdl.initializers.get("glorot_uniform")((784, 128))
>>> w.shape, w.dtype, bool(abs(w).max() <= (6 / (784 + 128)) ** 0.5)
((784, 128), dtype('float32'), True)
"""
from __future__ import annotations

import math
from typing import Any, Callable, Union

import numpy as np

from fastdl import random as _random

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
           "LecunUniform", "LecunNormal", "Orthogonal", "get"]


def compute_fans(shape: tuple) -> tuple[float, float]:
    """(fan_in, fan_out) of a weight of this shape, as Keras computes them."""
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class Initializer:
    """Base class: ``init(shape, dtype='float32') -> ndarray``."""

    def __call__(self, shape, dtype: Any = "float32") -> np.ndarray:
        shape = tuple(int(n) for n in shape)
        # order="C", not ascontiguousarray, which turns a scalar's 0-d array into shape (1,).
        return np.asarray(self.sample(shape), dtype=np.dtype(dtype), order="C")

    def sample(self, shape: tuple) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define sample(shape)")

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def sample(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    def sample(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def sample(self, shape):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05) -> None:
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape):
        return _random.generator().normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05) -> None:
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape):
        return _random.generator().uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


def _truncated_normal(shape: tuple, stddev: float) -> np.ndarray:
    """Normal samples redrawn until they lie within two standard deviations."""
    rng = _random.generator()
    out = rng.normal(0.0, stddev, shape)
    outside = np.abs(out) > 2.0 * stddev
    while outside.any():
        out[outside] = rng.normal(0.0, stddev, int(outside.sum()))
        outside = np.abs(out) > 2.0 * stddev
    return out


class TruncatedNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05) -> None:
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape):
        return self.mean + _truncated_normal(shape, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


# A normal truncated at two standard deviations has this fraction of the untruncated
# standard deviation; dividing by it gives the truncated samples the intended variance.
_TRUNCATED_STDDEV_FACTOR = 0.87962566103423978


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n``, n being fan_in, fan_out or their mean."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal") -> None:
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, "
                             f"got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: distribution must be truncated_normal, "
                             f"untruncated_normal or uniform, got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def sample(self, shape):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return _random.generator().uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return _random.generator().normal(0.0, math.sqrt(variance), shape)
        return _truncated_normal(shape, math.sqrt(variance) / _TRUNCATED_STDDEV_FACTOR)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


class GlorotUniform(VarianceScaling):
    """Uniform in ±sqrt(6 / (fan_in + fan_out)): Keras's default for kernels."""

    def __init__(self) -> None:
        super().__init__(1.0, "fan_avg", "uniform")

    def get_config(self):
        return {}


class GlorotNormal(VarianceScaling):
    def __init__(self) -> None:
        super().__init__(1.0, "fan_avg", "truncated_normal")

    def get_config(self):
        return {}


class HeUniform(VarianceScaling):
    def __init__(self) -> None:
        super().__init__(2.0, "fan_in", "uniform")

    def get_config(self):
        return {}


class HeNormal(VarianceScaling):
    def __init__(self) -> None:
        super().__init__(2.0, "fan_in", "truncated_normal")

    def get_config(self):
        return {}


class LecunUniform(VarianceScaling):
    def __init__(self) -> None:
        super().__init__(1.0, "fan_in", "uniform")

    def get_config(self):
        return {}


class LecunNormal(VarianceScaling):
    def __init__(self) -> None:
        super().__init__(1.0, "fan_in", "truncated_normal")

    def get_config(self):
        return {}


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``: Keras's default for recurrent kernels, whose
    repeated products then neither grow nor shrink the state. A weight of more than two axes
    is orthogonal as a (product of all but the last axis, last axis) matrix.

    >>> import numpy as np
    >>> q = Orthogonal()((4, 4))
    >>> bool(np.allclose(q.T @ q, np.eye(4), atol=1e-6))
    True
    """

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def sample(self, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have at least two axes, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        # Q of the QR decomposition of a Gaussian matrix, its columns' signs fixed by R's
        # diagonal, is uniformly distributed over the orthogonal matrices.
        gaussian = _random.generator().normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(gaussian)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain}


_BY_NAME: dict[str, type] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
    # Keras's short aliases (Embedding's default is "uniform").
    "uniform": RandomUniform, "normal": RandomNormal, "zero": Zeros, "one": Ones,
}

InitializerLike = Union[str, Initializer, Callable[..., Any], None]


def get(identifier: InitializerLike) -> Callable[..., np.ndarray]:
    """An initializer from a name (``'he_normal'``, also Keras's class names such as
    ``'HeNormal'``), an instance, or any callable ``f(shape, dtype)``."""
    if isinstance(identifier, str):
        key = identifier if identifier in _BY_NAME else _snake_case(identifier)
        if key not in _BY_NAME:
            raise ValueError(f"unknown initializer {identifier!r}; known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[key]()
    if callable(identifier):
        return identifier
    raise TypeError(f"an initializer must be a name or a callable, got {identifier!r}")


def _snake_case(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
