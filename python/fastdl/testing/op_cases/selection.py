"""top_k's values, sorted and in their order in the input, along the last axis of inputs of one
to three axes (k up to the whole axis). Its indices, argmax and argmin are integers without
gradients: tests/test_keras_ops.py checks them.

>>> [case.name for case in CASES]
['top_k', 'top_k(sorted=False)']
"""
import numpy as np

from fastdl import ops
from fastdl.testing import reference
from fastdl.testing.op_cases.case import OpCase, distinct


def unsorted_top_k(x: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` largest values of each row in their order in the row."""
    return np.take_along_axis(x, np.sort(reference.top_k(x, k)[1], axis=-1), axis=-1)


# Values 0.1 apart: the k largest are unambiguous, and central differences keep their order.
CASES = [
    OpCase("top_k", lambda x: ops.top_k(x, 3)[0], lambda x: reference.top_k(x, 3)[0],
           shapes=[[(5,)], [(3, 7)], [(2, 3, 4)], [(2, 3)]], values=distinct,
           gpu_shapes=[[(6, 9)]]),
    OpCase("top_k(sorted=False)", lambda x: ops.top_k(x, 2, sorted=False)[0],
           lambda x: unsorted_top_k(x, 2), shapes=[[(5,)], [(3, 7)]], values=distinct,
           gpu_shapes=[[(6, 9)]]),
]
