"""Keras's losses as fastdl.losses's functions (per-sample losses): mean squared and absolute
error, binary, categorical and sparse categorical cross-entropy of probabilities, against
Keras's formulas (probabilities clipped to [1e-7, 1 - 1e-7], categorical ones renormalized),
differentiable with respect to the predictions.

>>> [case.name for case in CASES][:2]
['mean_squared_error', 'mean_absolute_error']
"""
import numpy as np

import fastdl
from fastdl import losses
from fastdl.testing import reference
from fastdl.testing.op_cases.case import OpCase, Shape, normal, uniform
from fastdl.testing.op_cases.softmax import class_labels


def probabilities(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Rows of class probabilities: the softmax of normal logits."""
    return reference.softmax(rng.standard_normal(shape))


def one_hot(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """One-hot rows of random classes."""
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]


def binary(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Targets of 0 and 1."""
    return rng.integers(0, 2, shape).astype(np.float64)


def loss_case(name: str, shapes: list, values: tuple) -> OpCase:
    """``losses.name(y_true, y_pred)``, differentiable with respect to ``y_pred``."""
    return OpCase(name, getattr(losses, name), getattr(reference, name), shapes=shapes,
                  values=values, grad_wrt=(1,))


def _sparse(p: fastdl.Tensor) -> fastdl.Tensor:
    return losses.sparse_categorical_crossentropy(class_labels(p), p)


CASES = [
    loss_case("mean_squared_error", [[(5, 3), (5, 3)], [(4, 3), (4, 3)]], (normal(), normal())),
    loss_case("mean_absolute_error", [[(5, 3), (5, 3)], [(4, 3), (4, 3)]],
              (normal(), normal())),
    loss_case("binary_crossentropy", [[(4, 1), (4, 1)]], (binary, uniform(0.1, 0.9))),
    loss_case("categorical_crossentropy", [[(6, 4), (6, 4)], [(4, 3), (4, 3)]],
              (one_hot, probabilities)),
    OpCase("sparse_categorical_crossentropy", _sparse,
           lambda p: reference.sparse_categorical_crossentropy(class_labels(p), p),
           shapes=[[(6, 4)], [(4, 3)]], values=probabilities),
]
