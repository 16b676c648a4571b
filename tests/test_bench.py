"""The benchmark tool: harness checks, case definitions, reporting and the CLI, in tiny sizes.

Timings are never asserted (machines are shared and noisy); only that they exist and that a
wrong or broken implementation is flagged rather than reported as a win.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastdl
from fastdl.bench import cli, optional, report
from fastdl.bench.cases import (activation, conv, matmul, optim, overhead, pool, select,
                                 softmax)
from fastdl.bench.harness import Case, Context, compare, require, result_rows, run_case

TINY = {"repeats": 2, "min_sample_s": 1e-4}


def _ctx():
    return Context(rng=np.random.default_rng(0))


def _case(fastdl_impl, name="toy"):
    """A 16x16 matmul case whose 'fastdl' implementation is ``fastdl_impl(a, b)``."""

    def setup(ctx):
        a = ctx.rng.standard_normal((16, 16), dtype=np.float32)
        b = ctx.rng.standard_normal((16, 16), dtype=np.float32)
        return {"fastdl": lambda: fastdl_impl(a, b), "numpy": lambda: a @ b}

    return Case("matmul", name, "16x16 @ 16x16", setup, flops=2.0 * 16**3, atol=1e-4)


def test_correct_implementation_is_checked_and_timed():
    result = run_case(_case(fastdl.matmul), _ctx(), **TINY)
    assert result.status == {"fastdl": "ok", "numpy": "ref"}
    rows = result_rows(result, threads=1)
    ours = next(r for r in rows if r["impl"] == "fastdl")
    assert ours["median_ms"] > 0 and ours["min_ms"] <= ours["median_ms"]
    assert ours["gflops"] > 0 and ours["ratio_vs_numpy"] > 0
    assert len(ours["samples_ms"]) == TINY["repeats"]


def test_wrong_implementation_is_flagged_not_a_win():
    wrong = run_case(_case(lambda a, b: (a @ b) + np.float32(1e-2)), _ctx(), **TINY)
    assert wrong.status["fastdl"] == "FAIL"
    assert wrong.max_abs_err["fastdl"] == pytest.approx(1e-2, rel=1e-3)
    rows = result_rows(wrong, threads=1)
    assert "FAIL" in report.format_table("matmul", rows)
    assert report.failures(rows)[0]["impl"] == "fastdl"


def test_wrong_shape_and_raising_implementations():
    cut = run_case(_case(lambda a, b: (a @ b)[:8]), _ctx(), **TINY)
    assert cut.status["fastdl"] == "FAIL"
    rows = result_rows(cut, threads=1)
    assert rows[0]["max_abs_err"] is None  # JSON has no infinity
    assert "FAIL (wrong shape or NaN)" in report.format_table("matmul", rows)

    def broken(a, b):
        raise RuntimeError("kernel exploded")

    raised = run_case(_case(broken), _ctx(), **TINY)
    assert raised.status["fastdl"].startswith("error: RuntimeError: kernel exploded")
    assert "fastdl" not in raised.timings and "numpy" in raised.timings
    assert report.failures(result_rows(raised, threads=1))


def test_missing_kernel_skips_the_case_with_a_note():
    def setup(ctx):
        require(fastdl, "no_such_kernel")
        raise AssertionError("not reached")

    result = run_case(Case("matmul", "ghost", "1", setup), _ctx(), **TINY)
    assert result.skipped == "fastdl.no_such_kernel is not available in this build"
    assert result_rows(result, threads=1) == []


def test_compare_handles_tuples_scalars_and_nan():
    ok, err = compare((1.0, np.ones(3, np.float32)), (1.0, np.ones(3)), 1e-4, 1e-5)
    assert ok and err == 0.0
    ok, err = compare((np.array([np.nan]), np.zeros(2)), (np.ones(1), np.ones(2)), 1e-4, 1e-5)
    assert not ok and np.isnan(err)
    assert not compare((1.0,), (1.0, 2.0), 1e-4, 1e-5)[0]


@pytest.mark.parametrize(
    "cases",
    [
        activation.cases(sizes=(1000,)),
        softmax.cases(shapes=((8, 5), (3, 17))),
        [matmul.matmul_case("t", 5, 7, 3, ta=True, tb=True), matmul.linear_relu_case("l", 4, 6, 2)],
        conv.cases(layers=(("c", 2, 7, 6, 3, 5, 3), ("c1", 3, 5, 5, 1, 4, 2))),
    ],
    ids=["activation", "softmax", "matmul", "conv"],
)
def test_every_case_runs_or_skips_cleanly(cases):
    """Each case agrees with NumPy, or is skipped because this build lacks the kernel."""
    from fastdl.bench import optional

    ctx = Context(rng=np.random.default_rng(0), scipy_special=optional.load_scipy_special())
    for case in cases:
        result = run_case(case, ctx, **TINY)
        if result.skipped:
            assert "not available" in result.skipped or "SciPy" in result.skipped
            continue
        assert result.status["fastdl"] == "ok", (case.label, result.status, result.max_abs_err)


def test_overhead_cases_agree_with_numpy():
    """Tiny sizes; PyTorch's implementations are checked too where it is installed."""
    ctx = Context(rng=np.random.default_rng(0), torch=optional.load_torch(threads=1))
    for case in overhead.cases(size=5, chain=3, mlp=(4, 7, 6, 3)):
        result = run_case(case, ctx, **TINY)
        assert result.skipped is None, result.skipped
        assert set(result.status.values()) <= {"ok", "ref"}, (
            case.label, result.status, result.max_abs_err)
        assert {"fastdl", "numpy"} <= set(result.timings)
        if ctx.torch is not None:
            assert "torch" in result.timings


