"""Regularization by noise, during training only: GaussianNoise adds zero-centered normal
noise, GaussianDropout multiplies by normal noise centered on 1. At inference both are the
identity. The noise comes from fastdl's counter-based random stream
(:mod:`fastdl.ops.sampling`), keyed by a :class:`fastdl.random.SeedGenerator` per layer:
a ``seed`` makes the sequence of draws reproducible, each training call drawing anew.

>>> import fastdl
>>> layer = fastdl.layers.GaussianNoise(0.1, seed=1)
>>> x = fastdl.ones(2, 3)
>>> bool((layer(x).numpy() == 1).all()), bool((layer(x, training=True).numpy() != 1).all())
(True, True)
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

from fastdl import random as _random
from fastdl.layers.base import Layer
from fastdl.ops.sampling import normal
from fastdl.tensor import Tensor

__all__ = ["GaussianNoise", "GaussianDropout"]


def _fraction(layer: str, name: str, value: Any, one: bool = True) -> float:
    """``value`` as a float in [0, 1] (or [0, 1) when ``one`` is False); ValueError naming
    ``layer`` otherwise."""
    inside = isinstance(value, numbers.Real) and not isinstance(value, bool) and (
        0 <= value <= 1 if one else 0 <= value < 1)
    if not inside:
        raise ValueError(f"{layer}: {name} must be a number in [0, 1{']' if one else ')'}; "
                         f"received {name}={value!r}")
    return float(value)


class _Noise(Layer):
    """A weightless layer that draws noise of its inputs' shape in training calls."""

    supports_masking = True

    def __init__(self, scale: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        # As in Keras, a layer that adds no noise has no generator (and draws no seed).
        self.seed_generator = _random.SeedGenerator(seed) if scale > 0 else None
        self.built = True

    def _normal(self, inputs: Tensor, mean: float, stddev: float) -> Tensor:
        return normal(inputs.shape, mean=mean, stddev=stddev, dtype=inputs.data.dtype,
                      seed=self.seed_generator, device=inputs.device)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


class GaussianNoise(_Noise):
    """Adds normal noise of mean 0 and standard deviation ``stddev`` (in [0, 1], as Keras
    requires) to its inputs in training calls: a regularizer, and a form of data
    augmentation for real-valued inputs. The identity otherwise.

    >>> import fastdl
    >>> layer = fastdl.layers.GaussianNoise(stddev=0.5, seed=3)
    >>> noisy = layer(fastdl.zeros(100000), training=True).numpy()
    >>> round(float(noisy.std()), 2), layer(fastdl.zeros(3)).numpy()
    (0.5, array([0., 0., 0.], dtype=float32))
    """

    def __init__(self, stddev: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        stddev = _fraction("GaussianNoise", "stddev", stddev)
        super().__init__(stddev, seed=seed, **kwargs)
        self.stddev = stddev

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if not training or self.stddev == 0:
            return inputs
        return inputs + self._normal(inputs, 0.0, self.stddev)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev}


class GaussianDropout(_Noise):
    """Multiplies its inputs, in training calls, by normal noise of mean 1 and standard
    deviation ``sqrt(rate / (1 - rate))``: the variance of dropping a fraction ``rate`` and
    scaling the rest, with the same mean. The identity otherwise. ``rate`` is in [0, 1)
    (1 would need an infinite deviation).

    >>> import fastdl
    >>> layer = fastdl.layers.GaussianDropout(rate=0.2, seed=5)
    >>> scaled = layer(fastdl.ones(100000), training=True).numpy()
    >>> round(float(scaled.mean()), 2), round(float(scaled.std()), 2)
    (1.0, 0.5)
    """

    def __init__(self, rate: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        rate = _fraction("GaussianDropout", "rate", rate, one=False)
        super().__init__(rate, seed=seed, **kwargs)
        self.rate = rate

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0:
            return inputs
        return inputs * self._normal(inputs, 1.0, math.sqrt(self.rate / (1.0 - self.rate)))

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}
