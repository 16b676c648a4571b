"""Keras's norm: vector norms of every order over one axis, matrix norms (Frobenius, nuclear,
spectral, the column and row sums) over two, in either order, with and without ``keepdims``,
against NumPy's ``linalg.norm``.

>>> [case.name for case in CASES][:2]
['norm', 'norm(ord=1)']
"""
import math
from typing import Any

from fastdl import ops
from fastdl.testing import reference
from fastdl.testing.op_cases.case import OpCase, distinct


def norm_case(shapes: list, ord: Any = None, axis: Any = None,  # noqa: A002 (Keras's name)
              keepdims: bool = False, kind: str = "", **fields: Any) -> OpCase:
    """``norm(x, ord, axis, keepdims)``, named ``{kind}norm(...)``; values 0.1 apart, so that
    the largest and smallest of the max-norms are unique."""
    arguments = {"ord": ord, "axis": axis, "keepdims": keepdims}
    label = ",".join(f"{k}={v}" for k, v in arguments.items() if v is not None and v is not False)
    return OpCase(f"{kind}norm({label})" if label else f"{kind}norm",
                  lambda x: ops.norm(x, ord=ord, axis=axis, keepdims=keepdims),
                  lambda x: reference.norm(x, ord, axis, keepdims), shapes=shapes,
                  values=distinct, **fields)


VECTORS = [[(7,)], [(1,)], [(3, 5)]]
MATRICES = [[(3, 4)], [(4, 2)], [(1, 1)]]

CASES = [
    norm_case(VECTORS[:2] + MATRICES, gpu_shapes=[[(6, 9)]]),
    *[norm_case(VECTORS[:2], ord) for ord in (1, 3, 0.5, math.inf, -math.inf, -1)],
    norm_case(VECTORS[:2], 0, grad_wrt=()),  # a count of nonzero entries: no gradient
    norm_case([[(3, 5)], [(2, 3, 4)]], axis=-1, gpu_shapes=[[(6, 9)]]),
    norm_case([[(3, 5)]], 2, axis=0, keepdims=True),
    *[norm_case(MATRICES, ord, kind="matrix_",
                gpu_shapes=[[(6, 9)]] if ord in ("nuc", 2) else [])
      for ord in ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)],
    norm_case([[(3, 4)]], 1, axis=(1, 0)),
    norm_case([[(2, 3, 4)]], "nuc", axis=(2, 0), keepdims=True),
    norm_case([[(2, 3, 4)]], -math.inf, axis=(0, 2)),
]
