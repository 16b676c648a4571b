"""CPU kernels on NumPy arrays: thin wrappers over ``fastdl._C``, one module per kernel family,
with the names and signatures of :mod:`fastdl.backend.cuda`'s, so that an operation calls the
same function whichever device its arrays are on. The package offers every family's functions
(:mod:`fastdl.backend.families`).

Each function checks what NumPy semantics need (promotion, broadcasting, 1-D operands) and lets
the native entry point validate shapes and dtypes; every result is a new array that shares no
memory with the inputs.
"""
from fastdl.backend.families import export_families

__all__ = export_families(__name__, __path__, globals())
