"""The CUDA side of the small helpers that operations call through the backend module
(:mod:`fastdl.backend.cpu` has the CPU side): dtype harmonization and scattered adds."""
from __future__ import annotations

from fastdl.backend.cuda import runtime

__all__ = ["as_float_arrays", "index_add"]


def as_float_arrays(op: str, *arrays):
    """The operands as float32 CuPy arrays; TypeError for any other dtype (the CUDA kernels
    compute in float32)."""
    return runtime.float32_operands(op, *arrays)


def index_add(out, index, values) -> None:
    """``out[index] += values`` in place, with repeated indices adding up."""
    import cupyx
    cupyx.scatter_add(out, index, values)
