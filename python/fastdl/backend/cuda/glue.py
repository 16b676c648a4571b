"""The CUDA side of the small helpers that operations call through the backend module
(:mod:`fastdl.backend.cpu` has the CPU side): dtype harmonization, gathered rows, scattered
adds and the sums a bias's gradient takes."""
from __future__ import annotations

from fastdl.backend.cuda import runtime

__all__ = ["as_float_arrays", "index_add", "take_rows", "index_add_rows", "sum_leading_axes"]


def as_float_arrays(op: str, *arrays):
    """The operands as float32 CuPy arrays; TypeError for any other dtype (the CUDA kernels
    compute in float32)."""
    return runtime.float32_operands(op, *arrays)


def index_add(out, index, values) -> None:
    """``out[index] += values`` in place, with repeated indices adding up."""
    import cupyx
    cupyx.scatter_add(out, index, values)


def take_rows(a, index):
    """``a[index]`` for 1-D indices in ``[0, len(a))``."""
    return a.take(index, axis=0)


def index_add_rows(out, index, values) -> None:
    """``out[index[i]] += values[i]`` for every i, in place, repeated indices adding up
    (atomic adds)."""
    import cupyx
    cupyx.scatter_add(out, index, values)


def sum_leading_axes(a, lead: int):
    """``a.sum(axis=tuple(range(lead)))``, as a bias's gradient sums its output's."""
    return a.sum(axis=tuple(range(lead)))
