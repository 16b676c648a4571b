"""Layer and RMS normalization over the last axis (forward, forward+backward with the gradients
of x, gamma and beta), against NumPy's formulas and PyTorch's own kernels (``native_layer_norm``
and its backward kernel, without autograd's bookkeeping; ``_fused_rms_norm``, whose backward
kernel has no CPU implementation, so that its forward+backward is autograd's), at the shapes the
table of operation cases gives them (fastdl.testing.op_cases.normalization).

Rates are GB/s of the data each operation must touch at least once.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np

import fastdl.backend.cpu as cpu
from fastdl.bench.harness import Case, Context, Impls, require
from fastdl.testing import op_cases

FAMILY = "norm"
EPSILON = 1e-5
_F32 = 4
#: The op-case rows benchmarked, by kind.
ROWS = {"layer": "layer_normalization", "rms": "rms_normalization"}


def np_forward(kind: str, x: np.ndarray, gamma: np.ndarray,
               beta: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(y, rstd) in NumPy's float32 arithmetic, the formulas as written."""
    if kind == "rms":
        rstd = 1 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(EPSILON))
        return x * rstd * gamma, rstd
    centered = x - x.mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(np.mean(centered * centered, axis=-1, keepdims=True) + np.float32(EPSILON))
    return centered * rstd * gamma + beta, rstd


def np_forward_backward(kind: str, x: np.ndarray, g: np.ndarray, gamma: np.ndarray,
                        beta: Optional[np.ndarray]) -> tuple:
    y, rstd = np_forward(kind, x, gamma, beta)
    xn = (x if kind == "rms" else x - x.mean(axis=-1, keepdims=True)) * rstd
    u = g * gamma
    dx = u - xn * np.mean(u * xn, axis=-1, keepdims=True)
    if kind == "layer":
        dx -= np.mean(u, axis=-1, keepdims=True)
    grads = (dx * rstd, (g * xn).sum(axis=0))
    return (y, *grads) if kind == "rms" else (y, *grads, g.sum(axis=0))


def _torch_kernels(torch: Any, kind: str, x: np.ndarray, g: np.ndarray, gamma: np.ndarray,
                   beta: Optional[np.ndarray]) -> tuple[Callable, Callable]:
    """PyTorch's forward kernel alone, and its forward and backward kernels in turn."""
    aten = torch.ops.aten
    tx, tg, tgamma = torch.from_numpy(x), torch.from_numpy(g), torch.from_numpy(gamma)
    shape = [x.shape[-1]]
    if kind == "rms":
        # Its fused backward kernel has no CPU implementation: autograd's backward of rms_norm.
        rms_norm = torch.nn.functional.rms_norm

        def step():
            leaf_x, leaf_gamma = tx.detach().requires_grad_(), tgamma.detach().requires_grad_()
            y = rms_norm(leaf_x, shape, leaf_gamma, EPSILON)
            return (y.detach(), *torch.autograd.grad(y, (leaf_x, leaf_gamma), tg))
        return (lambda: aten._fused_rms_norm(tx, shape, tgamma, EPSILON)[0]), step
    tbeta = torch.from_numpy(beta)

    def forward():
        return aten.native_layer_norm(tx, shape, tgamma, tbeta, EPSILON)

    def step():
        y, mean, rstd = forward()
        return (y, *aten.native_layer_norm_backward(tg, tx, shape, mean, rstd, tgamma, tbeta,
                                                    [True, True, True]))
    return (lambda: forward()[0]), step


def norm_case(kind: str, rows: int, cols: int, backward: bool) -> Case:
    """``kind`` normalization of a (rows, cols) float32 array, forward or forward+backward."""

    def setup(ctx: Context) -> Impls:
        forward, backward_kernel = require(cpu, "norm_forward"), require(cpu, "norm_backward")
        x = ctx.rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(2) + 1
        g = ctx.rng.standard_normal((rows, cols), dtype=np.float32)
        gamma = ctx.rng.standard_normal(cols, dtype=np.float32)
        beta = None if kind == "rms" else ctx.rng.standard_normal(cols, dtype=np.float32)

        def fastdl_forward():
            return forward(x, gamma, beta, EPSILON, kind)[0]

        def fastdl_step():
            y, rstd = forward(x, gamma, beta, EPSILON, kind)
            grads = backward_kernel(g, x, gamma, rstd, kind, True, beta is not None)
            return (y, *(a for a in grads if a is not None))

        impls: Impls = {
            "fastdl": fastdl_step if backward else fastdl_forward,
            "numpy": ((lambda: np_forward_backward(kind, x, g, gamma, beta)) if backward
                      else (lambda: np_forward(kind, x, gamma, beta)[0])),
        }
        if ctx.torch is not None:
            torch_forward, torch_step = _torch_kernels(ctx.torch, kind, x, g, gamma, beta)
            impls["torch"] = torch_step if backward else torch_forward
        return impls

    # Forward reads x and writes y; backward reads x and the gradient and writes dx. The
    # parameter gradients sum over the rows: their error grows with the square root of rows.
    nbytes = (5.0 if backward else 2.0) * rows * cols * _F32
    label = f"{ROWS[kind]} {'fwd+bwd' if backward else 'fwd'}"
    return Case(FAMILY, label, f"{rows}x{cols}", setup, nbytes=nbytes,
                atol=1e-5 * math.sqrt(rows) if backward else 1e-5, rtol=1e-4)


def cases() -> list[Case]:
    """Every normalization case, in report order, at the table's shapes."""
    out = []
    for backward in (False, True):
        for kind, row in ROWS.items():
            for bench in op_cases.case_named(row).bench:
                rows, cols = bench.shapes[0]
                out.append(norm_case(kind, rows, cols, backward))
    return out
