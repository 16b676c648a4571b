"""Every operation of the table (fastdl.testing.op_cases): forward values against the float64
reference in each dtype, gradients against the reference and by gradcheck in float64; the
kernel-backed ones on every CPU kernel set (the `isa` fixture) and at each thread count they
name. tests/test_cuda_ops.py runs the same table on the GPU."""
import contextlib

import pytest

import fastdl
from fastdl.testing import op_cases
from fastdl.testing.checks import check_gradients, check_values
from fastdl.testing.op_cases import shapes_id

from conftest import ISAS


def _value_checks(kernel: bool) -> list:
    """(case, shapes, dtype, thread count or None) of every value check of the kernel cases, or
    of the others."""
    return [(case, shapes, dtype, threads)
            for case in op_cases.CASES if case.kernel == kernel
            for shapes in case.shapes
            for dtype in case.dtypes
            for threads in case.threads or (None,)]


def _id(case, shapes, dtype, threads=None) -> str:
    label = f"{case.name}-{shapes_id(shapes)}-{dtype}"
    return label if threads is None else f"{label}-{threads}thread{'s' * (threads > 1)}"


KERNEL_CHECKS = [pytest.param(*check, id=_id(*check)) for check in _value_checks(kernel=True)]
OTHER_CHECKS = [pytest.param(case, shapes, dtype, id=_id(case, shapes, dtype))
                for case, shapes, dtype, _ in _value_checks(kernel=False)]
GRADCHECKS = [pytest.param(case, shapes, id=f"{case.name}-{shapes_id(shapes)}")
              for case in op_cases.CASES for shapes in case.shapes_to_gradcheck]


@contextlib.contextmanager
def _threads(count):
    """fastdl's thread count set to ``count`` (None: left as it is) for the block."""
    if count is None:
        yield
        return
    previous = fastdl.get_num_threads()
    fastdl.set_num_threads(count)
    try:
        yield
    finally:
        fastdl.set_num_threads(previous)


# The ISA varies fastest, so that each case's inputs and reference results are made once.
@pytest.mark.parametrize("isa", ISAS, indirect=True)
@pytest.mark.parametrize("case, shapes, dtype, threads", KERNEL_CHECKS)
def test_kernel_op_values_and_gradients(case, shapes, dtype, threads, isa):
    with _threads(threads):
        check_values(case, shapes, dtype)


@pytest.mark.parametrize("case, shapes, dtype", OTHER_CHECKS)
def test_op_values_and_gradients(case, shapes, dtype):
    check_values(case, shapes, dtype)


@pytest.mark.parametrize("case, shapes", GRADCHECKS)
def test_gradcheck(case, shapes):
    check_gradients(case, shapes)
