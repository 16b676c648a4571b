"""Transposed convolutions at batch 128, the decoder layers of the VAE (keras.io's: 7x7x64 ->
64 and 14x14x64 -> 32, 3x3, stride 2, 'same'; 28x28x32 -> 1, 3x3, 'same') and of a DCGAN
generator for 28x28 images (7x7x128 -> 128 and 14x14x128 -> 64, 4x4, stride 2, 'same');
forward, and forward plus the three gradients. Reported with the ``conv`` family.

fastdl runs ``fastdl.conv2d_transpose`` (Keras's output sizes; the forward pass is the
convolution's input gradient). The NumPy reference adds every input pixel's product with each
kernel tap into the full output, then cuts Keras's window out of it. PyTorch runs
``conv_transpose2d`` with the ``padding`` and ``output_padding`` that make its output Keras's
window, NCHW and channels_last: its fastest form of the layer (cutting the window out of an
unpadded output took up to twice as long). Where that window is one pixel off PyTorch's
symmetric padding (a 3x3 kernel at stride 2: Keras keeps the first 2n rows of the 2n + 1,
PyTorch's padding 1 the last 2n), PyTorch computes the spatially mirrored problem, whose inputs
are mirrored before the timed calls and whose results are mirrored back when they are checked.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from fastdl.backend import cpu, geometry
from fastdl.bench.cases.conv import torch_tensor
from fastdl.bench.harness import Case, Context, Impls

FAMILY = "conv"
#: (name, batch, size, in_channels, filters, kernel, stride).
LAYERS = (
    ("vae decoder 1", 128, 7, 64, 64, 3, 2),
    ("vae decoder 2", 128, 14, 64, 32, 3, 2),
    ("vae decoder 3", 128, 28, 32, 1, 3, 1),
    ("dcgan generator 1", 128, 7, 128, 128, 4, 2),
    ("dcgan generator 2", 128, 14, 128, 64, 4, 2),
)
QUICK_MAX_FLOPS = 2e9


def _window(size: int, k: int, s: int) -> tuple[int, int]:
    """(first row of the full output kept, rows kept) for 'same': Keras's window."""
    out, before, _ = geometry.conv_transpose_axis(size, k, s, 1, "same", None, "bench")
    return before, out


def np_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, s: int) -> np.ndarray:
    n, h, _, _ = x.shape
    k, _, f, _ = w.shape
    full = (h - 1) * s + k
    y = np.zeros((n, full, full, f), x.dtype)
    for i in range(k):
        for j in range(k):
            y[:, i:i + (h - 1) * s + 1:s, j:j + (h - 1) * s + 1:s] += x @ w[i, j].T
    first, out = _window(h, k, s)
    return y[:, first:first + out, first:first + out] + b


def np_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray, s: int) -> tuple:
    n, h, _, _ = x.shape
    k, _, f, _ = w.shape
    full = (h - 1) * s + k
    first, out = _window(h, k, s)
    g = np.zeros((n, full, full, f), dy.dtype)
    g[:, first:first + out, first:first + out] = dy
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(k):
        for j in range(k):
            gij = g[:, i:i + (h - 1) * s + 1:s, j:j + (h - 1) * s + 1:s]
            dx += gij @ w[i, j]
            dw[i, j] = gij.reshape(-1, f).T @ x.reshape(-1, x.shape[3])
    return dx, dw, dy.sum(axis=(0, 1, 2))


def _torch_padding(size: int, k: int, s: int) -> Optional[tuple[int, int, bool]]:
    """(padding, output_padding, mirrored) with which ``conv_transpose2d`` gives Keras's window
    of the full output, on the problem as it is or mirrored (rows counted from the end); None
    when neither can, and the window must be cut out of the full output."""
    first, out = _window(size, k, s)
    full = (size - 1) * s + k
    for mirrored, start in ((False, first), (True, full - first - out)):
        output_padding = out - full + 2 * start
        if start >= 0 and 0 <= output_padding < s:
            return start, output_padding, mirrored
    return None


class _MirroredBack:
    """A PyTorch result of the mirrored problem, mirrored back along ``axes`` when the check
    converts it (outside the timed call)."""

    def __init__(self, tensor: Any, axes: tuple) -> None:
        self.tensor, self.axes = tensor, axes

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.flip(self.tensor.detach().numpy(), self.axes).astype(dtype)


