"""Timing harness: one case, every implementation, checked once and timed interleaved.

A :class:`Case` describes one benchmark (say, a 256x256 float32 matmul). Its ``setup`` builds the
inputs once and returns one zero-argument callable per implementation, so nothing but the
operation itself is inside the timed region. :func:`run_case` then

1. calls every implementation once (warm-up: page faults, lazy initialisation, thread pools) and
   compares each result with NumPy's, so that a fast but wrong kernel is marked ``FAIL`` instead
   of being reported as a win;
2. picks, per implementation, how many calls make one timing sample long enough for the clock;
3. takes ``repeats`` samples, rotating through the implementations (ours, numpy, torch, ours,
   ...) so that a slow drift of the machine (frequency, another process) hits all of them alike;
4. reports the median per call (and the minimum) and the ratio to NumPy.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

#: The implementation every other one is checked against and compared with.
REFERENCE = "numpy"

Impls = dict[str, Callable[[], Any]]


class Skip(Exception):
    """Raised by a case's setup when it cannot run here (a function or library is missing)."""


def require(module: Any, name: str) -> Callable[..., Any]:
    """``module.name``, or :class:`Skip` naming what is missing: a case can be defined before
    the kernel it measures exists, and this build may not have it yet."""
    fn = getattr(module, name, None)
    if fn is None:
        raise Skip(f"{module.__name__}.{name} is not available in this build")
    return fn


@dataclass
class Context:
    """What a case's setup may use: a seeded generator and the optional libraries found."""

    rng: np.random.Generator
    torch: Any = None  # the torch module, or None when it is not importable
    scipy_special: Any = None  # scipy.special, or None


@dataclass
class Case:
    """One benchmark: a shape of one operation, with every implementation of it.

    ``flops`` (matmul-like cases) or ``nbytes`` (memory-bound cases: bytes read plus written,
    counted once) turn a time into GFLOP/s or GB/s. ``rtol``/``atol`` are the tolerances of the
    check against NumPy. ``quick`` says whether ``--quick`` keeps the case. ``ops_per_call``
    is for cases whose one call runs several operations (a chain of tiny ones, too short to time
    alone): reported times are per operation, rates stay per call.
    """

    family: str
    name: str
    shape: str
    setup: Callable[[Context], Impls]
    flops: float = 0.0
    nbytes: float = 0.0
    rtol: float = 1e-4
    atol: float = 1e-5
    quick: bool = True
    ops_per_call: int = 1

    @property
    def label(self) -> str:
        return f"{self.name} {self.shape}"


@dataclass
class Timing:
    """Per-call times in seconds of one implementation, one sample per repeat."""

    samples: list[float]
    number: int  # calls per sample

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)


@dataclass
class CaseResult:
    """Everything measured for one case: timings and check status per implementation."""

    case: Case
    timings: dict[str, Timing] = field(default_factory=dict)
    # 'ref' for NumPy, 'ok', 'FAIL' (disagrees with NumPy) or 'error: ...' (raised).
    status: dict[str, str] = field(default_factory=dict)
    max_abs_err: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None


def _as_arrays(value: Any) -> list[np.ndarray]:
    """A result as a list of NumPy arrays: tuples are flattened, torch tensors converted."""
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _as_arrays(v)]
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().numpy()
    return [np.asarray(value)]


def compare(result: Any, reference: Any, rtol: float, atol: float) -> tuple[bool, float]:
    """Whether ``result`` matches ``reference`` (same shapes, ``np.allclose``) and the largest
    absolute difference (``inf`` when shapes differ, ``nan`` when a value is NaN)."""
    got, want = _as_arrays(result), _as_arrays(reference)
    if len(got) != len(want) or any(g.shape != w.shape for g, w in zip(got, want)):
        return False, math.inf
    ok, worst = True, 0.0
    for g, w in zip(got, want):
        if g.size == 0:
            continue
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        ok = ok and bool(np.allclose(g64, w64, rtol=rtol, atol=atol))
        err = float(np.max(np.abs(g64 - w64)))
        if math.isnan(err) or err > worst:  # once NaN, stays NaN (nothing compares > NaN)
            worst = err
    return ok, worst


def _time_calls(fn: Callable[[], Any], number: int) -> float:
    """Seconds for ``number`` back-to-back calls. The collector is paused so that a collection
    triggered by one implementation's garbage is not billed to the next one."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def calls_per_sample(seconds_per_call: float, min_sample_s: float,
                     max_number: int = 100_000) -> int:
    """How many calls make one sample last at least ``min_sample_s``: tiny kernels run in
    microseconds, where one call is dominated by timer and interpreter jitter."""
    if seconds_per_call <= 0:
        return max_number
    return max(1, min(max_number, math.ceil(min_sample_s / seconds_per_call)))


def _run_for(fn: Callable[[], Any], seconds: float) -> None:
    """Calls ``fn`` back to back for about ``seconds`` (untimed)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        fn()


