"""``python -m fastdl.bench --device cuda``: fastdl's CUDA kernels against CuPy (cuBLAS) and
PyTorch CUDA (cuBLAS, cuDNN), on one GPU, in one process.

Every implementation of a case runs on the same device arrays. Each timing sample is a run of
calls between two CUDA events on the current stream, long enough to dwarf the launch cost; the
implementations take turns sample by sample, and the table gives the median per call. Every
fastdl result is compared with the first reference's before it is timed, by the relative
error of the whole array, ``|ours - ref| / |ref|`` (Frobenius norms).

Families: ``matmul`` (float32 SGEMM, each kernel version, and TF32), ``conv`` (forward and
backward of the MNIST CNN's convolutions), ``memory`` (memory-bound kernels, as a share of the
device-to-device copy bandwidth measured in the same run).
"""
from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

#: Timing samples per implementation, and the shortest sample in seconds.
REPEATS = 9
MIN_SAMPLE_S = 0.02


@dataclass
class Row:
    family: str
    case: str
    impl: str
    ms: float = float("nan")
    rate: float = float("nan")  # TFLOP/s or GB/s, by family
    unit: str = ""
    error: Optional[float] = None  # relative error against the reference
    note: str = ""
    extra: dict = field(default_factory=dict)


def _cupy():
    import cupy
    return cupy


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def _time(fn: Callable[[], Any]) -> float:
    """Seconds per call of ``fn`` over one sample of enough calls (CUDA events)."""
    cp = _cupy()
    start, end = cp.cuda.Event(), cp.cuda.Event()
    calls = 1
    while True:
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        seconds = cp.cuda.get_elapsed_time(start, end) / 1e3
        if seconds >= MIN_SAMPLE_S or calls >= 1 << 16:
            return seconds / calls
        calls = max(calls * 2, int(calls * MIN_SAMPLE_S / max(seconds, 1e-7)))


