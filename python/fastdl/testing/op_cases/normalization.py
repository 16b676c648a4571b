"""Normalization by the data's own statistics. Batch normalization (``fastdl.ops.batch_norm``),
three outputs: the normalized tensor and the batch mean and variance, each checked, and
gradients through each of them and through all three at once. Layer and RMS normalization
(``layer_normalization``, ``rms_normalization``, on the norm kernels): over the last axis, over
several, over one that is not last; with and without gamma and beta; Keras's deprecated
``rms_scaling``; rows of one element, off the vector width, long, and no rows at all.

>>> [case.name for case in CASES][:2]
['batch_norm(axes=(0,))', 'batch_norm(axes=(0,), default gamma and beta)']
"""
import warnings

import fastdl
from fastdl.testing import reference
from fastdl.testing.op_cases.case import FLOAT32, FLOAT64, BenchShape, OpCase, Tolerance, normal

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


# Rows of values with a spread of 2 about 1: a mean the kernels must remove.
ROW_VALUES = normal(2.0)
ROW_TOLERANCE = {FLOAT32: Tolerance(2e-5, 2e-5), FLOAT64: Tolerance(1e-11, 1e-12)}


def norm_case(label: str, kind: str, axis, shapes: list, params: int, **fields) -> OpCase:
    """``layer_normalization`` (kind 'layer' or 'variance_scaling', its rms_scaling) or
    ``rms_normalization`` over ``axis``, epsilon 1e-3, with the first ``params`` of (gamma,
    beta) as inputs after x."""
    def axes(x) -> tuple:
        return tuple(sorted(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,))))

    def fn(x, *p):
        gamma, beta = (list(p) + [None, None])[:2]
        if kind == "rms":
            return fastdl.ops.rms_normalization(x, gamma, axis=axis, epsilon=1e-3)
        with warnings.catch_warnings():  # rms_scaling's deprecation, as Keras's
            warnings.simplefilter("ignore")
            return fastdl.ops.layer_normalization(x, gamma, beta, axis=axis, epsilon=1e-3,
                                                  rms_scaling=kind == "variance_scaling")

    def ref(x, *p):
        gamma, beta = (list(p) + [None, None])[:2]
        return reference.layer_normalization(x, gamma, beta, axes(x), 1e-3, kind)

    def vjp(grad, x, *p):
        gamma, beta = (list(p) + [None, None])[:2]
        return reference.layer_normalization_grad(grad, x, gamma, beta, axes(x), 1e-3,
                                                  kind)[:1 + params]

    return OpCase(label, fn, ref, vjp=vjp, shapes=shapes, values=ROW_VALUES,
                  tolerance=ROW_TOLERANCE, kernel=True, **fields)


def _with_params(shapes: list, axes_of_last: int, params: int) -> list:
    """Each x shape with ``params`` parameters shaped as its last ``axes_of_last`` axes."""
    return [[x] + [x[len(x) - axes_of_last:]] * params for x in shapes]


LAST_AXIS_ROWS = [(1, 1), (7, 33), (300, 17), (3, 1000), (4, 5, 512), (0, 5), (2, 16), (200, 700)]
CASES += [
    norm_case("layer_normalization", "layer", -1, _with_params(LAST_AXIS_ROWS, 1, 2), 2,
              gradcheck_shapes=_with_params([(3, 7), (2, 3, 16)], 1, 2),
              partial_grads=((0,), (1, 2)), threads=(1, 2),
              gpu_shapes=_with_params([(64, 256)], 1, 2),
              bench=[BenchShape(((8192, 512), (512,), (512,))),
                     BenchShape(((64 * 128, 128), (128,), (128,)))]),
    norm_case("layer_normalization(no gamma, beta)", "layer", -1,
              _with_params([(7, 33), (2, 1)], 1, 0), 0, gradcheck_shapes=[[(3, 5)]]),
    norm_case("layer_normalization(axis=(1, 2))", "layer", (1, 2),
              _with_params([(4, 3, 5), (2, 2, 17)], 2, 2), 2,
              gradcheck_shapes=_with_params([(2, 3, 4)], 2, 2)),
    norm_case("layer_normalization(axis=1)", "layer", 1,
              [[(4, 6, 5), (6,), (6,)], [(3, 17, 2), (17,), (17,)]], 2,
              gradcheck_shapes=[[(2, 5, 3), (5,), (5,)]]),
    norm_case("layer_normalization(rms_scaling=True)", "variance_scaling", -1,
              _with_params(LAST_AXIS_ROWS, 1, 1), 1,
              gradcheck_shapes=_with_params([(3, 7)], 1, 1), threads=(1, 2)),
    norm_case("rms_normalization", "rms", -1, _with_params(LAST_AXIS_ROWS, 1, 1), 1,
              gradcheck_shapes=_with_params([(3, 7), (2, 3, 16)], 1, 1), threads=(1, 2),
              gpu_shapes=_with_params([(64, 256)], 1, 1),
              bench=[BenchShape(((8192, 512), (512,)))]),
    norm_case("rms_normalization(axis=(0, 1), no scale)", "rms", (0, 1),
              [[(3, 4, 2)], [(5, 7, 3)]], 0, gradcheck_shapes=[[(2, 3, 2)]]),
]