def time_interleaved(impls: Impls, repeats: int, min_sample_s: float,
                     settle_s: float = 0.0) -> dict[str, Timing]:
    """Time already warmed-up implementations: calibrate the calls per sample of each, then
    take ``repeats`` samples in rotation (a, b, c, a, b, c, ...).

    With ``settle_s`` > 0 each sample is preceded by that long of untimed calls to the same
    implementation. With several threads this matters: a threaded library's workers keep
    spinning for a while after its last call (OpenBLAS's for about 0.1 s) and would compete for
    the cores with the next implementation's threads; and on a virtual machine an idle core can
    take milliseconds to wake, so the pause is spent working rather than sleeping.
    """
    numbers = {name: calls_per_sample(_time_calls(fn, 1), min_sample_s)
               for name, fn in impls.items()}
    samples: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(max(1, repeats)):
        for name, fn in impls.items():
            if settle_s > 0:
                _run_for(fn, settle_s)
            samples[name].append(_time_calls(fn, numbers[name]) / numbers[name])
    return {name: Timing(samples[name], numbers[name]) for name in impls}


def run_case(case: Case, ctx: Context, repeats: int, min_sample_s: float,
             settle_s: float = 0.0) -> CaseResult:
    """Build, check and time one case. Never raises for a failing implementation: a missing
    fastdl function becomes ``skipped``, an implementation that raises becomes ``error: ...``
    and is left out of the timing."""
    result = CaseResult(case)
    try:
        impls = case.setup(ctx)
    except Skip as why:
        result.skipped = str(why)
        return result
    except Exception as exc:  # e.g. an optional library of another version: report, go on
        result.skipped = f"setup raised {type(exc).__name__}: {exc}"
        return result
    if REFERENCE not in impls:
        raise ValueError(f"case {case.label!r} has no {REFERENCE!r} implementation "
                         "to check against")

    # Warm-up call of each implementation, whose result is also the one checked.
    outputs: dict[str, Any] = {}
    for name, fn in impls.items():
        try:
            outputs[name] = fn()
        except Exception as exc:  # a broken implementation must not stop the whole run
            result.status[name] = f"error: {type(exc).__name__}: {exc}"
    if REFERENCE not in outputs:
        result.skipped = f"the NumPy reference raised ({result.status[REFERENCE]})"
        result.status.clear()
        return result
    reference = outputs[REFERENCE]
    for name in impls:
        if name not in outputs:
            continue  # raised: its 'error: ...' status is already set
        if name == REFERENCE:
            result.status[name] = "ref"
            continue
        ok, err = compare(outputs[name], reference, case.rtol, case.atol)
        result.status[name] = "ok" if ok else "FAIL"
        result.max_abs_err[name] = err
    # Keep the implementations' order (ours first) in the report, whatever failed.
    result.status = {name: result.status[name] for name in impls}
    del outputs, reference  # large cases: do not keep a second set of outputs alive while timing

    runnable = {name: fn for name, fn in impls.items()
                if not result.status[name].startswith("error")}
    result.timings = time_interleaved(runnable, repeats, min_sample_s, settle_s)
    return result


def _finite_or_none(x: float | None) -> float | None:
    """JSON has no NaN or infinity; None stands for 'not measurable' (a shape mismatch, NaN)."""
    return x if x is not None and math.isfinite(x) else None


def result_rows(result: CaseResult, threads: int) -> list[dict[str, Any]]:
    """JSON-ready rows, one per implementation, for one measured case."""
    case = result.case
    rows = []
    ref = result.timings.get(REFERENCE)
    to_ms = 1e3 / case.ops_per_call  # seconds per call -> ms per operation
    for name, status in result.status.items():
        timing = result.timings.get(name)
        row: dict[str, Any] = {
            "family": case.family,
            "case": case.name,
            "shape": case.shape,
            "impl": name,
            "threads": threads,
            "status": status,
            "rtol": case.rtol,
            "atol": case.atol,
            "max_abs_err": _finite_or_none(result.max_abs_err.get(name)),
            "flops": case.flops or None,
            "bytes": case.nbytes or None,
            "ops_per_call": case.ops_per_call,
        }
        if timing is not None:
            median = timing.median
            row.update(
                median_ms=median * to_ms,
                min_ms=timing.min * to_ms,
                repeats=len(timing.samples),
                calls_per_sample=timing.number,
                samples_ms=[t * to_ms for t in timing.samples],
                gflops=case.flops / median / 1e9 if case.flops else None,
                gbps=case.nbytes / median / 1e9 if case.nbytes else None,
                ratio_vs_numpy=ref.median / median if ref is not None else None,
            )
        rows.append(row)
    return rows
