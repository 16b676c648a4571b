"""One table of operation cases: every public operation declared once, with its float64
reference, input shapes (awkward ones included: 1, primes, sizes off the vector width,
broadcasting, empty), value ranges, dtypes, tolerances, what it is differentiable with respect
to, and benchmark shapes.

The one table drives every check, as ggml's test-backend-ops and tinygrad's helper_test_op do:
forward values against the reference in float32 and float64, gradients against the reference
and by :func:`fastdl.gradcheck`, every CPU kernel set for kernel-backed operations, the GPU
against the CPU (tests/test_op_cases.py and tests/test_cuda_ops.py run
:mod:`fastdl.testing.checks` over it), and the shapes ``python -m fastdl.bench`` times.

A row is an :class:`OpCase`; the rows live in one module per family. To add an operation, add
its rows to its family's ``CASES``.

>>> from fastdl.testing import op_cases
>>> relu = op_cases.case_named("relu")
>>> relu.kernel, relu.shapes[:3]
(True, (((0,),), ((1,),), ((7,),)))
>>> [case.name for case in op_cases.FAMILIES["softmax"]][:2]
['softmax', 'softmax(axis=0)']
"""
from fastdl.testing.op_cases import (activation, arithmetic, attention, contraction, conv,
                                     dropout, elementwise, gathering, linalg, losses, matmul,
                                     normalization, pool, recurrent, reduction, selection, shape,
                                     softmax)
from fastdl.testing.op_cases.case import (DEFAULT_TOLERANCE, GPU_TOLERANCE,
                                          GRADCHECK_TOLERANCE, POSITIVE, BenchShape, OpCase,
                                          Sampler, Shapes, Sums, Tolerance, distinct,
                                          fan_in_normal, normal, shapes_id, uniform)

__all__ = ["FAMILIES", "CASES", "case_named", "OpCase", "Tolerance", "Sums", "BenchShape",
           "Sampler", "Shapes", "DEFAULT_TOLERANCE", "GRADCHECK_TOLERANCE", "GPU_TOLERANCE",
           "POSITIVE", "uniform", "normal", "fan_in_normal", "distinct", "shapes_id"]

#: Family name -> its cases, in the order the tests run them.
FAMILIES: dict[str, list[OpCase]] = {
    "arithmetic": arithmetic.CASES,
    "elementwise": elementwise.CASES,
    "reduction": reduction.CASES,
    "shape": shape.CASES,
    "selection": selection.CASES,
    "gathering": gathering.CASES,
    "matmul": matmul.CASES,
    "contraction": contraction.CASES,
    "linalg": linalg.CASES,
    "activation": activation.CASES,
    "softmax": softmax.CASES,
    "conv": conv.CASES,
    "pool": pool.CASES,
    "dropout": dropout.CASES,
    "normalization": normalization.CASES,
    "losses": losses.CASES,
    "recurrent": recurrent.CASES,
    "attention": attention.CASES,
}

#: Every case of every family.
CASES: list[OpCase] = [case for cases in FAMILIES.values() for case in cases]

_BY_NAME = {case.name: case for case in CASES}
if len(_BY_NAME) != len(CASES):
    _shared = sorted({case.name for case in CASES if _BY_NAME[case.name] is not case})
    raise ValueError(f"fastdl.testing.op_cases: cases share the names {_shared}")


def case_named(name: str) -> OpCase:
    """The case called ``name``.

    >>> case_named("matmul").kernel
    True
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no operation case named {name!r}") from None
