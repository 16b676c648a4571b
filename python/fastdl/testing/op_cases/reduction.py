"""Reductions (sum, mean, max, min, var) over every kind of ``axis`` (None, one, negative,
several, unordered), with and without ``keepdims``, as methods and functions, against NumPy's;
Keras's prod (zeros among the factors), std, logsumexp (large and infinite values), cumsum and
max/min with ``initial``.

>>> [case.name for case in CASES][:2]
['sum_axis=None_keepdims=False', 'sum_axis=None_keepdims=True']
"""
from typing import Any

import numpy as np

import fastdl
from fastdl import ops
from fastdl.testing import reference
from fastdl.testing.op_cases.case import OpCase, Shape, distinct, normal, uniform

SHAPES = [[(3, 4, 5)]]

#: (name, axis, keepdims) of the method calls also compared on the GPU.
ON_GPU = {("sum", None, False), ("sum", 1, True), ("mean", (0, 2), False), ("max", 1, False),
          ("min", None, False), ("var", -1, False)}


def method_case(name: str, axis: Any, keepdims: bool, **kwargs: Any) -> OpCase:
    """``a.name(axis=axis, keepdims=keepdims, **kwargs)``, which NumPy arrays share."""
    suffix = "".join(f"_{k}={v}" for k, v in kwargs.items())
    on_gpu = (name, axis, keepdims) in ON_GPU and not kwargs
    return OpCase(f"{name}_axis={axis}_keepdims={keepdims}{suffix}",
                  lambda a: getattr(a, name)(axis=axis, keepdims=keepdims, **kwargs),
                  shapes=SHAPES, gpu_shapes=[[(4, 5, 6)]] if on_gpu else [])


CASES = [method_case(name, axis, keepdims)
         for name in ("sum", "mean", "max", "min", "var")
         for axis in (None, 1, -1, (0, 2), (-1, 0))
         for keepdims in (False, True)]
CASES += [
    method_case("var", 1, False, ddof=1),
    method_case("var", None, True, ddof=1),
    OpCase("sum_function", lambda a: fastdl.sum(a, axis=0), lambda a: a.sum(axis=0),
           shapes=[[(3, 4)]]),
    OpCase("mean_function", lambda a: fastdl.mean(a, 1, True),
           lambda a: a.mean(1, keepdims=True), shapes=[[(3, 4)]]),
    OpCase("max_function", lambda a: fastdl.max(a, axis=-1), lambda a: a.max(-1),
           shapes=[[(3, 4)]]),
    OpCase("min_function", lambda a: fastdl.min(a), lambda a: a.min(), shapes=[[(3, 4)]]),
    OpCase("var_function", lambda a: fastdl.var(a, 0, ddof=1), lambda a: a.var(0, ddof=1),
           shapes=[[(3, 4)]]),
]



def with_zeros(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Factors in [0.5, 1.5) with about one in four set to 0: a product's gradient must not
    divide by them."""
    x = rng.uniform(0.5, 1.5, shape)
    return np.where(rng.random(shape) < 0.25, 0.0, x)


def keras_case(name: str, fn: Any, ref: Any, shapes: list, **fields: Any) -> OpCase:
    """A reduction of Keras's (gradchecked at every shape), compared on the GPU at (4, 5, 6)."""
    return OpCase(name, fn, ref, shapes=shapes, gpu_shapes=[[(4, 5, 6)]], **fields)


CASES += [
    keras_case("prod", ops.prod, np.prod, [[(2, 3)], [(1,)], [(0, 3)]], values=uniform(0.5, 1.5)),
    keras_case("prod_axis=1", lambda a: ops.prod(a, axis=1), lambda a: a.prod(axis=1),
               [[(3, 4, 5)], [(4, 1)], [(0, 3)]], values=with_zeros),
    keras_case("prod_axis=(0,-1)_keepdims", lambda a: ops.prod(a, axis=(0, -1), keepdims=True),
               lambda a: a.prod(axis=(0, -1), keepdims=True), [[(3, 4, 5)]], values=with_zeros),
    keras_case("std", ops.std, np.std, [[(3, 4)], [(7,)]]),
    keras_case("std_axis=1_keepdims", lambda a: ops.std(a, axis=1, keepdims=True),
               lambda a: a.std(axis=1, keepdims=True), [[(3, 4, 5)]]),
    keras_case("std_ddof=1", lambda a: ops.std(a, axis=0, ddof=1), lambda a: a.std(0, ddof=1),
               [[(5, 3)]]),
    keras_case("logsumexp", ops.logsumexp, reference.logsumexp, [[(3, 4)], [(1,)], [(17,)]],
               values=normal(30.0), vjp=lambda g, a: (reference.logsumexp_grad(g, a),)),
    keras_case("logsumexp_axis=1_keepdims",
               lambda a: ops.logsumexp(a, axis=1, keepdims=True),
               lambda a: reference.logsumexp(a, 1, keepdims=True), [[(3, 4, 5)], [(2, 1)]],
               values=normal(30.0),
               vjp=lambda g, a: (reference.logsumexp_grad(g, a, 1, keepdims=True),)),
    keras_case("logsumexp_axis=(0,2)", lambda a: ops.logsumexp(a, axis=(0, 2)),
               lambda a: reference.logsumexp(a, (0, 2)), [[(3, 4, 5)]],
               vjp=lambda g, a: (reference.logsumexp_grad(g, a, (0, 2)),)),
    keras_case("cumsum", ops.cumsum, np.cumsum, [[(3, 4)], [(1,)], [(0,)]]),
    keras_case("cumsum_axis=0", lambda a: ops.cumsum(a, axis=0), lambda a: np.cumsum(a, 0),
               [[(3, 4, 5)], [(1, 3)]]),
    keras_case("cumsum_axis=-1", lambda a: ops.cumsum(a, axis=-1), lambda a: np.cumsum(a, -1),
               [[(3, 4, 5)]]),
    # Values 0.1 apart: no element ties with another or with ``initial``.
    keras_case("max_initial", lambda a: ops.max(a, axis=1, initial=0.55),
               lambda a: np.max(a, axis=1, initial=0.55), [[(3, 4, 5)]], values=distinct),
    keras_case("min_initial_keepdims", lambda a: ops.min(a, axis=0, keepdims=True, initial=0.55),
               lambda a: np.min(a, axis=0, keepdims=True, initial=0.55), [[(3, 4)]],
               values=distinct),
]
