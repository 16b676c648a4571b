"""Inverted dropout with a fixed seed: the kept values scaled by 1 / (1 - p), the others 0, and
the gradient through the same mask. The mask comes from fastdl's counter-based stream, so the
reference takes it from the operation itself (on ones); the statistics of the masks are tested
in tests/test_ops.py.

>>> [case.name for case in CASES]
['dropout(p=0.3)', 'dropout(p=0.4)']
"""
from typing import Callable

import numpy as np

import fastdl
from fastdl.testing.op_cases.case import (FLOAT32, FLOAT64, POSITIVE, OpCase, Shape, Tolerance,
                                          normal)


def dropout_mask(shape: Shape, p: float, seed: int) -> np.ndarray:
    """0 where dropout with ``seed`` drops an element of ``shape``, 1 / (1 - p) where it keeps
    it; it must do both somewhere, or a case with this mask checks nothing."""
    fastdl.manual_seed(seed)
    mask = fastdl.dropout(fastdl.ones(shape, dtype=np.float64), p).numpy()
    if not 0 < (mask == 0).sum() < mask.size:
        raise ValueError(f"dropout with seed {seed} and p {p} keeps all or none of {shape}")
    return mask


def dropout_case(p: float, seed: int, **fields) -> OpCase:
    """``dropout(x, p)`` right after ``manual_seed(seed)``."""

    def fn(x: fastdl.Tensor) -> fastdl.Tensor:
        fastdl.manual_seed(seed)
        return fastdl.dropout(x, p)

    def mask_of(x: np.ndarray) -> np.ndarray:
        return dropout_mask(x.shape, p, seed)

    vjp: Callable = lambda grad, x: (grad * mask_of(x),)  # noqa: E731
    return OpCase(f"dropout(p={p})", fn, lambda x: x * mask_of(x), vjp=vjp, kernel=True,
                  tolerance={FLOAT32: Tolerance(1e-6, 0.0), FLOAT64: Tolerance(1e-15, 0.0)},
                  **fields)


CASES = [
    dropout_case(0.3, 1, shapes=[[(6, 7)]], values=POSITIVE, gradcheck_shapes=[]),
    dropout_case(0.4, 4, shapes=[[(3, 5)]], values=normal()),
]
