"""fastdl's random number generator: one seed makes every random operation reproducible."""
from __future__ import annotations


import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seeds every random operation of fastdl (rand, randn, dropout, initializers).

    >>> import fastdl
    >>> fastdl.manual_seed(0); a = fastdl.rand(3)
    >>> fastdl.manual_seed(0); b = fastdl.rand(3)
    >>> bool((a == b).numpy().all())
    True
    """
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The generator behind fastdl's random operations."""
    return _generator
