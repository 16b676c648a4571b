"""``python -m fastdl.bench``: run kernel benchmarks against NumPy (and PyTorch when installed).

    python -m fastdl.bench                         # every family, 1 and 2 threads
    python -m fastdl.bench matmul --quick          # a fast look, well under a minute
    python -m fastdl.bench softmax --threads 1 --json out.json --plot out.png
    python -m fastdl.bench --device cuda           # the CUDA kernels against cuBLAS/cuDNN
    python -m fastdl.bench contention              # beside NumPy, PyTorch and a busy core

The parent process starts one worker per thread count (see :mod:`fastdl.bench.worker`), then
prints a table per family. The exit status is 1 when a fastdl result disagreed with NumPy or
raised, or a worker failed; 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from typing import Any

from fastdl.bench import machine, report
from fastdl.bench.cases import FAMILIES, select
from fastdl.bench.worker import THREAD_VARS, run_in_subprocess, worker_main

#: (repeats, shortest timing sample in seconds) for a full run and for --quick.
FULL = (11, 0.01)
QUICK = (5, 0.002)


def _thread_counts(text: str | None, cores: int) -> list[int]:
    """``--threads`` as a list; the default is 1 and 2, capped at the usable cores."""
    if text is None:
        return sorted({1, min(2, cores)})
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads: expected e.g. 1,2, got {text!r}") from None
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError(f"--threads: expected positive integers, got {text!r}")
    return list(dict.fromkeys(counts))  # keep the order given, drop repeats


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fastdl.bench",
        description="Time fastdl's CPU kernels against NumPy (and PyTorch when importable): "
                    "interleaved, median of repeats after warm-up, every result checked "
                    "against NumPy.",
    )
    parser.add_argument("families", nargs="*", metavar="FAMILY",
                        help=f"families to run: {', '.join(FAMILIES)} (default: all); or "
                             f"contention alone (see fastdl.bench.contention)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, largest shapes left out")
    parser.add_argument("--json", metavar="PATH", help="write results, machine and method as JSON")
    parser.add_argument("--plot", metavar="PATH",
                        help="write a PNG of speed relative to NumPy (needs matplotlib)")
    parser.add_argument("--threads", metavar="N,M",
                        help="thread counts, one process each (default: 1,2 capped at the cores)")
    parser.add_argument("--repeats", type=int, metavar="N",
                        help=f"timing samples per implementation (default {FULL[0]}, "
                             f"{QUICK[0]} with --quick)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: the GPU kernels against CuPy and PyTorch CUDA (families "
                             "matmul, conv, memory; see fastdl.bench.gpu)")
    parser.add_argument("--filter", default="", metavar="TEXT",
                        help="only cases whose name or shape contains TEXT "
                             "(e.g. 'square', '64x64')")
    # Internal: a worker process for one thread count, and its sample length.
    parser.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_min-sample", type=float, dest="min_sample", help=argparse.SUPPRESS)
    return parser


def _method(repeats: int, min_sample_s: float, threads: Sequence[int]) -> dict[str, Any]:
    return {
        "threads": list(threads),
        "process_per_thread_count": True,
        "thread_env_vars": list(THREAD_VARS),
        "warmup_calls": 2,
        "repeats": repeats,
        "min_sample_s": min_sample_s,
        "statistic": "median per call over repeats (min also given); per operation for "
                     "rows with ops_per_call > 1",
        "interleaved": "one sample of each implementation in turn, repeated",
        "inputs": "float32, made once per case outside the timed region, same seed everywhere",
        "check": "each implementation's first result against NumPy's with np.allclose "
                 "(rtol/atol per row)",
        "ratio_vs_numpy": "NumPy median / median at the same thread count (>1: faster)",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.device == "cuda":
        from fastdl.bench import gpu
        return gpu.main(args.families or list(gpu.FAMILIES), args.quick, args.json)
    if "contention" in args.families:
        if args.families != ["contention"]:
            parser.error("contention runs on its own: python -m fastdl.bench contention")
        from fastdl.bench import contention
        threads = int(args.threads or min(2, machine.usable_cores()))
        return contention.main(args.quick, threads, args.json,
                               list(sys.argv[1:] if argv is None else argv), args.filter)
    families = args.families or list(FAMILIES)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown family {unknown[0]!r}; choose from {', '.join(FAMILIES)}")
    repeats, min_sample_s = QUICK if args.quick else FULL
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error("--repeats must be >= 1")
        repeats = args.repeats
    if args.min_sample is not None:
        min_sample_s = args.min_sample

    if not select(families, quick=args.quick, filter_text=args.filter):
        print(f"no case of {', '.join(families)} has a name or shape containing {args.filter!r}",
              file=sys.stderr)
        return 2

    if args._worker:
        return worker_main(families, int(args.threads or 1), args.quick, repeats, min_sample_s,
                           args.filter)

    if args.plot and not report.plot_available():
        parser.error("--plot needs matplotlib, which is not installed: "
                     "pip install 'fastdl[bench]' (or pip install matplotlib)")
    cores = machine.usable_cores()
    try:
        threads = _thread_counts(args.threads, cores)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if max(threads) > cores:
        print(f"warning: {max(threads)} threads on {cores} usable core(s): oversubscribed, "
              "timings will mostly measure contention", file=sys.stderr)

    print(f"fastdl.bench: {', '.join(families)}; threads {threads}; {repeats} repeats"
          f"{' (quick)' if args.quick else ''}", file=sys.stderr)
    reports, worker_failed = [], False
    for n in threads:
        try:
            reports.append(run_in_subprocess(families, n, args.quick, repeats, min_sample_s,
                                             args.filter))
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            worker_failed = True

    rows, notes = report.merge(reports)
    print()
    report.print_report(rows, notes, sys.stdout)
    for line in report.busy_machine_notes(reports, cores):
        print(line)
    memory = {}
    if "attention" in families and not args.quick and not args.filter:
        from fastdl.bench.cases import attention
        memory = attention.peak_memory()
        print()
        print("\n".join(attention.peak_memory_lines(memory)))
    bad = report.failures(rows)
    if bad:
        print(f"\nFAIL: {len(bad)} fastdl result(s) disagree with NumPy or raised; "
              "their timings are not wins.")

    if args.json:
        report.write_json(args.json, {
            "schema": "fastdl.bench/1",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "argv": list(sys.argv[1:] if argv is None else argv),
            "machine": machine.describe(),
            "method": _method(repeats, min_sample_s, threads),
            "workers": [{k: v for k, v in r.items() if k not in ("results", "notes")}
                        for r in reports],
            "results": rows,
            "notes": notes,
            **({"attention_peak_memory_mib": memory} if memory else {}),
        })
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        try:
            report.write_plot(args.plot, rows)
            print(f"wrote {args.plot}", file=sys.stderr)
        except ValueError as exc:  # every case skipped: say so rather than write an empty PNG
            print(f"no plot written: {exc}", file=sys.stderr)
    return 1 if bad or worker_failed else 0
