"""GPU kernels on CuPy arrays: thin wrappers over ``fastdl._cuda`` with the names and
signatures of :mod:`fastdl.backend.cpu`, one module per kernel family, so that an operation calls
the same function whichever device its arrays are on. The package offers every family's
functions (:mod:`fastdl.backend.families`). Outputs are allocated from CuPy's memory pool and
kernels launch on CuPy's current stream. Importing this package needs neither CuPy nor a GPU;
calling it does.
"""
from fastdl.backend.families import export_families

__all__ = export_families(__name__, __path__, globals())
