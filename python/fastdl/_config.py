"""Threads and build facts of the native kernels."""
from __future__ import annotations

from importlib import metadata
from typing import Any

from fastdl import _C

# The CPU kernel sets, best first.
_ISAS = ("avx512", "avx2", "generic")


def get_num_threads() -> int:
    """Number of threads the CPU kernels use.

    Starts at ``FASTDL_NUM_THREADS``, else the first number of ``OMP_NUM_THREADS``, else the
    cores this process may run on.

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

    Keys: ``version``; ``isa``, the kernel set in use
    (``'avx512'``, ``'avx2'`` or ``'generic'``: the best one this CPU supports, unless the
    environment variable ``FASTDL_ISA`` asks for a lower one); ``isas_built`` and
    ``isas_available`` (built, and able to run on this CPU and OS), best first; ``avx2``
    (the AVX2/FMA kernels are in use) and ``avx2_available``; ``cuda`` (the CUDA extension was
    built); ``num_threads``.

    >>> import fastdl
    >>> info = fastdl.build_info()
    >>> info["isa"] in info["isas_available"] and "generic" in info["isas_built"]
    True
    """
    isa = _C.active_isa()
    return {
        "version": _version(),
        "isa": isa,
        "isas_built": [name for name in _ISAS if _C.isa_built(name)],
        "isas_available": [name for name in _ISAS if _C.isa_available(name)],
        "avx2": isa == "avx2",
        "avx2_available": _C.isa_available("avx2"),
        "cuda": _cuda_built(),
        "num_threads": _C.get_num_threads(),
    }
