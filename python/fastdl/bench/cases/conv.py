"""2-D convolutions at batch 64, the layers the table of operation cases gives ``conv2d``
(fastdl.testing.op_cases.conv): the source documents' CNN (28x28x1 -> 32, 13x13x32 -> 64,
5x5x64 -> 64, all 3x3 'valid'), a 32 -> 32 layer at 28x28 and a 64 -> 128 one at 56x56; forward,
and forward plus the three gradients (input, weights, bias).

The NumPy reference is the textbook one: im2col (a strided view of every patch, copied into one
matrix) times the weights; the weight gradient is the patches' transpose times the output
gradient, the input gradient is added back tap by tap (col2im). PyTorch runs NCHW and
channels_last (its faster layout on CPU); every result is compared in NHWC/HWIO order.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from fastdl.backend import cpu
from fastdl.bench.harness import Case, Context, Impls
from fastdl.testing import op_cases

FAMILY = "conv"
#: (name, batch, height, width, in_channels, out_channels, kernel) of a benchmarked layer.
Layer = tuple[str, int, int, int, int, int, int]
QUICK_MAX_FLOPS = 2e9  # --quick keeps layers whose forward is at most this many FLOPs


def np_patches(x: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """im2col for stride 1, 'valid': (N * OH * OW, kh * kw * C), in HWC order within a row."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    # (N, OH, OW, C, kh, kw) -> (N, OH, OW, kh, kw, C)
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * x.shape[3])


def np_conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    n, h, wd, _ = x.shape
    kh, kw, c, co = w.shape
    y = np_patches(x, kh, kw) @ w.reshape(-1, co) + b
    return y.reshape(n, h - kh + 1, wd - kw + 1, co)


def np_conv_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray) -> tuple:
    kh, kw, c, co = w.shape
    dy2 = dy.reshape(-1, co)
    dw = (np_patches(x, kh, kw).T @ dy2).reshape(w.shape)
    dx = np.zeros_like(x)
    oh, ow = dy.shape[1:3]
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + oh, j:j + ow] += dy @ w[i, j].T
    return dx, dw, dy2.sum(axis=0)


def torch_tensor(torch: Any, a: np.ndarray, perm: tuple, grad: bool, layout: Any) -> Any:
    """``a`` transposed by ``perm`` as a PyTorch tensor, in memory format ``layout`` when it
    is 4-D, requiring grad when ``grad``."""
    t = torch.from_numpy(np.ascontiguousarray(a.transpose(perm)))
    if t.dim() == 4:
        t = t.contiguous(memory_format=layout)
    return t.requires_grad_(grad)


def _torch_impls(torch: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray, dy: np.ndarray,
                 layout: Any, backward: bool):
    """PyTorch's forward (and backward) on NCHW tensors in memory format ``layout``; results
    handed back as NHWC/HWIO views."""
    F = torch.nn.functional

    def tensor(a: np.ndarray, perm: tuple, grad: bool) -> Any:
        return torch_tensor(torch, a, perm, grad, layout)

    tx, tw = tensor(x, (0, 3, 1, 2), backward), tensor(w, (3, 2, 0, 1), backward)
    tb, tdy = tensor(b, (0,), backward), tensor(dy, (0, 3, 1, 2), False)
    if not backward:
        return lambda: F.conv2d(tx, tw, tb).permute(0, 2, 3, 1)

    def step():
        tx.grad = tw.grad = tb.grad = None
        F.conv2d(tx, tw, tb).backward(tdy)
        return tx.grad.permute(0, 2, 3, 1), tw.grad.permute(2, 3, 1, 0), tb.grad

    return step


def conv_case(name: str, n: int, h: int, wd: int, c: int, co: int, k: int,
              backward: bool) -> Case:
    oh, ow = h - k + 1, wd - k + 1
    macs = n * oh * ow * co * k * k * c
    geometry = ((1, 1), (0, 0, 0, 0), (1, 1))

    def setup(ctx: Context) -> Impls:
        rng = ctx.rng
        x = rng.standard_normal((n, h, wd, c), dtype=np.float32)
        # He-like scale: outputs and gradients stay O(1), so one tolerance fits every layer.
        w = rng.standard_normal((k, k, c, co), dtype=np.float32) * np.float32(
            1 / math.sqrt(k * k * c))
        b = rng.standard_normal(co, dtype=np.float32)
        dy = rng.standard_normal((n, oh, ow, co), dtype=np.float32) * np.float32(
            1 / math.sqrt(k * k * co))
        if backward:
            def ours():
                cpu.conv2d_forward(x, w, b, *geometry)
                return cpu.conv2d_backward(dy, x, w, *geometry)

            def reference():
                np_conv_forward(x, w, b)
                return np_conv_backward(x, w, dy)
        else:
            def ours():
                return cpu.conv2d_forward(x, w, b, *geometry)

            def reference():
                return np_conv_forward(x, w, b)
        impls: Impls = {"fastdl": ours, "numpy": reference}
        torch = ctx.torch
        if torch is not None:
            impls["torch NCHW"] = _torch_impls(torch, x, w, b, dy, torch.contiguous_format,
                                               backward)
            impls["torch NHWC"] = _torch_impls(torch, x, w, b, dy, torch.channels_last,
                                               backward)
        return impls

    passes = 3 if backward else 1
    # Gradients sum up to N * OH * OW products; their rounding grows like its square root.
    atol = 1e-4 * math.sqrt(n * oh * ow) if backward else 1e-4
    return Case(FAMILY, f"{name} {'fwd+bwd' if backward else 'fwd'}",
                f"{n}x{h}x{wd}x{c} -> {co}, {k}x{k}", setup, flops=2.0 * macs * passes,
                rtol=1e-3, atol=atol, quick=2.0 * macs <= QUICK_MAX_FLOPS)


def table_layers() -> list[Layer]:
    """The layers the table benchmarks ``conv2d`` (stride 1, 'valid', square kernels) at."""
    layers = []
    for bench in op_cases.case_named("conv2d").bench:
        (n, h, w, c), (k, _, _, co) = bench.shapes[:2]
        layers.append((bench.name, n, h, w, c, co, k))
    return layers


def cases(layers: Optional[Sequence[Layer]] = None) -> list[Case]:
    """Forward, then forward and backward, of every layer (the table's, or ``layers``), then
    the transposed convolutions of the decoders (:mod:`fastdl.bench.cases.conv_transpose`)
    unless ``layers`` are given."""
    from fastdl.bench.cases import conv_transpose
    out = [conv_case(*layer, backward=backward) for layer in layers or table_layers()
           for backward in (False, True)]
    return out if layers else out + conv_transpose.cases()
