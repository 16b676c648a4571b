"""What a benchmark ran on: CPU, cores, library versions and builds, so results can be compared
(and distrusted) later."""
from __future__ import annotations

import os
import platform
import sys
from typing import Any

import numpy as np

import fastdl


def usable_cores() -> int:
    """Cores this process may run on: the affinity mask where the OS has one (a container or
    ``taskset`` can leave fewer than ``os.cpu_count()``), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _cpu_flags() -> dict[str, bool]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.partition(":")[2].split())
                    return {f: f in flags for f in ("avx2", "fma", "avx512f", "avx512bw",
                                                    "avx512dq", "avx512vl")}
    except OSError:
        pass
    return {}


def numpy_blas() -> dict[str, Any]:
    """NumPy's BLAS as its build configuration reports it (name, version, configuration)."""
    try:
        config = np.show_config(mode="dicts")  # NumPy >= 1.25
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return {k: blas.get(k) for k in ("name", "version", "openblas configuration") if k in blas}
    except TypeError:  # older NumPy: no mode argument
        info = getattr(np.__config__, "blas_opt_info", None) or {}
        return {"libraries": info.get("libraries")}
    except Exception as exc:  # the report is a courtesy, never a reason to fail
        return {"error": str(exc)}


def torch_info() -> dict[str, Any] | None:
    """PyTorch's version and parallel backend, or None when it is not importable."""
    try:
        import torch
    except Exception:
        return None
    info: dict[str, Any] = {"version": torch.__version__}
    try:
        info["parallel_info"] = torch.__config__.parallel_info().strip().splitlines()[:6]
    except Exception:
        pass
    return info


def describe(with_torch: bool = True) -> dict[str, Any]:
    """A JSON-ready description of this machine and the libraries being compared."""
    info: dict[str, Any] = {
        "cpu_model": cpu_model(),
        "cpu_flags": _cpu_flags(),
        "cores_usable": usable_cores(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numpy_blas": numpy_blas(),
        "fastdl": fastdl.build_info(),
    }
    try:
        import scipy

        info["scipy"] = scipy.__version__
    except Exception:
        info["scipy"] = None
    info["torch"] = torch_info() if with_torch else None
    return info
