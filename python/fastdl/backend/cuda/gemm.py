"""Matrix products on the GPU (``fastdl._cuda``) with the signatures of
:mod:`fastdl.backend.cpu`'s: :func:`matmul`, and the dense layer's :func:`linear` and
:func:`linear_backward`.

A transposed view (``w.T``, or ``x.swapaxes(-1, -2)`` of a C-contiguous array) reaches the
kernels as the array it views, with a flag that has them read it transposed: nothing is copied.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from fastdl.backend.cuda import runtime
from fastdl.backend.cuda.activation import activation_backward
from fastdl.backend.geometry import (EPILOGUE_ACTIVATIONS, epilogue_activation, linear_sizes,
                                     matmul_batch, require_matmul_ranks)

__all__ = ["matmul", "linear", "linear_backward", "gemm_versions"]


def gemm_versions() -> dict:
    """The GEMM kernels ``matmul(..., version=)`` can run: ``{number: description}``, from the
    textbook shared-memory tiling (1) to the warptiling kernel (4) and TF32 tensor cores (5)."""
    return runtime.kernels().gemm_versions()


def _version(version: Optional[int]) -> int:
    if version is None:  # the TF32 tensor cores when fastdl.cuda.allow_tf32 is set
        from fastdl import cuda
        return runtime.kernels().gemm_default_version(bool(cuda.allow_tf32))
    return int(version)


def _transposed_storage(a):
    """The C-contiguous float32 array whose last two axes ``a`` swaps, or None."""
    cp = runtime.cupy()
    if (isinstance(a, cp.ndarray) and a.ndim >= 2 and a.dtype == np.float32
            and not a.flags.c_contiguous):
        t = a.swapaxes(-1, -2)
        if t.flags.c_contiguous:
            return t
    return None


def _stored(op: str, *arrays) -> tuple[list, list]:
    """The arrays as the kernels take them, and for each whether it is read transposed: a
    transposed view gives the array it views; anything else is made a C-contiguous float32
    CuPy array (:func:`runtime.float32_operands` says why it cannot be)."""
    views, transposed = [], []
    for a in arrays:
        t = _transposed_storage(a)
        views.append(a if t is None else t)
        transposed.append(t is not None)
    return runtime.float32_operands(op, *views), transposed


def _matrix_shape(stored, transposed: bool) -> tuple[int, int]:
    rows, cols = stored.shape[-2:]
    return (cols, rows) if transposed else (rows, cols)


def _product(op: str, a, trans_a: bool, b, trans_b: bool, out_shape: tuple, bias=None,
             activation: str = "none", version: Optional[int] = None):
    """A new array of ``out_shape`` holding ``activation(op(a) @ op(b) + bias)``."""
    out = runtime.empty(out_shape)
    runtime.kernels().gemm(a, b, out, bias, activation, 0.0, 1.0, False, trans_a, trans_b,
                           _version(version), runtime.stream(), op)
    return out


def _batch_operand(stored, batch: tuple):
    """An operand of a batched product, as the kernel takes it: one matrix (2-D) when it is the
    same for the whole batch (the kernel broadcasts it without a copy), else a 3-D stack of
    ``prod(batch)`` matrices, copied only when its batch dimensions need broadcasting."""
    own = stored.shape[:-2]
    if math.prod(own) == 1:
        return stored.reshape(stored.shape[-2:])
    if own != batch:
        cp = runtime.cupy()
        stored = cp.ascontiguousarray(cp.broadcast_to(stored, batch + stored.shape[-2:]))
    return stored.reshape((-1,) + stored.shape[-2:])


def matmul(a, b, version: Optional[int] = None):
    """Matrix product with NumPy's ``matmul`` semantics, as :func:`fastdl.backend.cpu.matmul`
    (float32 only). ``version`` picks the kernel (:func:`gemm_versions`); by default the
    warptiling kernel, or the TF32 one when :data:`fastdl.cuda.allow_tf32` is set."""
    (sa, sb), (ta, tb) = _stored("matmul", a, b)
    shape_a, shape_b = np.shape(a), np.shape(b)
    require_matmul_ranks(shape_a, shape_b)
    # A 1-D operand is a row on the left, a column on the right (and never a transposed view).
    if len(shape_a) == 1:
        sa = sa[np.newaxis, :]
    if len(shape_b) == 1:
        sb = sb[:, np.newaxis]
    (m, k), (k_b, n) = _matrix_shape(sa, ta), _matrix_shape(sb, tb)
    batch = matmul_batch(shape_a, shape_b, k, k_b, sa.shape[:-2], sb.shape[:-2])
    if not batch:
        out = _product("matmul", sa, ta, sb, tb, (m, n), version=version)
    elif sb.ndim == 2 and not ta:
        # One right operand for every row of every batch item: a single tall product.
        rows = sa.reshape(-1, k)
        out = _product("matmul", rows, False, sb, tb, (rows.shape[0], n), version=version)
    else:
        out = _product("matmul", _batch_operand(sa, batch), ta, _batch_operand(sb, batch), tb,
                       (math.prod(batch), m, n), version=version)
    out = out.reshape(batch + (m, n))
    if len(shape_a) == 1:
        out = out[..., 0, :]
    if len(shape_b) == 1:
        out = out[..., 0]
    return out


def linear(x, w, b=None, activation: Optional[str] = None):
    """``activation(x @ w + b)`` in one kernel (the bias and the activation applied as the
    product is stored), as :func:`fastdl.backend.cpu.linear`: ``x`` is ``(..., in)``, ``w``
    ``(in, out)``, ``b`` ``(out,)`` or None, ``activation`` None, 'relu', 'sigmoid' or 'tanh'."""
    act = epilogue_activation("linear", activation)
    stored, (tx, tw) = _stored("linear", x, w)
    sx, sw = stored
    bias = None if b is None else runtime.float32_operands("linear", b)[0]
    n_in, n_out = linear_sizes(np.shape(x), np.shape(w))
    if np.ndim(x) == 2:
        return _product("linear", sx, tx, sw, tw, (np.shape(x)[0], n_out), bias, act)
    if tx:  # a transposed stack of matrices does not flatten into rows without a copy
        sx = runtime.cupy().ascontiguousarray(x)
    rows = sx.reshape(-1, n_in)
    out = _product("linear", rows, False, sw, tw, (rows.shape[0], n_out), bias, act)
    return out.reshape(np.shape(x)[:-1] + (n_out,))


def linear_backward(grad, x, w, out, activation: str, need_x: bool, need_w: bool,
                    need_b: bool) -> tuple:
    """The gradients ``(dx, dw, db)`` of ``activation(x @ w + b)``, each None unless asked
    for, as :func:`fastdl.backend.cpu.linear_backward`: ``grad`` and ``out`` (the forward
    output, read when there is an activation) are ``(M, N)``, ``x`` ``(M, K)``, ``w``
    ``(K, N)``. With ``dy`` the gradient through the activation, ``dx = dy @ w.T`` and
    ``dw = x.T @ dy`` read their transposed operands in place, and ``db`` sums ``dy``'s
    columns."""
    op = "linear_backward"
    act = "none" if activation is None else activation
    if act not in EPILOGUE_ACTIVATIONS:
        raise ValueError(
            f"{op}: activation {act!r} does not differentiate from its output; expected none, "
            "relu, sigmoid or tanh"
        )
    (sx, sw), (tx, tw) = _stored(op, x, w)
    (dy,) = runtime.float32_operands(op, grad)
    if np.ndim(x) != 2 or np.ndim(w) != 2 or np.shape(x)[1] != np.shape(w)[0]:
        raise ValueError(
            f"{op}: x has shape {np.shape(x)} and w has shape {np.shape(w)}; expected (M, K) "
            "and (K, N)"
        )
    (m, k), n = np.shape(x), np.shape(w)[1]
    if dy.shape != (m, n):
        raise ValueError(f"{op}: grad has shape {dy.shape}; expected ({m}, {n})")
    if act != "none":
        if out is None:
            raise TypeError(f"{op}: out (the forward output) is required with activation {act!r}")
        dy = activation_backward(act, dy, out)
    gx = _product(op, dy, False, sw, not tw, (m, k)) if need_x else None
    gw = _product(op, sx, not tx, dy, False, (k, n)) if need_w else None
    gb = None
    if need_b:
        gb = runtime.empty((n,))
        runtime.kernels().column_sum(dy, gb, runtime.stream())
    return gx, gw, gb
