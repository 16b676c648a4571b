"""Threads and build facts of the native kernels."""
from __future__ import annotations

from importlib import metadata
from typing import Any

from fastdl import _C


def get_num_threads() -> int:
    """Number of threads the CPU kernels use.

    Starts at OpenMP's default, which honours ``OMP_NUM_THREADS``.

    >>> import fastdl
    >>> fastdl.get_num_threads() >= 1
    True
    """
    return _C.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of threads the CPU kernels use (``n >= 1``).

    >>> import fastdl
    >>> old = fastdl.get_num_threads()
    >>> fastdl.set_num_threads(1)
    >>> fastdl.get_num_threads()
    1
    >>> fastdl.set_num_threads(old)
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    _C.set_num_threads(n)


def _cuda_built() -> bool:
    try:
        from fastdl import _cuda  # noqa: F401
    except ImportError:
        return False
    return True


def _version() -> str:
    try:
        return metadata.version("fastdl")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def build_info() -> dict[str, Any]:
    """Facts about the native build and the kernels in use.

    Keys: ``version``; ``openmp`` (built with OpenMP); ``avx2`` (the AVX2/FMA kernels are in
    use); ``isa`` (``'avx2'`` or ``'generic'``); ``avx2_available`` (this CPU and build support
    them); ``cuda`` (the CUDA extension was built); ``num_threads``.

    >>> import fastdl
    >>> sorted(k for k in fastdl.build_info() if k in ("avx2", "cuda", "openmp"))
    ['avx2', 'cuda', 'openmp']
    """
    isa = _C.active_isa()
    return {
        "version": _version(),
        "openmp": _C.openmp_enabled(),
        "avx2": isa == "avx2",
        "isa": isa,
        "avx2_available": _C.isa_available("avx2"),
        "cuda": _cuda_built(),
        "num_threads": _C.get_num_threads(),
    }
