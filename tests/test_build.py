"""The native build: build facts, thread control, kernel-set selection."""
import os
import subprocess
import sys

import pytest

import fastdl
from fastdl import _C


def run_python(code, **env):
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env),
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_build_info_reports_the_build():
    info = fastdl.build_info()
    assert {"version", "openmp", "avx2", "cuda", "num_threads", "isa"} <= info.keys()
    assert isinstance(info["version"], str) and info["version"]
    assert isinstance(info["openmp"], bool) and isinstance(info["cuda"], bool)
    assert info["avx2"] == (info["isa"] == "avx2")
    assert info["num_threads"] == fastdl.get_num_threads() >= 1
    assert fastdl.__version__ == info["version"]


def test_set_num_threads_round_trips():
    old = fastdl.get_num_threads()
    try:
        fastdl.set_num_threads(1)
        assert fastdl.get_num_threads() == 1
        assert fastdl.build_info()["num_threads"] == 1
    finally:
        fastdl.set_num_threads(old)


@pytest.mark.skipif(not _C.openmp_enabled(), reason="built without OpenMP: always one thread")
def test_omp_num_threads_is_honoured():
    assert run_python("import fastdl; print(fastdl.get_num_threads())", OMP_NUM_THREADS="3") == "3"


def test_avx2_is_used_when_the_cpu_has_it():
    info = fastdl.build_info()
    assert info["isa"] == ("avx2" if info["avx2_available"] else "generic")


def test_isa_selection_rejects_unknown_names():
    with pytest.raises(ValueError, match="set_isa: unknown ISA 'sse9'; expected 'avx2' or 'generic'"):
        _C.set_isa("sse9")


@pytest.mark.skipif(_C.isa_available("avx2"), reason="this CPU supports AVX2")
def test_requesting_avx2_without_support_raises():
    with pytest.raises(ValueError, match="'avx2' kernels are not available"):
        _C.set_isa("avx2")
