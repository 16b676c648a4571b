"""2-D max and average pooling of NHWC float32 images (forward, forward+backward) with
non-overlapping windows, against NumPy's reshape trick and PyTorch in both of its layouts, at
the shapes the table of operation cases gives them (fastdl.testing.op_cases.pool: the CNN's
pooling layer, 2x2 on 26x26x32 feature maps at batch 64, and a larger, ResNet-sized one).

PyTorch runs on the same data as an NCHW tensor (``torch NCHW``, its default layout, copied once
outside the timed region) and as a channels_last view of the NHWC array (``torch``: the same
memory layout as fastdl, and the comparison in the ``vs torch`` column). The backward is
PyTorch's own kernel called directly, without autograd's bookkeeping, as for fastdl.

Rates are GB/s of the data each operation must touch at least once: the input and the output
forward; with the backward also the incoming gradient and the input gradient. Argmax indices
(fastdl int32, PyTorch int64) are not counted.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional

import numpy as np

import fastdl
import fastdl.backend.cpu as cpu
from fastdl.bench.harness import Case, Context, Impls, require
from fastdl.testing import op_cases

FAMILY = "pool"
POOL = 2
QUICK_MAX_ELEMENTS = 2 * 10**6  # --quick keeps shapes up to this many input elements
_F32 = 4

Shape = tuple[int, int, int, int]


# NumPy references for a pool x pool window moved by pool ('valid': trailing rows and columns
# that fill no window are dropped): the image is reshaped so that each window is two axes.

def _windows(x: np.ndarray, pool: int) -> np.ndarray:
    """(n, oh, ow, c, pool * pool): each window's elements in scan order."""
    n, h, w, c = x.shape
    oh, ow = h // pool, w // pool
    blocks = x[:, :oh * pool, :ow * pool].reshape(n, oh, pool, ow, pool, c)
    return blocks.transpose(0, 1, 3, 5, 2, 4).reshape(n, oh, ow, c, pool * pool)


def _unwindow(d: np.ndarray, shape: Shape, pool: int) -> np.ndarray:
    """The inverse of :func:`_windows`, with zeros for the rows and columns in no window."""
    n, oh, ow, c, _ = d.shape
    dx = np.zeros(shape, d.dtype)
    blocks = d.reshape(n, oh, ow, c, pool, pool).transpose(0, 1, 4, 2, 5, 3)
    dx[:, :oh * pool, :ow * pool] = blocks.reshape(n, oh * pool, ow * pool, c)
    return dx


def np_max_pool2d(x: np.ndarray, pool: int = POOL) -> np.ndarray:
    n, h, w, c = x.shape
    oh, ow = h // pool, w // pool
    return x[:, :oh * pool, :ow * pool].reshape(n, oh, pool, ow, pool, c).max(axis=(2, 4))


def np_max_pool2d_forward_backward(x: np.ndarray, g: np.ndarray,
                                   pool: int = POOL) -> tuple[np.ndarray, np.ndarray]:
    """The maxima and the input gradient, which goes to the first maximum of each window."""
    win = _windows(x, pool)
    first = win.argmax(axis=-1)[..., np.newaxis]
    y = np.take_along_axis(win, first, axis=-1)[..., 0]
    d = np.zeros_like(win)
    np.put_along_axis(d, first, g[..., np.newaxis], axis=-1)
    return y, _unwindow(d, x.shape, pool)


def np_avg_pool2d(x: np.ndarray, pool: int = POOL) -> np.ndarray:
    n, h, w, c = x.shape
    oh, ow = h // pool, w // pool
    return x[:, :oh * pool, :ow * pool].reshape(n, oh, pool, ow, pool, c).mean(axis=(2, 4))


def np_avg_pool2d_forward_backward(x: np.ndarray, g: np.ndarray,
                                   pool: int = POOL) -> tuple[np.ndarray, np.ndarray]:
    d = np.broadcast_to((g / np.float32(pool * pool))[..., np.newaxis], g.shape + (pool * pool,))
    return np_avg_pool2d(x, pool), _unwindow(d, x.shape, pool)


