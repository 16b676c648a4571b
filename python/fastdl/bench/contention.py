"""``python -m fastdl.bench contention``: fastdl's kernels beside other thread pools and a busy
core, as a user's program meets them.

Each operation is timed, call by call, under these conditions:

* ``alone``: back to back, on an otherwise idle machine;
* ``1 thread``: the same on one thread (the floor a busy core must not push us below);
* ``after numpy``: each call preceded by a NumPy product that wakes OpenBLAS's threads
  (64x784 @ 784x128, the MLP's layer), as preprocessing or metrics between steps do;
* ``after torch``: each call preceded by PyTorch's same product, which wakes its OpenMP pool;
* ``busy core``: back to back while another process keeps one core busy (started and stopped
  here).

The operations: the MLP's layer (``fastdl.linear`` 64x784 @ 784x128, relu), a 512^3 matmul, the
CNN's two convolutions (batch 64: 28x28x1 -> 32 and 13x13x32 -> 64, 3x3) and an Adam step on the
MLP's 101,770 parameters. PyTorch's same operations run under the same conditions (with NumPy
and the busy core) when it is installed. Reported: the median time per call, and its ratio to
the same library's time alone. The conditions take turns: every (operation, library,
condition) is timed once per round, and the report gives the median of its rounds, so that a
noisy moment on the machine lands on one round rather than on one condition.

    python -m fastdl.bench contention [--quick] [--threads 2] [--filter TEXT] [--json PATH]
"""
from __future__ import annotations

import datetime
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

import fastdl
from fastdl.bench import machine, report

#: Conditions in the order they are run and reported.
CONDITIONS = ("alone", "1 thread", "after numpy", "after torch", "busy core")
#: Rounds, the seconds each (operation, condition, library) is timed for per round, and at
#: least this many calls per round.
FULL, QUICK = (5, 0.3, 30), (1, 0.1, 5)
#: A process that keeps one core busy until it is stopped.
SPINNER = "while True:\n    pass\n"


@dataclass
class Operation:
    """One operation in each library: a zero-argument callable per library name."""

    name: str
    shape: str
    calls: dict[str, Callable[[], Any]]


def operations(torch: Any) -> list[Operation]:
    rng = np.random.default_rng(0)

    def randn(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32)

    x, w, b = randn(64, 784), randn(784, 128), randn(128)
    a512, b512 = randn(512, 512), randn(512, 512)
    image, kernel1 = randn(64, 28, 28, 1), randn(3, 3, 1, 32)
    maps, kernel2 = randn(64, 13, 13, 32), randn(3, 3, 32, 64)
    params = [randn(784, 128), randn(128), randn(128, 10), randn(10)]
    grads = [randn(*p.shape) for p in params]
    variables = [fastdl.tensor(p.copy(), requires_grad=True) for p in params]
    adam = fastdl.optimizers.Adam()
    ops = [
        Operation("linear relu", "64x784 @ 784x128",
                  {"fastdl": lambda: fastdl.linear(x, w, b, activation="relu")}),
        Operation("matmul", "512x512 @ 512x512", {"fastdl": lambda: fastdl.matmul(a512, b512)}),
        Operation("conv2d", "64x28x28x1 -> 32, 3x3",
                  {"fastdl": lambda: fastdl.conv2d(image, kernel1, activation="relu")}),
        Operation("conv2d", "64x13x13x32 -> 64, 3x3",
                  {"fastdl": lambda: fastdl.conv2d(maps, kernel2, activation="relu")}),
        Operation("adam step", "101,770 parameters",
                  {"fastdl": lambda: adam.apply_gradients(zip(grads, variables))}),
    ]
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(v) for v in (x, w, b))
        ta, tb512 = torch.from_numpy(a512), torch.from_numpy(b512)
        timage = torch.from_numpy(image).permute(0, 3, 1, 2).contiguous(
            memory_format=torch.channels_last)
        tmaps = torch.from_numpy(maps).permute(0, 3, 1, 2).contiguous(
            memory_format=torch.channels_last)
        tk1, tk2 = (torch.from_numpy(k).permute(3, 2, 0, 1).contiguous()
                    for k in (kernel1, kernel2))
        tparams = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
        for p, g in zip(tparams, grads):
            p.grad = torch.from_numpy(g)
        tadam = torch.optim.Adam(tparams, eps=1e-7)
        torch_calls = [lambda: torch.relu(torch.addmm(tb, tx, tw)), lambda: ta @ tb512,
                       lambda: torch.relu(torch.conv2d(timage, tk1)),
                       lambda: torch.relu(torch.conv2d(tmaps, tk2)), tadam.step]
        for op, call in zip(ops, torch_calls):
            op.calls["torch"] = call
    return ops