def test_optim_cases_agree_with_numpy():
    """Tiny parameter sets; PyTorch's foreach Adam is checked too where it is installed."""
    ctx = Context(rng=np.random.default_rng(0), torch=optional.load_torch(threads=1))
    for case in optim.cases(mlp=((5, 3), (3,)), large=((40, 7), (7,), (1,))):
        result = run_case(case, ctx, **TINY)
        assert result.skipped is None, result.skipped
        assert set(result.status.values()) <= {"ok", "ref"}, (
            case.label, result.status, result.max_abs_err)
        if ctx.torch is not None:
            assert "torch" in result.timings


def test_pool_cases_agree_with_numpy_and_flag_wrong_kernels(monkeypatch):
    """Odd sizes (trailing rows and columns in no window); PyTorch's two layouts are checked
    too where it is installed."""
    ctx = Context(rng=np.random.default_rng(0), torch=optional.load_torch(threads=1))
    shapes = ((2, 6, 4, 3), (1, 5, 7, 17))
    for case in pool.cases(shapes=shapes):
        result = run_case(case, ctx, **TINY)
        assert result.skipped is None, result.skipped
        assert set(result.status.values()) <= {"ok", "ref"}, (
            case.label, result.status, result.max_abs_err)
        if ctx.torch is not None:
            assert {"torch NHWC", "torch NCHW"} <= set(result.timings)

    def case_named(name):
        (case,) = [c for c in pool.cases(shapes=shapes[:1]) if c.name == name]
        return case

    monkeypatch.setattr(fastdl, "max_pool2d", fastdl.avg_pool2d)
    assert run_case(case_named("max_pool2d 2x2 fwd"), ctx, **TINY).status["fastdl"] == "FAIL"
    # A backward that sends each window's gradient to its top-left element instead of its max.
    monkeypatch.setattr(fastdl.backend.cpu, "max_pool2d_backward",
                        lambda g, argmax, shape, p: np.repeat(np.repeat(g, p, 1), p, 2)
                        * (np.arange(shape[1])[:, None, None] % p == 0)
                        * (np.arange(shape[2])[None, :, None] % p == 0))
    result = run_case(case_named("max_pool2d 2x2 fwd+bwd"), ctx, **TINY)
    assert result.status["fastdl"] == "FAIL"


def test_chain_times_are_per_operation():
    (chain,) = [c for c in overhead.cases(size=5, chain=3) if "per op" in c.name]
    assert chain.ops_per_call == 4  # three multiplies and the sum
    result = run_case(chain, _ctx(), **TINY)
    ours = next(r for r in result_rows(result, threads=1) if r["impl"] == "fastdl")
    per_call = result.timings["fastdl"]
    assert ours["median_ms"] == pytest.approx(per_call.median * 1e3 / 4)
    assert ours["samples_ms"] == pytest.approx([t * 1e3 / 4 for t in per_call.samples])


def test_table_without_rates_shows_the_ratio_to_torch():
    rows = [{"family": "overhead", "case": "mul", "shape": "16", "impl": impl, "threads": 1,
             "status": status, "median_ms": ms, "min_ms": ms, "ratio_vs_numpy": 0.001 / ms,
             "max_abs_err": 0.0, "flops": None, "bytes": None, "ops_per_call": 1}
            for impl, status, ms in (("fastdl", "ok", 0.002), ("numpy", "ref", 0.001),
                                     ("torch", "ok", 0.004))]
    table = report.format_table("overhead", rows)
    assert "GB/s" not in table and "GFLOP/s" not in table
    assert "vs torch" in table
    fastdl_line = next(line for line in table.splitlines() if "fastdl" in line)
    assert fastdl_line.split()[-2:] == ["2.00x", "ok"]  # torch takes twice as long
    without_torch = report.format_table("overhead", rows[:2])
    assert "vs torch" not in without_torch


def test_selection_quick_and_filter():
    full = select(["matmul"])
    quick = select(["matmul"], quick=True)
    assert any("2048x2048" in c.shape for c in full)
    assert not any("2048x2048" in c.shape for c in quick)
    assert [c.shape for c in select(["matmul"], filter_text="SQUARE 64x64")] == ["64x64 @ 64x64"]
    assert not any(c.shape == "n=10,000,000" for c in select(["activation"], quick=True))
    with pytest.raises(ValueError, match="unknown benchmark family"):
        select(["convolution"])


