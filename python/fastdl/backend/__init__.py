"""Array-level kernels, one module per device: :mod:`fastdl.backend.cpu` on NumPy arrays and
:mod:`fastdl.backend.cuda` on CuPy arrays, with the same function names and signatures. An
operation asks :func:`kernels_for` for the module of its array and never branches on the device
itself."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from fastdl.backend import cpu


def is_gpu_array(a: Any) -> bool:
    """True for arrays in GPU memory (CuPy's, or anything with ``__cuda_array_interface__``)."""
    return not isinstance(a, np.ndarray) and hasattr(a, "__cuda_array_interface__")


def device_of(a: Any) -> str:
    """``'cuda'`` for a GPU array, ``'cpu'`` for anything else."""
    return "cuda" if is_gpu_array(a) else "cpu"


def kernels_for(a: Any) -> ModuleType:
    """The backend module for the device of array ``a``."""
    if isinstance(a, np.ndarray) or not is_gpu_array(a):  # the first test: every CPU call
        return cpu
    from fastdl.backend import cuda
    return cuda


def array_module(a: Any) -> ModuleType:
    """``numpy`` or ``cupy``: the array library of ``a``, for glue such as ``zeros``."""
    if not is_gpu_array(a):
        return np
    from fastdl.backend.cuda import runtime
    return runtime.cupy()


def array_library(device: str) -> ModuleType:
    """``numpy`` for ``'cpu'``, ``cupy`` for ``'cuda'`` (a parsed device name)."""
    if device == "cpu":
        return np
    from fastdl.backend.cuda import runtime
    return runtime.cupy()


DEVICES = ("cpu", "cuda")


def parse_device(op: str, device: Any) -> str:
    """``'cpu'`` or ``'cuda'`` from a device name (``'cuda:0'`` is the first, and only, GPU);
    ValueError naming ``op`` for anything else."""
    name = str(device).lower()
    if name in DEVICES:
        return name
    if name == "cuda:0":
        return "cuda"
    raise ValueError(f"{op}: unknown device {device!r}; expected 'cpu' or 'cuda'")


def to_device(a: Any, device: str) -> Any:
    """``a`` on ``device`` (a parsed name): itself when it is there already, else a copy."""
    if device_of(a) == device:
        return a
    from fastdl.backend.cuda import runtime
    cp = runtime.cupy()
    return cp.asarray(a) if device == "cuda" else cp.asnumpy(a)
