"""Softmax and log-softmax over the last axis (forward, forward+backward) and the fused
softmax-cross-entropy (loss and gradient), against NumPy's max-subtract/exp/sum formulas, at the
shapes the table of operation cases gives them (fastdl.testing.op_cases.softmax).

Rates are GB/s of the data each operation must touch at least once; a kernel that makes several
passes over a row that does not fit in cache moves more than that.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Callable, Optional

import numpy as np

import fastdl
import fastdl.backend.cpu as cpu
from fastdl.bench.harness import Case, Context, Impls, require
from fastdl.testing import op_cases

FAMILY = "softmax"
QUICK_MAX_ELEMENTS = 10**6  # --quick keeps shapes up to this many elements
_F32 = 4


# NumPy references, in the numerically stable form every tutorial gives.

def np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def np_softmax_backward(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def np_log_softmax_backward(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    return g - np.exp(y) * g.sum(axis=-1, keepdims=True)


def np_softmax_cross_entropy_with_grad(logits: np.ndarray,
                                       labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer ``labels`` under ``softmax(logits)`` and its gradient."""
    rows = np.arange(logits.shape[0])
    logp = np_log_softmax(logits)
    loss = -logp[rows, labels].mean()
    grad = np.exp(logp)
    grad[rows, labels] -= 1.0
    grad /= logits.shape[0]
    return float(loss), grad


def _inputs(ctx: Context, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    # Logits with a spread of 3: large enough that skipping the max subtraction would show.
    x = ctx.rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(3)
    g = ctx.rng.standard_normal((rows, cols), dtype=np.float32)
    return x, g


def _shape(rows: int, cols: int) -> str:
    return f"{rows}x{cols}"


def forward_case(log: bool, rows: int, cols: int, quick: bool) -> Case:
    """``softmax(x, axis=-1)`` or ``log_softmax(x, axis=-1)``."""
    name = "log_softmax" if log else "softmax"

    def setup(ctx: Context) -> Impls:
        ours = require(fastdl, name)
        ref = np_log_softmax if log else np_softmax
        x, _ = _inputs(ctx, rows, cols)
        impls: Impls = {"fastdl": lambda: ours(x, axis=-1), "numpy": lambda: ref(x)}
        torch = ctx.torch
        if torch is not None:
            tx = torch.from_numpy(x)
            fn = torch.log_softmax if log else torch.softmax
            impls["torch"] = lambda: fn(tx, dim=-1)
        return impls

    return Case(FAMILY, f"{name} fwd", _shape(rows, cols), setup,
                nbytes=2.0 * rows * cols * _F32, quick=quick)


def forward_backward_case(log: bool, rows: int, cols: int, quick: bool) -> Case:
    """Forward, then the backward from the saved output ``y``, as autograd runs them."""
    name = "log_softmax" if log else "softmax"

    def setup(ctx: Context) -> Impls:
        ours_fwd = require(fastdl, name)
        ours_bwd = require(cpu, f"{name}_backward")
        ref_fwd, ref_bwd = ((np_log_softmax, np_log_softmax_backward) if log
                            else (np_softmax, np_softmax_backward))
        x, g = _inputs(ctx, rows, cols)

        def fastdl_step():
            y = ours_fwd(x, axis=-1)
            return y, ours_bwd(g, y)

        def numpy_step():
            y = ref_fwd(x)
            return y, ref_bwd(g, y)

        impls: Impls = {"fastdl": fastdl_step, "numpy": numpy_step}
        torch = ctx.torch
        if torch is not None:
            impls["torch"] = _torch_forward_backward(torch, log, x, g)
        return impls

    # Forward reads x and writes y; backward reads g and y and writes dx. The backward sums
    # each row of the incoming gradient (O(sqrt(cols)) in size): absolute error grows with it.
    return Case(FAMILY, f"{name} fwd+bwd", _shape(rows, cols), setup,
                nbytes=5.0 * rows * cols * _F32, atol=1e-5 * math.sqrt(cols), quick=quick)


def _torch_forward_backward(torch: Any, log: bool, x: np.ndarray,
                            g: np.ndarray) -> Callable[[], Any]:
    """PyTorch's forward and its own backward kernel, without autograd's bookkeeping."""
    tx, tg = torch.from_numpy(x), torch.from_numpy(g)
    aten = torch.ops.aten
    if log:
        fwd, bwd = torch.log_softmax, aten._log_softmax_backward_data
    else:
        fwd, bwd = torch.softmax, aten._softmax_backward_data

    def step():
        y = fwd(tx, dim=-1)
        return y, bwd(tg, y, -1, torch.float32)

    return step


def cross_entropy_case(rows: int, cols: int, quick: bool) -> Case:
    """Fused ``softmax_cross_entropy_with_grad(logits, labels) -> (loss, dlogits)``."""

    def setup(ctx: Context) -> Impls:
        ours = require(cpu, "softmax_cross_entropy_with_grad")
        x, _ = _inputs(ctx, rows, cols)
        labels = ctx.rng.integers(0, cols, size=rows)
        impls: Impls = {
            "fastdl": lambda: ours(x, labels),
            "numpy": lambda: np_softmax_cross_entropy_with_grad(x, labels),
        }
        torch = ctx.torch
        if torch is not None:
            tl = torch.from_numpy(labels)
            fn = torch.nn.functional.cross_entropy

            def torch_step():
                tx = torch.from_numpy(x).requires_grad_()
                loss = fn(tx, tl)
                (grad,) = torch.autograd.grad(loss, tx)
                return loss.detach(), grad

            impls["torch"] = torch_step
        return impls

    # Reads the logits and the labels, writes the gradient; the probabilities stay in registers.
    nbytes = 2.0 * rows * cols * _F32 + rows * np.dtype(np.int64).itemsize
    return Case(FAMILY, "softmax_xent loss+grad", _shape(rows, cols), setup, nbytes=nbytes,
                quick=quick)


def _shapes(case_name: str) -> list[tuple[int, int]]:
    """The (rows, classes) the table benchmarks its case ``case_name`` at."""
    return [bench.shapes[0] for bench in op_cases.case_named(case_name).bench]


def cases(shapes: Optional[Sequence[tuple[int, int]]] = None) -> list[Case]:
    """Every softmax-family case, in report order, at the table's shapes (or ``shapes``);
    ``--quick`` drops the largest shapes."""

    def quick(rows: int, cols: int) -> bool:
        return rows * cols <= QUICK_MAX_ELEMENTS

    def shapes_of(case_name: str) -> Sequence[tuple[int, int]]:
        return _shapes(case_name) if shapes is None else shapes

    out = [forward_case(log, r, c, quick(r, c)) for log in (False, True)
           for r, c in shapes_of("log_softmax" if log else "softmax")]
    out += [forward_backward_case(log, r, c, quick(r, c)) for log in (False, True)
            for r, c in shapes_of("log_softmax" if log else "softmax")]
    out += [cross_entropy_case(r, c, quick(r, c)) for r, c in shapes_of("softmax_cross_entropy")]
    return out
