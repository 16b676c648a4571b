"""One thread count per process.

NumPy's OpenBLAS (like MKL and OpenMP runtimes) sizes its thread pool from the environment when
it is loaded and cannot be resized reliably afterwards, so every thread count runs in a fresh
child (``python -m fastdl.bench --_worker``) started with ``OMP_NUM_THREADS`` and friends set.
The child prints its results as JSON on stdout; the parent merges and reports them.
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

import fastdl
from fastdl.bench import optional
from fastdl.bench.cases import select
from fastdl.bench.harness import Context, result_rows, run_case

#: Environment variables that size the thread pools of OpenMP and the BLAS libraries.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

SEED = 1234

#: Untimed calls before each timing sample when several threads run: longer than the ~0.1 s
#: that OpenBLAS's idle workers spin after a call, so one library's threads never compete with
#: the next one's during a timed sample.
SETTLE_S = 0.15


def _loadavg() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine skews every timing."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def run_benchmarks(families: Sequence[str], threads: int, quick: bool, repeats: int,
                   min_sample_s: float, filter_text: str = "",
                   verbose: bool = True) -> dict[str, Any]:
    """Run the selected cases in this process with ``threads`` threads and return a JSON-ready
    dict: ``results`` (one row per case and implementation), ``notes`` (skipped cases) and the
    thread settings actually in force."""
    fastdl.set_num_threads(threads)
    torch = optional.load_torch(threads)
    ctx_libs = {"torch": torch, "scipy_special": optional.load_scipy_special()}
    rows: list[dict[str, Any]] = []
    notes: list[dict[str, str]] = []
    load_at_start = _loadavg()
    # On a terminal, one progress line rewritten in place; in a log, one line per case.
    tty = verbose and sys.stderr.isatty()
    for case in select(list(families), quick=quick, filter_text=filter_text):
        if verbose:
            line = f"  [{threads} thr] {case.family}: {case.label}"
            print(f"\r\033[K{line}" if tty else line, end="" if tty else "\n", file=sys.stderr,
                  flush=True)
        # The same seed for every case and process: identical inputs at every thread count.
        ctx = Context(rng=np.random.default_rng(SEED), **ctx_libs)
        result = run_case(case, ctx, repeats=repeats, min_sample_s=min_sample_s,
                          settle_s=SETTLE_S if threads > 1 else 0.0)
        if result.skipped:
            notes.append({"family": case.family, "case": case.label, "skipped": result.skipped})
        rows += result_rows(result, threads)
        del result
        gc.collect()  # free this case's inputs before the next one allocates its own
    if tty:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    return {
        "threads": threads,
        "loadavg_at_start": load_at_start,
        "loadavg_at_end": _loadavg(),
        "fastdl_threads": fastdl.get_num_threads(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "env": {var: os.environ.get(var) for var in THREAD_VARS},
        "results": rows,
        "notes": notes,
    }


def worker_main(families: Sequence[str], threads: int, quick: bool, repeats: int,
                min_sample_s: float, filter_text: str) -> int:
    """Child-process entry point: run, then write the JSON to the real stdout.

    Anything else printed meanwhile (by us, a library or native code) is sent to stderr by
    pointing file descriptor 1 there, so stdout carries nothing but the JSON document.
    """
    sys.stdout.flush()
    json_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        report = run_benchmarks(families, threads, quick, repeats, min_sample_s, filter_text)
        json.dump(report, json_out)
    finally:
        json_out.close()
    return 0


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    # The child must import this very fastdl, even when the parent found it through sys.path
    # tweaks (a test runner, an IDE) rather than an install.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(fastdl.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def run_in_subprocess(families: Sequence[str], threads: int, quick: bool, repeats: int,
                      min_sample_s: float, filter_text: str = "") -> dict[str, Any]:
    """Run the benchmarks in a child with every thread pool sized to ``threads``. Progress goes
    to our stderr as it happens; raises RuntimeError if the child fails."""
    cmd = [sys.executable, "-m", "fastdl.bench", "--_worker", "--threads", str(threads),
           "--repeats", str(repeats), "--_min-sample", repr(min_sample_s)]
    if quick:
        cmd.append("--quick")
    if filter_text:
        cmd.append(f"--filter={filter_text}")  # one token, even if the text starts with '-'
    cmd += list(families)
    proc = subprocess.run(cmd, env=_child_env(threads), stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker for {threads} thread(s) exited with "
                           f"status {proc.returncode}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"benchmark worker for {threads} thread(s) wrote no valid JSON: {exc}") from exc