def _interleaved(impls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each implementation, sampled in turns after a warm-up."""
    for fn in impls.values():
        fn()
        fn()
    samples: dict[str, list] = {name: [] for name in impls}
    for _ in range(repeats):
        for name, fn in impls.items():
            samples[name].append(_time(fn))
    return {name: statistics.median(s) for name, s in samples.items()}


def _relative_error(ours: Any, ref: Any) -> float:
    cp = _cupy()
    ours, ref = cp.asarray(ours, dtype=cp.float64), cp.asarray(ref, dtype=cp.float64)
    return float(cp.linalg.norm(ours - ref) / max(float(cp.linalg.norm(ref)), 1e-30))


def _as_cupy(t: Any):
    """A PyTorch CUDA tensor as a CuPy array, without a copy."""
    return _cupy().from_dlpack(t.detach())


# --------------------------------------------------------------------------- matmul

MATMUL_SHAPES = [(4096, 4096, 4096), (2048, 2048, 2048), (1024, 1024, 1024), (64, 784, 128),
                 (64, 128, 10), (7744, 64, 64)]
MATMUL_VERSIONS = {1: "v1 smem tiles", 2: "v2 2-D blocking", 3: "v3 float4 loads",
                   4: "v4 warptiling"}


def matmul_rows(quick: bool) -> list[Row]:
    from fastdl import cuda as fastdl_cuda
    from fastdl.backend import cuda
    cp, torch = _cupy(), _torch()
    rows = []
    for m, k, n in MATMUL_SHAPES[2:] if quick else MATMUL_SHAPES:
        rng = np.random.default_rng(0)
        a = cp.asarray(rng.standard_normal((m, k), dtype=np.float32))
        b = cp.asarray(rng.standard_normal((k, n), dtype=np.float32))
        label = f"{m}x{k}x{n}"
        flops = 2.0 * m * n * k
        reference = cp.matmul(a, b)
        impls: dict[str, Callable] = {"cupy (cuBLAS)": lambda: cp.matmul(a, b)}
        errors: dict[str, float] = {}
        for version, name in MATMUL_VERSIONS.items():
            if version < 3 and m * n * k > 2048 ** 3:
                continue  # the first rungs of the ladder take seconds here: they teach, not race
            impls[f"fastdl {name}"] = (lambda v=version: cuda.matmul(a, b, version=v))
            errors[f"fastdl {name}"] = _relative_error(impls[f"fastdl {name}"](), reference)
        if torch is not None:
            ta, tb = torch.as_tensor(a, device="cuda"), torch.as_tensor(b, device="cuda")
            torch.backends.cuda.matmul.allow_tf32 = False
            impls["torch (cuBLAS)"] = lambda: torch.matmul(ta, tb)
        times = _interleaved(impls, REPEATS)
        for name, seconds in times.items():
            rows.append(Row("matmul", label, name, seconds * 1e3, flops / seconds / 1e12,
                            "TFLOP/s", errors.get(name)))
        # TF32 tensor cores: fastdl's switch against PyTorch's cuBLAS with TF32 allowed.
        previous = fastdl_cuda.allow_tf32
        fastdl_cuda.allow_tf32 = True
        try:
            tf32 = {"fastdl tf32": lambda: cuda.matmul(a, b)}
            errors = {"fastdl tf32": _relative_error(tf32["fastdl tf32"](), reference)}
            if torch is not None:
                torch.backends.cuda.matmul.allow_tf32 = True
                tf32["torch tf32 (cuBLAS)"] = lambda: torch.matmul(ta, tb)
                errors["torch tf32 (cuBLAS)"] = _relative_error(_as_cupy(torch.matmul(ta, tb)),
                                                                reference)
            for name, seconds in _interleaved(tf32, REPEATS).items():
                rows.append(Row("matmul", label, name, seconds * 1e3, flops / seconds / 1e12,
                                "TFLOP/s", errors.get(name)))
        finally:
            fastdl_cuda.allow_tf32 = previous
            if torch is not None:
                torch.backends.cuda.matmul.allow_tf32 = False
    return rows


# --------------------------------------------------------------------------- conv

# The MNIST CNN's convolutions (examples/mnist_cnn.py): (height, width, in, out, activation).
CONV_LAYERS = [("conv1 28x28x1->32 relu", 28, 28, 1, 32, "relu", False),
               ("conv2 13x13x32->64", 13, 13, 32, 64, None, True)]
CONV_BATCHES = (64, 256)


def conv_rows(quick: bool) -> list[Row]:
    from fastdl.backend import cuda
    from fastdl.backend.geometry import conv2d_geometry
    from fastdl.ops.convolution import conv2d_gradients
    cp, torch = _cupy(), _torch()
    rows = []
    for batch in CONV_BATCHES[:1] if quick else CONV_BATCHES:
        for name, h, w_, c, co, act, need_dx in CONV_LAYERS:
            rng = np.random.default_rng(1)
            x = cp.asarray(rng.standard_normal((batch, h, w_, c), dtype=np.float32))
            w = cp.asarray(rng.standard_normal((3, 3, c, co), dtype=np.float32) * 0.2)
            b = cp.asarray(rng.standard_normal(co, dtype=np.float32))
            geometry = conv2d_geometry(x.shape, w.shape, 1, "valid", 1)
            y = cuda.conv2d_forward(x, w, b, *geometry, act)
            dy = cp.asarray(rng.standard_normal(y.shape, dtype=np.float32))
            label = f"{name}, batch {batch}"
            flops = 2.0 * y.size * 9 * c * (3 if need_dx else 2)  # forward, dW (and dX)

            def ours(x=x, w=w, b=b, dy=dy, geometry=geometry, act=act, need_dx=need_dx):
                out = cuda.conv2d_forward(x, w, b, *geometry, act)
                return conv2d_gradients(cuda, dy, x, w, geometry, (need_dx, True, True),
                                        act, out)

            impls: dict[str, Callable] = {"fastdl": ours}
            errors = {}
            if torch is not None:
                torch.backends.cudnn.benchmark = True
                torch.backends.cudnn.allow_tf32 = False  # exact float32, as fastdl's kernels
                for layout, fmt in (("NCHW", torch.contiguous_format),
                                    ("NHWC", torch.channels_last)):
                    tx = torch.as_tensor(x, device="cuda").permute(0, 3, 1, 2).contiguous(
                        memory_format=fmt).requires_grad_(need_dx)
                    tw = torch.as_tensor(w, device="cuda").permute(3, 2, 0, 1).contiguous(
                        memory_format=fmt).requires_grad_(True)
                    tb = torch.as_tensor(b, device="cuda").requires_grad_(True)
                    tdy = torch.as_tensor(dy, device="cuda").permute(0, 3, 1, 2).contiguous(
                        memory_format=fmt)

                    def theirs(tx=tx, tw=tw, tb=tb, tdy=tdy, need_dx=need_dx):
                        out = torch.nn.functional.conv2d(tx, tw, tb)
                        if act == "relu":
                            out = torch.relu(out)
                        wrt = [tw, tb] + ([tx] if need_dx else [])
                        return torch.autograd.grad(out, wrt, tdy)

                    impls[f"torch cuDNN {layout}"] = theirs
                    if not errors:  # check dW against cuDNN's, in HWIO
                        dw_ref = _as_cupy(theirs()[0].permute(2, 3, 1, 0).contiguous())
                        errors["fastdl"] = _relative_error(ours()[1], dw_ref)
            for impl, seconds in _interleaved(impls, REPEATS).items():
                rows.append(Row("conv", label, impl, seconds * 1e3, flops / seconds / 1e12,
                                "TFLOP/s", errors.get(impl)))
    return rows


# --------------------------------------------------------------------------- memory-bound

MEMORY_ELEMENTS = 1 << 26  # 256 MiB of float32: far beyond the L2 cache


def memory_rows(quick: bool) -> list[Row]:
    from fastdl.backend import cuda
    cp = _cupy()
    n = MEMORY_ELEMENTS >> 2 if quick else MEMORY_ELEMENTS
    rng = np.random.default_rng(2)
    x = cp.asarray(rng.standard_normal(n, dtype=np.float32))
    g = cp.asarray(rng.standard_normal(n, dtype=np.float32))
    copy_dst = cp.empty_like(x)
    cols = 1000
    logits = x[: n - n % cols].reshape(-1, cols)
    labels = cp.asarray(rng.integers(0, cols, len(logits)))
    params = [cp.asarray(rng.standard_normal(n // 8, dtype=np.float32)) for _ in range(8)]
    grads = [cp.asarray(rng.standard_normal(n // 8, dtype=np.float32)) for _ in range(8)]
    moments = [cp.zeros_like(p) for p in params]
    velocities = [cp.zeros_like(p) for p in params]

    def adam():
        cuda.adam_step(params, grads, moments, velocities, None, 1, 1e-3, 0.9, 0.999, 1e-7, 0.0,
                       None, None, None)

    f4 = 4
    # name -> (call, bytes moved, reference result or None)
    cases: dict[str, tuple] = {
        "copy (cudaMemcpy D2D)": (lambda: copy_dst.__setitem__(Ellipsis, x), 2 * n * f4, None),
        "relu forward": (lambda: cuda.activation_forward("relu", x), 2 * n * f4, cp.maximum(x, 0)),
        "sigmoid backward": (lambda: cuda.activation_backward("sigmoid", g, x),
                             3 * n * f4, g * (x - x * x)),
        "softmax rows of 1000": (lambda: cuda.softmax(logits, -1), 2 * logits.size * f4, None),
        "softmax cross-entropy + grad": (
            lambda: cuda.softmax_cross_entropy_with_grad(logits, labels),
            2 * logits.size * f4, None),
        "adam, 8 tensors": (adam, 7 * n * f4, None),  # p, g, m, v read; p, m, v written
    }
    times = _interleaved({name: call for name, (call, _, _) in cases.items()}, REPEATS)
    copy_rate = cases["copy (cudaMemcpy D2D)"][1] / times["copy (cudaMemcpy D2D)"] / 1e9
    rows = []
    for name, (call, moved, reference) in cases.items():
        rate = moved / times[name] / 1e9
        error = None if reference is None else _relative_error(call(), reference)
        rows.append(Row("memory", f"{n} float32", name, times[name] * 1e3, rate, "GB/s", error,
                        extra={"share_of_copy": rate / copy_rate}))
    return rows


FAMILIES: dict[str, Callable[[bool], list[Row]]] = {
    "matmul": matmul_rows, "conv": conv_rows, "memory": memory_rows}


def describe_gpu() -> dict:
    import fastdl
    cp = _cupy()
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    torch = _torch()
    return {"gpu": fastdl.cuda.get_device_name(), "multiprocessors": props["multiProcessorCount"],
            "cupy": cp.__version__, "torch": None if torch is None else torch.__version__,
            "cuda_runtime": cp.cuda.runtime.runtimeGetVersion()}


def print_rows(rows: list[Row], out=sys.stdout) -> None:
    for family in dict.fromkeys(r.family for r in rows):
        print(f"\n== {family}", file=out)
        current = None
        for r in (r for r in rows if r.family == family):
            if r.case != current:
                current = r.case
                print(f"  {r.case}", file=out)
            reference = next((x for x in rows if x.case == r.case and x.family == family
                              and not x.impl.startswith("fastdl")), None)
            ratio = "" if reference is None or r is reference else \
                f"  {reference.ms / r.ms:5.2f}x {reference.impl}"
            share = f"  {r.extra['share_of_copy']:.0%} of copy" if "share_of_copy" in r.extra \
                else ""
            error = "" if r.error is None else f"  rel.err {r.error:.1e}"
            print(f"    {r.impl:28s} {r.ms:9.3f} ms  {r.rate:8.2f} {r.unit}{ratio}{share}{error}",
                  file=out)


def main(families: list[str], quick: bool, json_path: Optional[str]) -> int:
    import fastdl
    if not fastdl.cuda.is_available():
        print("error: --device cuda needs a GPU, CuPy and fastdl built with its CUDA kernels",
              file=sys.stderr)
        return 2
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        print(f"error: unknown GPU family {unknown[0]!r}; choose from {', '.join(FAMILIES)}",
              file=sys.stderr)
        return 2
    gpu = describe_gpu()
    print(f"fastdl.bench on {gpu['gpu']}: {', '.join(families)}", file=sys.stderr)
    rows = [row for family in families for row in FAMILIES[family](quick)]
    print_rows(rows)
    if json_path:
        from fastdl.bench import report
        report.write_json(json_path, {"schema": "fastdl.bench.gpu/1", "device": gpu,
                                      "repeats": REPEATS, "min_sample_s": MIN_SAMPLE_S,
                                      "results": [r.__dict__ for r in rows]})
    return 0