def _inputs(ctx: Context, shape: Shape, pool: int) -> tuple[np.ndarray, np.ndarray]:
    n, h, w, c = shape
    x = ctx.rng.standard_normal(shape, dtype=np.float32)
    g = ctx.rng.standard_normal((n, h // pool, w // pool, c), dtype=np.float32)
    return x, g


def _label(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def _nbytes(shape: Shape, pool: int, backward: bool) -> float:
    n, h, w, c = shape
    x = n * h * w * c
    y = n * (h // pool) * (w // pool) * c
    return float((2 * (x + y) if backward else x + y) * _F32)


def _torch_layouts(torch: Any, *arrays: np.ndarray) -> dict[str, list[Any]]:
    """Each NHWC array as PyTorch NCHW tensors: a contiguous copy ("torch NCHW") and a
    channels_last view of the same memory ("torch NHWC")."""
    views = [torch.from_numpy(a).permute(0, 3, 1, 2) for a in arrays]
    return {"torch NCHW": [v.contiguous() for v in views], "torch NHWC": views}


def _nhwc(t: Any) -> Any:
    """A PyTorch NCHW result as an NHWC view (no copy), to compare with NumPy's."""
    return t.permute(0, 2, 3, 1)


def forward_case(kind: str, shape: Shape, quick: bool, pool: int = POOL) -> Case:
    """``max_pool2d(x, pool)`` or ``avg_pool2d(x, pool)``."""
    name = f"{kind}_pool2d"

    def setup(ctx: Context) -> Impls:
        ours = require(fastdl, name)
        ref = np_max_pool2d if kind == "max" else np_avg_pool2d
        x, _ = _inputs(ctx, shape, pool)
        impls: Impls = {"fastdl": lambda: ours(x, pool), "numpy": lambda: ref(x, pool)}
        torch = ctx.torch
        if torch is not None:
            fn = getattr(torch.nn.functional, name)
            for label, (tx,) in _torch_layouts(torch, x).items():
                impls[label] = _torch_forward(fn, tx, pool)
        return impls

    return Case(FAMILY, f"{name} {pool}x{pool} fwd", _label(shape), setup,
                nbytes=_nbytes(shape, pool, False), quick=quick)


def _torch_forward(fn: Callable[..., Any], tx: Any, pool: int) -> Callable[[], Any]:
    return lambda: _nhwc(fn(tx, pool))


def forward_backward_case(kind: str, shape: Shape, quick: bool, pool: int = POOL) -> Case:
    """Forward, then the input gradient from an incoming gradient, as autograd runs them."""
    name = f"{kind}_pool2d"

    def setup(ctx: Context) -> Impls:
        x, g = _inputs(ctx, shape, pool)
        if kind == "max":
            forward = require(cpu, "max_pool2d_with_argmax")
            backward = require(cpu, "max_pool2d_backward")

            def fastdl_step():
                y, argmax = forward(x, pool)
                return y, backward(g, argmax, x.shape, pool)

            ref = np_max_pool2d_forward_backward
        else:
            forward = require(cpu, "avg_pool2d")
            backward = require(cpu, "avg_pool2d_backward")

            def fastdl_step():
                return forward(x, pool), backward(g, x.shape, pool)

            ref = np_avg_pool2d_forward_backward
        impls: Impls = {"fastdl": fastdl_step, "numpy": lambda: ref(x, g, pool)}
        torch = ctx.torch
        if torch is not None:
            for label, (tx, tg) in _torch_layouts(torch, x, g).items():
                impls[label] = _torch_forward_backward(torch, kind, tx, tg, pool)
        return impls

    return Case(FAMILY, f"{name} {pool}x{pool} fwd+bwd", _label(shape), setup,
                nbytes=_nbytes(shape, pool, True), quick=quick)


def _torch_forward_backward(torch: Any, kind: str, tx: Any, tg: Any,
                            pool: int) -> Callable[[], Any]:
    """PyTorch's forward and backward kernels (ATen), in the layout of ``tx`` and ``tg``."""
    aten = torch.ops.aten
    k, s, p = [pool, pool], [pool, pool], [0, 0]
    if kind == "max":
        def step():
            y, indices = aten.max_pool2d_with_indices(tx, k, s, p, [1, 1], False)
            dx = aten.max_pool2d_with_indices_backward(tg, tx, k, s, p, [1, 1], False, indices)
            return _nhwc(y), _nhwc(dx)
    else:
        def step():
            y = aten.avg_pool2d(tx, k, s, p, False, False, None)
            dx = aten.avg_pool2d_backward(tg, tx, k, s, p, False, False, None)
            return _nhwc(y), _nhwc(dx)
    return step


def cases(shapes: Optional[Sequence[Shape]] = None) -> list[Case]:
    """Every pooling case, in report order, at the shapes the table gives ``{kind}_pool2d(2)``
    (or ``shapes``); ``--quick`` drops the largest shapes."""

    def quick(shape: Shape) -> bool:
        return int(np.prod(shape)) <= QUICK_MAX_ELEMENTS

    out = []
    for kind in ("max", "avg"):
        table = op_cases.case_named(f"{kind}_pool2d({POOL})").bench
        kind_shapes = [bench.shapes[0] for bench in table] if shapes is None else shapes
        out += [forward_case(kind, s, quick(s)) for s in kind_shapes]
        out += [forward_backward_case(kind, s, quick(s)) for s in kind_shapes]
    return out
