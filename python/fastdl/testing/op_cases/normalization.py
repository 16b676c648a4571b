"""Batch normalization with the batch's own statistics (``fastdl.ops.batch_norm``), three
outputs: the normalized tensor and the batch mean and variance, each checked, and gradients
through each of them and through all three at once.

>>> [case.name for case in CASES][:2]
['batch_norm(axes=(0,))', 'batch_norm(axes=(0,), default gamma and beta)']
"""
import fastdl
from fastdl.testing import reference
from fastdl.testing.op_cases.case import FLOAT32, FLOAT64, OpCase, Tolerance

EPSILON = 1e-3  # Keras's BatchNormalization
TOLERANCE = {FLOAT32: Tolerance(1e-4, 1e-5), FLOAT64: Tolerance(1e-12, 0.0)}


def batch_norm_case(axes: tuple, shapes: list, **fields) -> OpCase:
    """``batch_norm(x, gamma, beta, axes, epsilon=1e-3)``: gamma and beta broadcast against x."""
    return OpCase(
        f"batch_norm(axes={axes})",
        lambda x, gamma, beta: fastdl.ops.batch_norm(x, gamma, beta, axes, EPSILON),
        lambda x, gamma, beta: reference.batch_norm(x, gamma, beta, axes, EPSILON),
        shapes=shapes, tolerance=TOLERANCE, **fields)


def defaults_case(axes: tuple) -> OpCase:
    """``batch_norm(x, axes=axes, epsilon=1e-3)``: gamma 1 and beta 0 as Python numbers."""
    return OpCase(f"batch_norm(axes={axes}, default gamma and beta)",
                  lambda x: fastdl.ops.batch_norm(x, axes=axes, epsilon=EPSILON),
                  lambda x: reference.batch_norm(x, 1.0, 0.0, axes, EPSILON),
                  shapes=[[(4, 3, 5, 2)]], tolerance=TOLERANCE, gradcheck_shapes=[])


CASES = [
    batch_norm_case((0,), [[(4, 3, 5, 2), (3, 5, 2), (3, 5, 2)], [(6, 3), (3,), (3,)]],
                    gradcheck_shapes=[[(6, 3), (3,), (3,)]],
                    gpu_shapes=[[(16, 5), (5,), (5,)]]),
    defaults_case((0,)),
    batch_norm_case((0, 1, 2), [[(4, 3, 5, 2), (2,), (2,)]], gradcheck_shapes=[]),
    defaults_case((0, 1, 2)),
]
