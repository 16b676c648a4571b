"""Matrix products: square sizes, the MNIST MLP's products (forward and backward, with the
transposed views autograd hands to the kernel), tall-skinny and odd shapes, and the fused
Dense layer ``linear(x, w, b, 'relu')``.
"""
from __future__ import annotations

import math

import numpy as np

import fastdl
from fastdl.bench.harness import Case, Context, Impls

FAMILY = "matmul"

#: (batch, in, hidden, out) of the MNIST MLP: Dense(784->128)-ReLU-Dense(128->10), batch 64.
MLP = (64, 784, 128, 10)


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
    batch, d_in, hidden, d_out = MLP
    mlp: list[tuple[str, int, int, int, bool, bool]] = [
        # name, m, k, n, a transposed, b transposed
        ("mlp fwd1 x@W1", batch, d_in, hidden, False, False),
        ("mlp fwd2 h@W2", batch, hidden, d_out, False, False),
        ("mlp dW1 x.T@dY", d_in, batch, hidden, True, False),
        ("mlp dW2 h.T@dY", hidden, batch, d_out, True, False),
        ("mlp dX2 dY@W2.T", batch, d_out, hidden, False, True),
        ("mlp dX1 dY@W1.T", batch, hidden, d_in, False, True),
    ]
    out = [matmul_case("square", n, n, n, quick=n < 2048) for n in (64, 128, 256, 512, 1024, 2048)]
    out += [matmul_case(name, m, k, n, ta, tb) for name, m, k, n, ta, tb in mlp]
    out += [
        matmul_case("tall-skinny", 10000, 64, 64),
        matmul_case("short-wide K", 64, 10000, 64),
        matmul_case("odd", 97, 131, 89),
        matmul_case("outer K=1", 1000, 1, 1000),
        linear_relu_case("linear+relu fwd1", batch, d_in, hidden),
        linear_relu_case("linear+relu fwd2", batch, hidden, d_out),
    ]
    return out
