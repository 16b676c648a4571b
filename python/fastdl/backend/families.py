"""How a device backend gathers its kernel families: each module of ``backend/cpu/`` and
``backend/cuda/`` lists what it offers in ``__all__``, and the package exposes all of it, so that
an operation calls ``kernels_for(array).<name>`` whichever family the name lives in, and a new
family is one new module per device, registered nowhere else.

>>> from fastdl.backend import cpu
>>> cpu.matmul is cpu.gemm.matmul, "softmax_backward" in cpu.__all__
(True, True)
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Iterable


def export_families(package: str, path: Iterable[str], namespace: dict[str, Any]) -> list[str]:
    """Imports every module of ``package`` (found on ``path``) and puts the names of each one's
    ``__all__`` into ``namespace``, the package's globals; returns those names, sorted. Two
    modules offering one name is an error: the name would be ambiguous."""
    names: dict[str, str] = {}
    for info in pkgutil.iter_modules(path):
        module = importlib.import_module(f"{package}.{info.name}")
        for name in getattr(module, "__all__", ()):
            if name in names:
                raise ImportError(f"{package}: {name} is offered by both {names[name]} and "
                                  f"{info.name}")
            names[name] = info.name
            namespace[name] = getattr(module, name)
    return sorted(names)