def _torch_impls(torch: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray, dy: np.ndarray,
                 s: int, layout: Any, backward: bool):
    F = torch.nn.functional
    first, out = _window(x.shape[1], w.shape[0], s)
    padding = _torch_padding(x.shape[1], w.shape[0], s)
    mirrored = padding is not None and padding[2]
    if mirrored:
        x, w, dy = x[:, ::-1, ::-1], w[::-1, ::-1], dy[:, ::-1, ::-1]

    def tensor(a: np.ndarray, perm: tuple, grad: bool) -> Any:
        return torch_tensor(torch, a, perm, grad, layout)

    def result(t: Any, axes: tuple) -> Any:
        return _MirroredBack(t, axes) if mirrored else t

    # PyTorch's weight is (in_channels, filters, kh, kw).
    tx, tw = tensor(x, (0, 3, 1, 2), backward), tensor(w, (3, 2, 0, 1), backward)
    tb, tdy = tensor(b, (0,), backward), tensor(dy, (0, 3, 1, 2), False)

    def forward():
        if padding is None:
            y = F.conv_transpose2d(tx, tw, tb, stride=s)
            return y[:, :, first:first + out, first:first + out]
        return F.conv_transpose2d(tx, tw, tb, stride=s, padding=padding[0],
                                  output_padding=padding[1])

    if not backward:
        return lambda: result(forward().permute(0, 2, 3, 1), (1, 2))

    def step():
        tx.grad = tw.grad = tb.grad = None
        forward().backward(tdy)
        return (result(tx.grad.permute(0, 2, 3, 1), (1, 2)),
                result(tw.grad.permute(2, 3, 1, 0), (0, 1)), tb.grad)

    return step


def conv_transpose_case(name: str, n: int, size: int, c: int, f: int, k: int, s: int,
                        backward: bool) -> Case:
    out_shape, *geom = geometry.conv2d_transpose_geometry((n, size, size, c), (k, k, f, c), s,
                                                          "same", None, 1)
    macs = n * size * size * c * f * k * k

    def setup(ctx: Context) -> Impls:
        rng = ctx.rng
        x = rng.standard_normal((n, size, size, c), dtype=np.float32)
        w = rng.standard_normal((k, k, f, c), dtype=np.float32) * np.float32(
            1 / math.sqrt(k * k * c))
        b = rng.standard_normal(f, dtype=np.float32)
        dy = rng.standard_normal(out_shape, dtype=np.float32) * np.float32(1 / math.sqrt(k * k))

        def ours_forward():
            return cpu.conv2d_backward_input(x, w, out_shape, *geom) + b

        if backward:
            def ours():
                ours_forward()
                dx = cpu.conv2d_forward(dy, w, None, *geom)
                dw = cpu.conv2d_backward(x, dy, w, *geom, False, True, False)[1]
                return dx, dw, dy.sum(axis=(0, 1, 2))

            def reference():
                np_forward(x, w, b, s)
                return np_backward(x, w, dy, s)
        else:
            ours = ours_forward

            def reference():
                return np_forward(x, w, b, s)
        impls: Impls = {"fastdl": ours, "numpy": reference}
        torch = ctx.torch
        if torch is not None:
            impls["torch NCHW"] = _torch_impls(torch, x, w, b, dy, s, torch.contiguous_format,
                                               backward)
            impls["torch NHWC"] = _torch_impls(torch, x, w, b, dy, s, torch.channels_last,
                                               backward)
        return impls

    passes = 3 if backward else 1
    atol = 1e-4 * math.sqrt(n * size * size) if backward else 1e-4
    return Case(FAMILY, f"{name} transposed {'fwd+bwd' if backward else 'fwd'}",
                f"{n}x{size}x{size}x{c} -> {f}, {k}x{k}, stride {s}", setup,
                flops=2.0 * macs * passes, rtol=1e-3, atol=atol,
                quick=2.0 * macs <= QUICK_MAX_FLOPS)


def cases() -> list[Case]:
    """Forward, then forward and backward, of every decoder layer."""
    return [conv_transpose_case(*layer, backward=backward) for layer in LAYERS
            for backward in (False, True)]
