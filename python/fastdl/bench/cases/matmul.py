"""Matrix products at the shapes the table of operation cases gives matmul and
``linear(activation='relu')`` (fastdl.testing.op_cases.matmul): square sizes, the MNIST MLP's
products (forward and backward, with the transposed views autograd hands to the kernel),
tall-skinny and odd shapes, and the fused Dense layer ``linear(x, w, b, 'relu')``.
"""
from __future__ import annotations

import math

import numpy as np

import fastdl
from fastdl.bench.harness import Case, Context, Impls
from fastdl.testing import op_cases

FAMILY = "matmul"

#: --quick leaves out the products of more FLOPs than this (the 2048x2048 square).
QUICK_MAX_FLOPS = 2.0 * 1024**3


def _operand(rng: np.random.Generator, rows: int, cols: int, transposed: bool,
             scale: float = 1.0) -> np.ndarray:
    """A float32 (rows, cols) matrix; when ``transposed`` it is the ``.T`` view of a C-ordered
    (cols, rows) array, as ``x.T`` and ``W.T`` are in a Dense layer's backward pass."""
    if transposed:
        return (rng.standard_normal((cols, rows), dtype=np.float32) * np.float32(scale)).T
    return rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(scale)


def _shape(m: int, k: int, n: int, ta: bool, tb: bool) -> str:
    a = f"({k}x{m}).T" if ta else f"{m}x{k}"
    b = f"({n}x{k}).T" if tb else f"{k}x{n}"
    return f"{a} @ {b}"


def _atol(k: int) -> float:
    """Absolute tolerance of a float32 length-``k`` dot product whose result is O(1): both
    sides round, in different summation orders, so the difference grows like sqrt(k)."""
    return 2e-5 * max(1.0, math.sqrt(k))


def matmul_case(name: str, m: int, k: int, n: int, ta: bool = False, tb: bool = False,
                quick: bool = True) -> Case:
    """``fastdl.matmul(a, b)`` against ``a @ b`` for an (m, k) by (k, n) float32 product."""

    def setup(ctx: Context) -> Impls:
        # b is scaled by 1/sqrt(k) so every output is O(1) and one tolerance fits all sizes.
        a = _operand(ctx.rng, m, k, ta)
        b = _operand(ctx.rng, k, n, tb, scale=1.0 / math.sqrt(k))
        impls: Impls = {"fastdl": lambda: fastdl.matmul(a, b), "numpy": lambda: a @ b}
        torch = ctx.torch
        if torch is not None:
            ta_, tb_ = torch.from_numpy(a), torch.from_numpy(b)  # shares memory, keeps strides
            impls["torch"] = lambda: torch.matmul(ta_, tb_)
        return impls

    return Case(FAMILY, name, _shape(m, k, n, ta, tb), setup, flops=2.0 * m * n * k,
                atol=_atol(k), quick=quick)


def linear_relu_case(name: str, m: int, k: int, n: int) -> Case:
    """``fastdl.linear(x, w, b, 'relu')`` (bias and ReLU fused into the GEMM) against
    ``np.maximum(x @ w + b, 0)``."""

    def setup(ctx: Context) -> Impls:
        x = _operand(ctx.rng, m, k, False)
        w = _operand(ctx.rng, k, n, False, scale=1.0 / math.sqrt(k))
        b = ctx.rng.standard_normal(n, dtype=np.float32)
        impls: Impls = {
            "fastdl": lambda: fastdl.linear(x, w, b, "relu"),
            "numpy": lambda: np.maximum(x @ w + b, 0),
        }
        torch = ctx.torch
        if torch is not None:
            tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
            impls["torch"] = lambda: torch.relu(torch.addmm(tb, tx, tw))
        return impls

    return Case(FAMILY, name, f"{m}x{k} @ {k}x{n} + {n}", setup, flops=2.0 * m * n * k,
                atol=_atol(k))


def cases() -> list[Case]:
    """Every matmul-family case, in report order; ``quick=False`` marks the largest ones."""
    out = []
    for bench in op_cases.case_named("matmul").bench:
        (m, k), (_, n) = bench.shapes
        out.append(matmul_case(bench.name, m, k, n, *bench.transposed,
                               quick=2.0 * m * n * k <= QUICK_MAX_FLOPS))
    for bench in op_cases.case_named("linear(activation='relu')").bench:
        (m, k), (_, n) = bench.shapes[:2]
        out.append(linear_relu_case(bench.name, m, k, n))
    return out
