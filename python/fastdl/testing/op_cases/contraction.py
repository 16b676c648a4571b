"""Sums of products: tensordot (every form of ``axes``), dot (NumPy's cases by rank) and einsum
(explicit and implicit output, ellipses that broadcast, traces and diagonals, a letter summed in
one operand alone, three operands), against float64 einsum.

>>> [case.name for case in CASES][:2]
['tensordot', 'tensordot_axes=1']
"""
from typing import Any

import numpy as np

from fastdl import ops
from fastdl.testing import reference
from fastdl.testing.op_cases.case import OpCase, Tolerance

#: The GPU's GEMM sums in another order than the CPU's.
GEMM_ON_GPU = Tolerance(1e-4, 1e-5)


def tensordot_case(name: str, axes: Any, shapes: list, **fields: Any) -> OpCase:
    return OpCase(name, lambda a, b: ops.tensordot(a, b, axes=axes),
                  lambda a, b: reference.tensordot(a, b, axes), shapes=shapes,
                  gpu_tolerance=GEMM_ON_GPU, **fields)


def dot_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NumPy's dot by rank, as a tensordot."""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return reference.tensordot(a, b, ([a.ndim - 1], [max(b.ndim - 2, 0)]))


def einsum_case(subscripts: str, shapes: list, **fields: Any) -> OpCase:
    return OpCase(f"einsum({subscripts})", lambda *t: ops.einsum(subscripts, *t),
                  lambda *a: np.einsum(subscripts, *a), shapes=shapes,
                  gpu_tolerance=GEMM_ON_GPU, **fields)


TENSORDOT = [
    tensordot_case("tensordot", 2, [[(3, 4, 5), (4, 5, 2)], [(2, 3), (2, 3)]],
                   gpu_shapes=[[(6, 7, 8), (7, 8, 5)]]),
    tensordot_case("tensordot_axes=1", 1, [[(3, 4), (4, 5)], [(2, 3, 4), (4, 1)]]),
    tensordot_case("tensordot_axes=0", 0, [[(3,), (2, 2)]]),
    tensordot_case("tensordot_axes_pair", ([0, 2], [1, 0]), [[(3, 4, 5), (5, 3, 2)]],
                   gpu_shapes=[[(6, 7, 8), (8, 6, 5)]]),
    tensordot_case("tensordot_axes_ints", (1, -1), [[(3, 4), (5, 4)]]),
]

DOT = [
    OpCase(f"dot_{label}", ops.dot, dot_reference, shapes=[shapes], gpu_tolerance=GEMM_ON_GPU,
           gpu_shapes=[shapes] if label == "nd_md" else [])
    for label, shapes in [("scalar", [(), (3, 4)]), ("vectors", [(5,), (5,)]),
                          ("matrices", [(3, 4), (4, 2)]), ("nd_md", [(2, 3, 4), (5, 4, 6)]),
                          ("nd_vector", [(2, 3, 4), (4,)]), ("vector_nd", [(3,), (2, 3, 4)])]
]

EINSUM = [
    einsum_case("ij,jk->ik", [[(3, 4), (4, 5)]], gpu_shapes=[[(7, 8), (8, 6)]]),
    einsum_case("ij,jk", [[(3, 4), (4, 5)]]),
    einsum_case("bij,bjk->bik", [[(2, 3, 4), (2, 4, 5)]], gpu_shapes=[[(3, 4, 5), (3, 5, 6)]]),
    einsum_case("...ij,...jk->...ik", [[(2, 1, 3, 4), (5, 4, 2)], [(3, 4), (4, 2)]]),
    einsum_case("...i,i->...", [[(2, 3, 4), (4,)]]),
    einsum_case("ii", [[(4, 4)]]),
    einsum_case("ii->i", [[(4, 4)]], gpu_shapes=[[(5, 5)]]),
    einsum_case("iij,j->ij", [[(3, 3, 2), (2,)]]),
    einsum_case("ij->", [[(3, 4)]]),
    einsum_case("ij->ji", [[(3, 4)]]),
    einsum_case("i,j", [[(3,), (4,)]]),
    einsum_case("ij,k->jk", [[(3, 4), (2,)]]),
    einsum_case("ij,ij->i", [[(1, 4), (3, 4)], [(3, 4), (3, 4)]]),
    einsum_case("ij,jk,kl->il", [[(2, 3), (3, 4), (4, 2)]], gpu_shapes=[[(4, 5), (5, 6), (6, 3)]]),
]

CASES = TENSORDOT + DOT + EINSUM
