"""Kernel benchmarks: ``python -m fastdl.bench [matmul|activation|softmax|overhead ...]``.

Every case times fastdl against NumPy (and PyTorch when it is importable) on the same inputs,
interleaved, median of repeats after warm-up, one process per thread count, and checks each
result against NumPy's so that a fast wrong kernel never shows as a win.

Modules: :mod:`~fastdl.bench.harness` (checking and timing one case), :mod:`~fastdl.bench.cases`
(what is measured, one module per family), :mod:`~fastdl.bench.worker` (a process per thread
count), :mod:`~fastdl.bench.report` (tables, JSON, plot), :mod:`~fastdl.bench.machine` (what it
ran on) and :mod:`~fastdl.bench.cli`. Importing any of them needs neither matplotlib nor torch.
"""
