"""The softmax family on fastdl's kernels: softmax and log_softmax along any axis or several
(Keras's tuples), and the fused softmax cross-entropy against integer labels; rows of one
element, of lengths off the vector width, long rows, and empty batches and rows.

>>> [case.name for case in CASES][:2]
['softmax', 'softmax(axis=0)']
>>> class_labels(np.zeros((2, 3, 5))).shape
(2, 3)
"""
from typing import Any

import numpy as np

import fastdl
from fastdl.backend import to_device
from fastdl.testing import reference
from fastdl.testing.op_cases.case import BenchShape, OpCase, Tolerance, normal


def class_labels(logits: Any) -> Any:
    """Integer class labels for ``logits`` (one per row of the last axis, in
    ``[0, classes)``), drawn from a generator seeded with the shape: the same for a Tensor and
    the array of its values, on the Tensor's device."""
    shape = tuple(logits.shape)
    labels = np.random.default_rng(shape).integers(0, shape[-1], shape[:-1])
    return to_device(labels, logits.device) if isinstance(logits, fastdl.Tensor) else labels


# Logits with a spread of 3: large enough that skipping the max subtraction would show.
LOGITS = normal(3.0)
# (rows, classes) timed by the benchmark: many short rows (a classifier's batch of logits) and
# a square one.
BENCH = [BenchShape(((rows, classes),)) for rows, classes in ((10**4, 100), (10**5, 100),
                                                              (1000, 1000))]
ROWS = [[(1,)], [(7,)], [(1, 1)], [(3, 8)], [(5, 9)], [(4, 15)], [(2, 17)], [(6, 1000)],
        [(4, 1000)], [(0, 5)], [(3, 0)], [(2, 3, 17)], [(300, 10)], [(3, 4)], [(4, 6, 5)]]
# The rows the gradients are compared with the reference's at.
GRAD_ROWS = [[(1, 1)], [(3, 8)], [(5, 9)], [(2, 17)], [(4, 1000)], [(2, 3, 17)], [(3, 4)],
             [(4, 6, 5)]]


def softmax_case(log: bool, axis: int = -1, method: bool = False, shapes: list = (),
                 **fields) -> OpCase:
    """``softmax(x, axis=axis)`` (log_softmax with ``log``), or with ``method`` the Tensor
    method, which takes the axis positionally."""
    name = "log_softmax" if log else "softmax"
    op = getattr(fastdl, name)
    ref = reference.log_softmax if log else reference.softmax
    if method:
        label, fn = f"x.{name}({axis})", lambda x: getattr(x, name)(axis)
    else:
        label = name if axis == -1 else f"{name}(axis={axis})"
        fn = lambda x: op(x, axis=axis)  # noqa: E731
    return OpCase(label, fn, lambda x: ref(x, axis),
                  vjp=lambda grad, x: (reference.softmax_grad(grad, x, axis, log),),
                  shapes=shapes, values=LOGITS, gradcheck_values=normal(2.0),
                  gradcheck_tolerance=Tolerance(1e-6, 1e-9), kernel=True, **fields)


def _along(axis: int) -> list:
    """The shapes a softmax along another axis than the last is checked at."""
    return [[(4, 6, 5)], [(3, 4)]] if axis == 0 else [[(4, 6, 5)]]


def cross_entropy(logits: np.ndarray) -> float:
    """The mean cross-entropy of ``logits`` against :func:`class_labels`."""
    return reference.softmax_cross_entropy(logits, class_labels(logits))[0]


def cross_entropy_vjp(grad: np.ndarray, logits: np.ndarray) -> tuple:
    """The logits' gradient of the mean cross-entropy against :func:`class_labels`."""
    _, dlogits = reference.softmax_cross_entropy(logits, class_labels(logits))
    return (grad * dlogits,)


CROSS_ENTROPY_ROWS = [[(1, 1)], [(1, 7)], [(3, 8)], [(5, 9)], [(4, 15)], [(33, 17)], [(8, 1000)],
                      [(2, 3, 10)], [(5000, 10)], [(5, 4)], [(2, 3, 4)], [(4, 9)]]

CASES = [
    softmax_case(False, shapes=ROWS, grad_shapes=GRAD_ROWS,
                 gradcheck_shapes=[[(3, 4)], [(3, 11)]], gpu_shapes=[[(6, 11)]], bench=BENCH),
    *[softmax_case(False, axis, shapes=_along(axis)) for axis in (0, 1, 2, -3)],
    softmax_case(False, 1, method=True, shapes=[[(2, 3, 4)]]),
    softmax_case(True, shapes=ROWS, grad_shapes=GRAD_ROWS,
                 gradcheck_shapes=[[(3, 4)], [(3, 11)]], bench=BENCH),
    *[softmax_case(True, axis, shapes=_along(axis),
                   gpu_shapes=[[(6, 11)]] if axis == 0 else []) for axis in (0, 1, 2, -3)],
    softmax_case(True, 0, method=True, shapes=[[(3, 4)]]),
    *[OpCase(f"{name}(axis={axes})", lambda x, f=getattr(fastdl, name), a=axes: f(x, axis=a),
             lambda x, r=getattr(reference, name), a=axes: r(x, a), shapes=shapes,
             values=LOGITS, gradcheck_values=normal(2.0),
             gradcheck_tolerance=Tolerance(1e-6, 1e-9), kernel=True, gpu_shapes=shapes[:1])
      for name, axes, shapes in [("softmax", (0, 2), [[(2, 3, 4)], [(4, 1, 5)]]),
                                 ("log_softmax", (1, 0), [[(3, 5)], [(2, 3, 4)]]),
                                 ("softmax", (0, 1, -1), [[(2, 3, 2)]])]],
    OpCase("softmax_cross_entropy", lambda z: fastdl.softmax_cross_entropy(z, class_labels(z)),
           cross_entropy, vjp=cross_entropy_vjp, shapes=CROSS_ENTROPY_ROWS, values=LOGITS,
           gradcheck_shapes=[[(5, 4)], [(2, 3, 4)], [(4, 9)]], gradcheck_values=normal(2.0),
           gradcheck_tolerance=Tolerance(1e-6, 1e-9), kernel=True, gpu_shapes=[[(6, 11)]],
           bench=BENCH),
    OpCase("softmax_cross_entropy(tensor labels)",
           lambda z: fastdl.softmax_cross_entropy(z, fastdl.tensor(class_labels(z))),
           cross_entropy, vjp=cross_entropy_vjp, shapes=[[(5, 4)]], values=LOGITS, kernel=True),
]