def test_thread_counts():
    assert cli._thread_counts(None, cores=1) == [1]
    assert cli._thread_counts(None, cores=8) == [1, 2]
    assert cli._thread_counts("2,1,2", cores=8) == [2, 1]


def test_busy_machine_is_noted():
    reports = [{"threads": 1, "loadavg_at_start": [0.5, 0.5, 0.5]},
               {"threads": 2, "loadavg_at_start": [3.2, 1.0, 1.0]}, {"threads": 4}]
    (note,) = report.busy_machine_notes(reports, cores=2)
    assert "2-thread run" in note and "3.2" in note


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(report, "plot_available", lambda: False)
    with pytest.raises(SystemExit) as exc:
        cli.main(["matmul", "--plot", "out.png"])
    assert exc.value.code == 2
    assert "matplotlib" in capsys.readouterr().err


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    rows = result_rows(run_case(_case(fastdl.matmul), _ctx(), **TINY), threads=1)
    path = tmp_path / "ratios.png"
    report.write_plot(str(path), rows)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _env_importing_fastdl():
    """This environment, with the directory of the fastdl under test first on PYTHONPATH."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastdl.__file__)))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p)}


def test_cli_end_to_end_json(tmp_path):
    """The real CLI: a parent process and one worker, one tiny case."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "fastdl.bench", "matmul", "--quick", "--repeats", "2",
         "--threads", "1", "--filter", "square 64x64", "--_min-sample", "0.0001",
         "--json", str(out)],
        capture_output=True, text=True, timeout=120,
        env=_env_importing_fastdl(),
    )
    assert proc.returncode == 0, proc.stderr
    assert "square" in proc.stdout and "vs numpy" in proc.stdout
    doc = json.loads(out.read_text())
    assert {"schema", "machine", "method", "workers", "results", "notes"} <= set(doc)
    assert {"cpu_model", "cores_usable", "numpy", "numpy_blas", "fastdl", "torch"} <= set(
        doc["machine"])
    assert doc["method"]["repeats"] == 2 and doc["method"]["threads"] == [1]
    assert doc["workers"][0]["fastdl_threads"] == 1
    assert doc["workers"][0]["env"]["OPENBLAS_NUM_THREADS"] == "1"
    impls = {r["impl"]: r for r in doc["results"]}
    assert {"fastdl", "numpy"} <= set(impls)
    ours = impls["fastdl"]
    for key in ("shape", "threads", "median_ms", "min_ms", "gflops", "ratio_vs_numpy", "status"):
        assert ours[key] is not None, key
    assert ours["status"] == "ok" and impls["numpy"]["ratio_vs_numpy"] == 1.0


def test_gpu_benchmark_without_a_gpu_says_what_it_needs(capsys):
    if fastdl.cuda.is_available():
        pytest.skip("a GPU is visible here")
    assert cli.main(["--device", "cuda"]) == 2
    assert "--device cuda needs a GPU, CuPy and fastdl built with its CUDA kernels" in \
        capsys.readouterr().err


def test_contention_measures_every_condition_and_stops_its_busy_process(monkeypatch):
    from fastdl.bench import contention
    started = []
    popen = contention.subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(contention.subprocess, "Popen", recording_popen)
    threads_before = fastdl.get_num_threads()
    ops = contention.operations(None)[:2]
    rows = contention.measure(ops, None, threads=2, rounds=3, seconds=0.005, min_calls=3)
    assert [(r["operation"], r["condition"]) for r in rows] == [
        (op.name, c) for op in ops for c in contention.CONDITIONS if c != "after torch"]
    assert all(r["median_us"] > 0 and r["library"] == "fastdl" for r in rows)
    assert all(len(r["rounds_us"]) == 3 and r["median_us"] == sorted(r["rounds_us"])[1]
               for r in rows)
    assert [r["threads"] for r in rows[:5:4]] == [2, 2] and rows[1]["threads"] == 1
    assert len(started) == 2 * 3 and all(p.poll() is not None for p in started)
    lines = contention.table(rows)
    assert lines[1].split()[-1] == "1.00x" and len(lines) == len(rows) + 1
    assert fastdl.get_num_threads() == threads_before


def test_contention_filter_that_matches_nothing_says_so(capsys):
    assert cli.main(["contention", "--filter", "no such operation"]) == 2
    assert "no operation's name or shape contains 'no such operation'" in \
        capsys.readouterr().err


def test_filter_that_matches_nothing_says_so(capsys):
    assert cli.main(["conv", "activation", "--filter", "cnn|32->32"]) == 2
    assert "no case of conv, activation has a name or shape containing 'cnn|32->32'" in \
        capsys.readouterr().err


def test_contention_runs_on_its_own(capsys):
    with pytest.raises(SystemExit):
        cli.main(["contention", "matmul"])
    assert "contention runs on its own" in capsys.readouterr().err