def median_call_us(call: Callable[[], Any], seconds: float, min_calls: int,
                   before: Optional[Callable[[], Any]] = None) -> float:
    """The median time of ``call`` in microseconds, over calls made for about ``seconds``
    (at least ``min_calls``), each preceded by ``before`` (not timed) when given."""
    call()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < min_calls or time.perf_counter() < deadline:
        if before is not None:
            before()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


class BusyCore:
    """Another process spinning on one core while the block runs."""

    def __enter__(self) -> "BusyCore":
        self.process = subprocess.Popen([sys.executable, "-c", SPINNER])
        time.sleep(0.2)  # let it start spinning
        return self

    def __exit__(self, *exc: Any) -> None:
        self.process.kill()
        self.process.wait()


def set_threads(torch: Any, n: int) -> None:
    fastdl.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)


def measure(ops: list[Operation], torch: Any, threads: int, rounds: int, seconds: float,
            min_calls: int) -> list[dict]:
    """One row per (operation, library, condition): the median over ``rounds`` rounds."""
    rng = np.random.default_rng(1)
    px, pw = (rng.standard_normal(s, dtype=np.float32) for s in ((64, 784), (784, 128)))
    partners: dict[str, Optional[Callable[[], Any]]] = {"after numpy": lambda: px @ pw}
    if torch is not None:
        tpx, tpw = torch.from_numpy(px), torch.from_numpy(pw)
        partners["after torch"] = lambda: tpx @ tpw
    previous = (fastdl.get_num_threads(), None if torch is None else torch.get_num_threads())
    measured: dict[tuple[int, str, str], list[float]] = {}
    for _ in range(rounds):
        for index, op in enumerate(ops):
            for library, call in op.calls.items():
                for condition in CONDITIONS:
                    if condition == "after torch" and (library == "torch" or torch is None):
                        continue  # PyTorch after itself is its "alone"
                    set_threads(torch, 1 if condition == "1 thread" else threads)
                    if condition == "busy core":
                        with BusyCore():
                            us = median_call_us(call, seconds, min_calls)
                    else:
                        us = median_call_us(call, seconds, min_calls, partners.get(condition))
                    measured.setdefault((index, library, condition), []).append(us)
    fastdl.set_num_threads(previous[0])
    if torch is not None:
        torch.set_num_threads(previous[1])
    return [{"operation": ops[index].name, "shape": ops[index].shape, "library": library,
             "condition": condition, "threads": 1 if condition == "1 thread" else threads,
             "median_us": statistics.median(rounds_us), "rounds_us": rounds_us}
            for (index, library, condition), rounds_us in measured.items()]


def table(rows: list[dict]) -> list[str]:
    """Lines of the report: per operation and library, each condition's time and its ratio to
    the library's time alone."""
    alone = {(r["operation"], r["shape"], r["library"]): r["median_us"] for r in rows
             if r["condition"] == "alone"}
    lines = [f"{'operation':<14} {'shape':<24} {'library':<7} {'condition':<12} "
             f"{'median us':>10} {'x alone':>8}"]
    for r in rows:
        base = alone[(r["operation"], r["shape"], r["library"])]
        lines.append(f"{r['operation']:<14} {r['shape']:<24} {r['library']:<7} "
                     f"{r['condition']:<12} {r['median_us']:>10.1f} "
                     f"{r['median_us'] / base:>7.2f}x")
    return lines


def main(quick: bool = False, threads: int = 2, json_path: Optional[str] = None,
         argv: Sequence[str] = (), only: Optional[str] = None) -> int:
    try:
        import torch
    except ImportError:
        torch = None
    rounds, seconds, min_calls = QUICK if quick else FULL
    print(f"fastdl.bench contention: {threads} threads, {rounds} round(s) of about {seconds} s "
          f"per measurement"
          f"{'' if torch is not None else '; PyTorch not installed'}", file=sys.stderr)
    ops = [op for op in operations(torch) if not only or only in op.name or only in op.shape]
    if not ops:
        print(f"no operation's name or shape contains {only!r}", file=sys.stderr)
        return 2
    rows = measure(ops, torch, threads, rounds, seconds, min_calls)
    for line in table(rows):
        print(line)
    if json_path:
        report.write_json(json_path, {
            "schema": "fastdl.bench.contention/1",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "argv": list(argv),
            "machine": machine.describe(),
            "method": {"conditions": list(CONDITIONS), "rounds": rounds,
                       "seconds_per_measurement": seconds, "min_calls": min_calls,
                       "statistic": "median per call in each round; median of the rounds",
                       "partner": "64x784 @ 784x128 float32 product before each timed call",
                       "busy_core": "a second Python process spinning"},
            "results": rows,
        })
        print(f"wrote {json_path}", file=sys.stderr)
    return 0
