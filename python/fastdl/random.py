"""Where fastdl's random numbers come from: two generators, both seeded by
:func:`manual_seed` (and so by ``fastdl.utils.set_random_seed``).

* **NumPy's generator** (:func:`generator`) draws :func:`fastdl.rand`, :func:`fastdl.randn`,
  the initializers' weights, ``Model.fit``'s shuffling, and the key of each call of
  :func:`fastdl.dropout` and the ``Dropout`` layer (whose masks then come from the stream below).
* **The counter-based stream** of fastdl's kernels draws the operations of
  :mod:`fastdl.ops.sampling` (``fastdl.keras.random``: ``normal``, ``uniform``,
  ``truncated_normal``, ``randint``, ``dropout``, ``shuffle``). Value ``i`` of a draw depends only
  on the draw's 64-bit key and ``i`` (on the CPU a hash of the two, on the GPU Philox4x32-10), so
  a key gives the same array whatever the thread count or ISA. Keys come from a
  :class:`SeedGenerator`, or from an int seed (always the same key), or, for ``seed=None``, from
  the global SeedGenerator that :func:`manual_seed` resets.

>>> import fastdl
>>> generator = fastdl.random.SeedGenerator(42)
>>> first, second = generator.next(), generator.next()
>>> first != second, first == fastdl.random.SeedGenerator(42).next()
(True, True)
>>> first == fastdl.random.draw_key(42, "example")  # an int seed: the first key of its generator
True
"""
from __future__ import annotations

import itertools
import numbers
from typing import Any, Optional

import numpy as np

_MASK64 = (1 << 64) - 1
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15  # 2^64 / golden ratio, odd: SplitMix64's increment


def _mix64(x: int) -> int:
    """SplitMix64's finalizer (Steele, Lea and Flood, 2014): a bijection of 64-bit numbers in
    which every input bit flips about half of the output bits."""
    x &= _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _nth_key(start: int, n: int) -> int:
    """The n-th number (from 0) of SplitMix64 started at ``start``."""
    return _mix64(start + (n + 1) * _GOLDEN_GAMMA)


def _is_int(seed: Any) -> bool:
    return isinstance(seed, numbers.Integral) and not isinstance(seed, bool)


class SeedGenerator:
    """A sequence of keys for the random operations, with Keras's semantics: each draw takes
    the next key, so two draws from one generator differ, and two generators made with the same
    seed give the same sequence. Without a seed, the seed is drawn from :func:`generator`, which
    :func:`manual_seed` makes reproducible.

    Draw ``n`` (counting from 0) is keyed by the ``n``-th number of SplitMix64 started from a
    hash of the seed; an int ``seed=s`` given to a random operation uses draw 0 of
    ``SeedGenerator(s)``. Draws are safe from several threads (each gets its own key).

    >>> import fastdl
    >>> from fastdl.keras import random
    >>> seeds = random.SeedGenerator(1337)
    >>> a = random.normal((2,), seed=seeds)
    >>> b = random.normal((2,), seed=seeds)
    >>> bool((a.numpy() != b.numpy()).all())
    True
    >>> again = random.SeedGenerator(1337)
    >>> bool((random.normal((2,), seed=again).numpy() == a.numpy()).all())
    True
    """

    def __init__(self, seed: Optional[int] = None, name: Optional[str] = None) -> None:
        if seed is not None and not _is_int(seed):
            raise ValueError(f"SeedGenerator: seed must be an int or None, got {seed!r}")
        self._initial_seed = seed
        self.name = name or "seed_generator"
        start = int(seed) if seed is not None else int(_generator.integers(1 << 63))
        self._start = _mix64(start)
        self._draws = itertools.count()

    def next(self) -> int:
        """The key of the next draw (a 64-bit number), advancing the generator."""
        return _nth_key(self._start, next(self._draws))

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "SeedGenerator":
        return cls(**config)

    def __repr__(self) -> str:
        return f"SeedGenerator(seed={self._initial_seed!r}, name={self.name!r})"


def draw_key(seed: Any, op: str) -> int:
    """The key a random operation ``op`` draws with, from its ``seed`` argument: an int gives
    the same key every time, a :class:`SeedGenerator` its next key, None the global
    SeedGenerator's next key. ValueError naming ``op`` for anything else."""
    if seed is None:
        return _global_seed_generator.next()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if _is_int(seed):
        return _nth_key(_mix64(int(seed)), 0)
    raise ValueError(f"{op}: seed must be an int, a SeedGenerator or None, got {seed!r} "
                     f"({type(seed).__name__})")


def manual_seed(seed: int) -> None:
    """Seeds every random operation of fastdl: NumPy's generator (rand, randn, initializers,
    dropout, fit's shuffling) and the global SeedGenerator behind the counter-based operations
    called with ``seed=None``. Its seed is a hash of ``seed``, so that unseeded draws do not
    repeat the draws of ``seed=seed``.

    >>> import fastdl
    >>> fastdl.manual_seed(0); a = fastdl.rand(3)
    >>> fastdl.manual_seed(0); b = fastdl.rand(3)
    >>> bool((a == b).numpy().all())
    True
    """
    global _generator, _global_seed_generator
    _generator = np.random.default_rng(seed)
    _global_seed_generator = SeedGenerator(_mix64(int(seed)), name="global_seed_generator")


def generator() -> np.random.Generator:
    """NumPy's generator behind fastdl's host-side random operations (see the module's
    documentation)."""
    return _generator


_generator = np.random.default_rng()
_global_seed_generator = SeedGenerator(name="global_seed_generator")
