"""Reporting: merge the per-thread-count results, print a table per family, write JSON and an
optional PNG of the ratios to NumPy."""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from fastdl.bench.harness import REFERENCE

Row = dict[str, Any]


def merge(reports: Sequence[dict[str, Any]]) -> tuple[list[Row], list[dict[str, str]]]:
    """All workers' rows in report order (case as defined, then threads, then implementation as
    listed by the case) and their skip notes without duplicates."""
    rows = [row for report in reports for row in report["results"]]
    case_order: dict[tuple[str, str, str], int] = {}
    impl_order: dict[str, int] = {}
    for row in rows:
        case_order.setdefault((row["family"], row["case"], row["shape"]), len(case_order))
        impl_order.setdefault(row["impl"], len(impl_order))
    rows.sort(key=lambda r: (case_order[(r["family"], r["case"], r["shape"])], r["threads"],
                             impl_order[r["impl"]]))
    seen, notes = set(), []
    for report in reports:
        for note in report["notes"]:
            key = (note["family"], note["case"], note["skipped"])
            if key not in seen:
                seen.add(key)
                notes.append(note)
    return rows, notes


def failures(rows: Iterable[Row], impl: str | None = "fastdl") -> list[Row]:
    """Rows whose result disagreed with NumPy or raised (of ``impl`` only, unless None)."""
    return [r for r in rows if (impl is None or r["impl"] == impl)
            and (r["status"] == "FAIL" or r["status"].startswith("error"))]


def _fmt_ms(ms: float | None) -> str:
    """Three or four significant digits without exponents: 0.00812, 0.812, 8.12, 81.2, 812."""
    if ms is None:
        return "-"
    return f"{ms:.0f}" if ms >= 100 else f"{ms:#.3g}"


