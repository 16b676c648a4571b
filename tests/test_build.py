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
    assert {"version", "avx2", "cuda", "num_threads", "isa", "isas_built",
            "isas_available"} <= info.keys()
    assert isinstance(info["version"], str) and info["version"]
    assert isinstance(info["cuda"], bool)
    assert info["avx2"] == (info["isa"] == "avx2")
    assert info["isas_built"][-1] == info["isas_available"][-1] == "generic"
    assert set(info["isas_available"]) <= set(info["isas_built"])
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


def test_the_default_thread_count_honours_omp_num_threads_and_the_cores_allowed():
    count = "import fastdl; print(fastdl.get_num_threads())"
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OMP_NUM_THREADS", "FASTDL_NUM_THREADS")}

    def threads(**env):
        out = subprocess.run([sys.executable, "-c", count], env={**clean, **env},
                             capture_output=True, text=True, check=True)
        return int(out.stdout)

    assert threads(OMP_NUM_THREADS="3") == 3
    assert threads(OMP_NUM_THREADS="5,2") == 5  # nested levels: the first is ours
    assert threads(OMP_NUM_THREADS="3", FASTDL_NUM_THREADS="2") == 2
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert threads(OMP_NUM_THREADS="many") == threads() == cores
    if hasattr(os, "sched_getaffinity") and cores > 1:  # a process limited to one core
        out = subprocess.run(["taskset", "-c", str(min(os.sched_getaffinity(0))), sys.executable,
                              "-c", count], env=clean, capture_output=True, text=True)
        if out.returncode == 0:
            assert int(out.stdout) == 1


def best_available_up_to(requested):
    """The ISA fastdl picks when FASTDL_ISA asks for ``requested``."""
    order = ["generic", "avx2", "avx512"]
    ceiling = order.index(requested) if requested in order else len(order) - 1
    return max((name for name in fastdl.build_info()["isas_available"]
                if order.index(name) <= ceiling), key=order.index)


def test_the_best_available_isa_is_used():
    # The best one the CPU supports, unless this run's FASTDL_ISA asks for a lower one.
    assert fastdl.build_info()["isa"] == best_available_up_to(os.environ.get("FASTDL_ISA"))


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        return next(line for line in f if line.startswith("flags")).split()


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="reads /proc/cpuinfo")
def test_available_isas_follow_the_cpu_flags():
    # The kernels need what the CPU says it has (the OS-saved register state is checked too,
    # and Linux lists these flags only when it saves that state).
    flags = set(cpu_flags())
    built = fastdl.build_info()["isas_built"]
    assert _C.isa_available("avx2") == ("avx2" in built and {"avx2", "fma"} <= flags)
    wanted = {"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"}
    assert _C.isa_available("avx512") == ("avx512" in built and wanted <= flags)


@pytest.mark.parametrize("requested", ["generic", "avx2", "avx512"])
def test_fastdl_isa_asks_for_a_kernel_set_and_falls_back_below_it(requested):
    code = "import fastdl; print(fastdl.build_info()['isa'])"
    assert run_python(code, FASTDL_ISA=requested) == best_available_up_to(requested)


def test_isa_selection_rejects_unknown_names():
    expected = "unknown ISA 'sse9'; expected 'avx512', 'avx2' or 'generic'"
    for function in (_C.set_isa, _C.isa_available, _C.isa_built):
        with pytest.raises(ValueError, match=f"{function.__name__}: {expected}"):
            function("sse9")


@pytest.mark.parametrize("name", ["avx2", "avx512"])
def test_requesting_an_unavailable_isa_raises(name):
    if _C.isa_available(name):
        pytest.skip(f"this CPU and build support {name}")
    with pytest.raises(ValueError, match=f"'{name}' kernels are not available"):
        _C.set_isa(name)


def glibc_version() -> tuple:
    """The C library's version as numbers when it is glibc (``(2, 36)``), else ``()``."""
    import platform
    name, version = platform.libc_ver()
    return tuple(int(part) for part in version.split(".")) if name == "glibc" and version else ()


@pytest.mark.skipif(not glibc_version(), reason="fastdl changes glibc's allocator only")
def test_freed_memory_is_kept_unless_asked_not_to():
    """Large arrays freed by one training step are reused by the next instead of being
    faulted in again; FASTDL_RETURN_FREED_MEMORY=1 keeps the allocator's defaults."""
    code = "from fastdl import _C; print(_C.keeps_freed_memory())"
    assert run_python(code, FASTDL_RETURN_FREED_MEMORY="0") == "True"
    assert run_python(code, FASTDL_RETURN_FREED_MEMORY="1") == "False"


# glibc's own account of the heap: `arena` bytes taken from the heap, `hblkhd` bytes in blocks
# mapped one by one (which go back to the system when freed).
_HEAP_USE = """
import ctypes, numpy as np, fastdl
class MallInfo2(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                               "usmblks", "fsmblks", "uordblks", "fordblks",
                                               "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
x = np.linspace(-3, 3, 2**24, dtype=np.float32)  # 64 MiB, twice glibc's largest mmap threshold
y = fastdl.tanh(x)
mapped, heap = libc.mallinfo2().hblkhd, libc.mallinfo2().arena
del y
y = fastdl.tanh(x)
heap_again = libc.mallinfo2().arena
assert np.allclose(y.numpy(), np.tanh(x), atol=1e-6)
print(mapped >> 20, heap >> 20, heap_again >> 20)
"""


@pytest.mark.skipif(glibc_version() < (2, 33),
                    reason="reads the heap with glibc's mallinfo2, which glibc 2.33 added")
def test_freed_arrays_of_any_size_are_reused_from_the_heap():
    """An output larger than glibc's largest mmap threshold (32 MiB) comes from the heap too,
    and once freed serves the next one: before, each such array was a fresh mapping that the
    system faulted in and zeroed again (tanh on 10^7 floats spent 60 % of its time there)."""
    mapped, heap_before, heap_after = map(int, run_python(_HEAP_USE).split())
    assert mapped == 0
    # The freed 64 MiB output was reused: the heap grew by no more than small allocations.
    assert heap_before >= 128 and heap_after - heap_before < 32
    mapped, _, _ = map(int, run_python(_HEAP_USE, FASTDL_RETURN_FREED_MEMORY="1").split())
    assert mapped >= 128
