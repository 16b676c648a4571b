"""Reductions (sum, mean, max, min, var) over every kind of ``axis`` (None, one, negative,
several, unordered), with and without ``keepdims``, as methods and functions, against NumPy's.

>>> [case.name for case in CASES][:2]
['sum_axis=None_keepdims=False', 'sum_axis=None_keepdims=True']
"""
from typing import Any

import fastdl
from fastdl.testing.op_cases.case import OpCase

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