def _fmt_rate(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def _fmt_check(row: Row) -> str:
    status = row["status"]
    if status == "FAIL":
        err = row["max_abs_err"]
        return "FAIL (wrong shape or NaN)" if err is None else f"FAIL (max |err| {err:.3g})"
    if status.startswith("error"):
        return status[:70]
    return status


def format_table(family: str, rows: Sequence[Row]) -> str:
    """The table of one family: case, shape, implementation, threads, median and min ms, rate
    (when the cases give flops or bytes), ratio to NumPy, ratio to PyTorch (when it ran) and
    the check against NumPy."""
    compute_bound = any(r.get("flops") for r in rows)
    rate_key, rate_name = ("gflops", "GFLOP/s") if compute_bound else ("gbps", "GB/s")
    has_rate = any(r.get(rate_key) for r in rows)
    # PyTorch may run in several layouts ('torch NCHW', 'torch NHWC'): compare with its best.
    torch_ms: dict[tuple, float] = {}
    for r in rows:
        if (r["impl"] == "torch" or r["impl"].startswith("torch ")) and r.get("median_ms"):
            key = (r["case"], r["shape"], r["threads"])
            torch_ms[key] = min(torch_ms.get(key, math.inf), r["median_ms"])
    header = ["case", "shape", "impl", "thr", "ms", "min ms", rate_name, "vs numpy", "vs torch",
              "check"]
    body: list[list[str]] = []
    previous = None
    for r in rows:
        key = (r["case"], r["shape"])
        first = key != previous  # name the case once per group of rows
        previous = key
        theirs, ours = torch_ms.get(key + (r["threads"],)), r.get("median_ms")
        body.append([
            r["case"] if first else "",
            r["shape"] if first else "",
            r["impl"],
            str(r["threads"]),
            _fmt_ms(ours),
            _fmt_ms(r.get("min_ms")),
            _fmt_rate(r.get(rate_key)),
            _fmt_ratio(r.get("ratio_vs_numpy")),
            _fmt_ratio(theirs / ours if theirs and ours else None),
            _fmt_check(r),
        ])
    # Columns with nothing to say are left out: rates for overhead cases, PyTorch without it.
    keep = [i for i, name in enumerate(header)
            if (name != rate_name or has_rate) and (name != "vs torch" or torch_ms)]
    header = [header[i] for i in keep]
    body = [[line[i] for i in keep] for line in body]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    numeric = {"thr", "ms", "min ms", rate_name, "vs numpy", "vs torch"}  # right-aligned

    def fmt(line: list[str]) -> str:
        cells = [c.rjust(w) if name in numeric else c.ljust(w)
                 for name, c, w in zip(header, line, widths)]
        return "  ".join(cells).rstrip()

    per_op = " (per operation in 'per op' cases)" if any(
        r.get("ops_per_call", 1) > 1 for r in rows) else ""
    notes = [f"ms: median per call{per_op}"]
    if has_rate:
        notes.append("GFLOP/s = 2 * multiply-adds / median time" if compute_bound
                     else "GB/s = bytes read + written (each array once) / median time")
    notes.append("vs numpy: NumPy time / time (>1 is faster than NumPy)")
    if torch_ms:
        notes.append("vs torch: PyTorch time (its fastest layout) / time")
    lines = [f"== {family} (float32) ==  {'; '.join(notes)}", fmt(header),
             fmt(["-" * w for w in widths])]
    lines += [fmt(line) for line in body]
    return "\n".join(lines)


def print_report(rows: Sequence[Row], notes: Sequence[dict[str, str]], out: TextIO) -> None:
    """Every family's table, then the skipped cases grouped by reason."""
    families: dict[str, list[Row]] = {}
    for r in rows:
        families.setdefault(r["family"], []).append(r)
    for family, family_rows in families.items():
        print(format_table(family, family_rows), file=out)
        print(file=out)
    by_reason: dict[str, list[str]] = {}
    for note in notes:
        by_reason.setdefault(note["skipped"], []).append(f"{note['family']}: {note['case']}")
    for reason, skipped in by_reason.items():
        print(f"note: skipped {len(skipped)} case(s): {reason}", file=out)
        for name in skipped:
            print(f"    {name}", file=out)


def busy_machine_notes(reports: Sequence[dict[str, Any]], cores: int) -> list[str]:
    """Warnings for workers that started while the 1-minute load average exceeded the cores:
    something else was running, and multi-threaded timings suffer most (a thread that loses
    its core stalls every barrier of the kernel)."""
    notes = []
    for r in reports:
        load = r.get("loadavg_at_start")
        if load and load[0] > cores:
            notes.append(f"note: load average {load[0]:.1f} on {cores} core(s) when the "
                         f"{r['threads']}-thread run started: other work competed for the "
                         "cores, so its timings are unreliable")
    return notes


def write_json(path: str, document: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1)
        f.write("\n")


def plot_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_plot(path: str, rows: Sequence[Row]) -> None:
    """A PNG with one panel per family: for every case, a bar per (implementation, threads)
    showing its speed relative to NumPy at the same thread count, on a log scale."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    families: dict[str, list[Row]] = {}
    for r in rows:
        if r["impl"] != REFERENCE and r.get("ratio_vs_numpy"):
            families.setdefault(r["family"], []).append(r)
    if not families:
        raise ValueError("nothing to plot: no implementation was timed against NumPy")
    panels = list(families.items())
    widest = max(len({(r["case"], r["shape"]) for r in rs}) for _, rs in panels)
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(max(8.0, 0.6 * widest + 2), 4.5 * len(panels)))
    for ax, (family, family_rows) in zip(axes[:, 0], panels):
        cases: list[tuple[str, str]] = []
        series: list[tuple[str, int]] = []
        for r in family_rows:
            if (r["case"], r["shape"]) not in cases:
                cases.append((r["case"], r["shape"]))
            if (r["impl"], r["threads"]) not in series:
                series.append((r["impl"], r["threads"]))
        width = 0.8 / len(series)
        for s, (impl, threads) in enumerate(series):
            xs, ys, failed = [], [], []
            for r in family_rows:
                if (r["impl"], r["threads"]) == (impl, threads):
                    x = cases.index((r["case"], r["shape"])) - 0.4 + (s + 0.5) * width
                    xs.append(x)
                    ys.append(r["ratio_vs_numpy"])
                    failed.append(r["status"] == "FAIL")
            bars = ax.bar(xs, ys, width, label=f"{impl}, {threads} thr")
            for bar, bad in zip(bars, failed):
                if bad:  # a wrong result must not read as a win
                    bar.set_hatch("xx")
                    bar.set_edgecolor("red")
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        # Ratios often span less than a decade: label minor ticks too, as plain "2x", "0.5x".
        times = ticker.FuncFormatter(lambda v, _: f"{v:g}x")
        ax.yaxis.set_major_formatter(times)
        ax.yaxis.set_minor_locator(ticker.LogLocator(subs=(0.2, 0.5)))
        ax.yaxis.set_minor_formatter(times)
        ax.set_ylabel("speed vs NumPy (>1 faster)")
        ax.set_title(f"{family} (hatched red: result disagrees with NumPy)")
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels([f"{c}\n{s}" for c, s in cases], rotation=60, ha="right", fontsize=7)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
