"""fastdl's thread pool under the conditions it was built for: results under contention (a
busy process, NumPy's threads woken between calls), the thread count changed at run time, and
kernels called from several Python threads at once (the GIL is released around them)."""
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastdl

SPINNER = "while True:\n    pass\n"


@pytest.fixture
def operands():
    rng = np.random.default_rng(0)
    return {"a": rng.standard_normal((512, 300), dtype=np.float32),
            "b": rng.standard_normal((300, 257), dtype=np.float32),
            "x": rng.standard_normal((64, 784), dtype=np.float32),
            "w": rng.standard_normal((784, 128), dtype=np.float32),
            "bias": rng.standard_normal(128, dtype=np.float32),
            "images": rng.standard_normal((16, 13, 13, 32), dtype=np.float32),
            "kernel": rng.standard_normal((3, 3, 32, 64), dtype=np.float32)}


def compute(o):
    """A product split by rows, one split over K (the MLP's layer) and a convolution."""
    return [fastdl.matmul(o["a"], o["b"]).numpy(),
            fastdl.linear(o["x"], o["w"], o["bias"], activation="relu").numpy(),
            fastdl.conv2d(o["images"], o["kernel"], activation="relu").numpy()]


def test_results_are_unchanged_beside_a_busy_process_and_numpy_threads(operands,
                                                                       set_threads):
    set_threads(2)
    alone = compute(operands)
    spinner = subprocess.Popen([sys.executable, "-c", SPINNER])
    try:
        for _ in range(20):
            operands["x"] @ operands["w"]  # wakes OpenBLAS's threads, which then spin
            for got, want in zip(compute(operands), alone):
                np.testing.assert_array_equal(got, want)
    finally:
        spinner.kill()
        spinner.wait()


def test_the_thread_count_can_change_between_calls(operands, set_threads):
    results = {}
    for threads in (2, 1, 3, 2):
        set_threads(threads)
        results[threads] = compute(operands)
    # Row blocks are whole products over K whichever thread takes them: the same bits.
    for threads in (1, 3):
        np.testing.assert_array_equal(results[threads][0], results[2][0])
        for got, want in zip(results[threads][1:], results[2][1:]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_calls_from_several_python_threads_at_once_match_serial_calls(operands, set_threads):
    set_threads(2)
    rng = np.random.default_rng(1)
    inputs = [dict(operands, a=rng.standard_normal((512, 300), dtype=np.float32),
                   images=rng.standard_normal((16, 13, 13, 32), dtype=np.float32))
              for _ in range(6)]
    serial = [compute(o) for o in inputs]
    with ThreadPoolExecutor(max_workers=3) as pool:
        for _ in range(3):
            concurrent = list(pool.map(compute, inputs))
            for got_all, want_all in zip(concurrent, serial):
                np.testing.assert_array_equal(got_all[0], want_all[0])
                for got, want in zip(got_all[1:], want_all[1:]):
                    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_the_default_thread_count_comes_from_fastdl_num_threads():
    code = "import fastdl; print(fastdl.get_num_threads())"
    env_out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**__import__("os").environ, "FASTDL_NUM_THREADS": "3"})
    assert env_out.returncode == 0, env_out.stderr
    assert env_out.stdout.strip() == "3"


def test_a_chunk_that_raises_reaches_the_caller_after_the_others_and_the_pool_goes_on(
        set_threads, operands):
    """The error is rethrown once every chunk has run (none is left half done in another
    thread), as a RuntimeError; the pool serves the next calls, from several threads too."""
    set_threads(2)
    alone = compute(operands)
    for failing in (0, 5, 63):
        with pytest.raises(RuntimeError, match=rf"chunk {failing} failed after 64 chunks ran"):
            fastdl._C._pool_raise_in_chunk(64, failing)
    assert fastdl._C._pool_raise_in_chunk(64, -1) == 64

    def raise_then_compute(_):
        with pytest.raises(RuntimeError):
            fastdl._C._pool_raise_in_chunk(32, 7)
        return compute(operands)

    with ThreadPoolExecutor(max_workers=3) as pool:
        for results in pool.map(raise_then_compute, range(6)):
            np.testing.assert_array_equal(results[0], alone[0])


@pytest.mark.parametrize("threads", [2, 3])
def test_every_chunk_runs_once_whoever_takes_it(set_threads, threads):
    """Each participant takes its own range first and then the others': whatever the
    interleaving, every chunk runs exactly once, on a slot of this job."""
    set_threads(threads)
    for chunks in (1, 2, 3, 5, 64, 1001):
        for _ in range(20):
            slots = fastdl._C._pool_chunk_slots(chunks)
            assert len(slots) == chunks
            assert all(0 <= s < threads for s in slots), slots
    assert fastdl._C._pool_chunk_slots(0) == []
    with pytest.raises(ValueError, match="_pool_chunk_slots: chunks must be >= 0, got -1"):
        fastdl._C._pool_chunk_slots(-1)


def _matmul_in_child(a):
    return fastdl.matmul(a, a).numpy()


def test_a_forked_child_gets_a_working_pool(set_threads):
    """A child forked after the pool has run (multiprocessing's fork start method, as data
    loaders use) has none of the parent's workers: its kernels still run, on a fresh pool."""
    import multiprocessing

    set_threads(2)
    a = np.random.default_rng(2).standard_normal((300, 300)).astype(np.float32)
    want = fastdl.matmul(a, a).numpy()  # the parent's pool has workers now
    with multiprocessing.get_context("fork").Pool(2) as children:
        for got in children.map(_matmul_in_child, [a] * 4):
            np.testing.assert_array_equal(got, want)


def _worker_cores():
    """The cores each of fastdl's pool workers may run on, by thread id."""
    import os

    cores = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() != "fastdl-worker":
                    continue
            cores[int(tid)] = os.sched_getaffinity(int(tid))
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
    return cores


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread affinity is Linux's")
@pytest.mark.parametrize("pause", [0.02, 0.0], ids=["workers asleep", "workers polling"])
def test_workers_are_kept_off_the_callers_core(operands, set_threads, pause):
    """A woken worker placed on the caller's core could only take turns with the caller (after
    a NumPy call, OpenBLAS's spinning thread holds the other core): the workers may run on
    every core the process may use except the caller's, which moves with the caller, whether
    the workers slept or were still polling for work when it moved."""
    import os
    import time

    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("needs two allowed cores: with one, there is no other core to keep the workers on")
    set_threads(2)
    compute(operands)  # the pool has its worker, started with every allowed core
    try:
        for core in allowed[:2]:
            os.sched_setaffinity(0, {core})  # this thread only
            time.sleep(pause)  # 20 ms: the worker stops polling and sleeps
            compute(operands)
            workers = _worker_cores()
            assert workers, "no thread named fastdl-worker"
            for tid, cores in workers.items():
                assert cores == set(allowed) - {core}, (tid, cores, core)
    finally:
        os.sched_setaffinity(0, allowed)
