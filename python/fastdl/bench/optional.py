"""The optional comparison libraries (PyTorch, SciPy), imported only when a benchmark runs.

``import fastdl.bench`` must work on a machine with neither: each loader returns None when its
library is missing, and the cases that need it drop that implementation or skip themselves.
"""
from __future__ import annotations

from typing import Any


def load_torch(threads: int) -> Any | None:
    """``torch`` limited to ``threads`` intra-op and inter-op threads, or None if not importable.

    ``set_num_interop_threads`` may only be called before torch starts any parallel work, which
    is why this runs first thing in a fresh worker process.
    """
    try:
        import torch
    except Exception:  # ImportError, or a broken install that fails while loading its libraries
        return None
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set, or parallel work already started: intra-op still holds
        pass
    return torch


def load_scipy_special() -> Any | None:
    """``scipy.special`` (for ``erf``, the exact GELU reference), or None if not importable."""
    try:
        import scipy.special
    except Exception:
        return None
    return scipy.special
