"""Scaled dot-product attention with the whole matrix of scores held, written once over an
array module: what the GPU backend runs (CuPy: its GEMM and array expressions) and what tests
hold the CPU's tiled kernels to (NumPy). The arguments, results and conventions are those of
``fastdl.backend.cpu.attention_forward`` / ``attention_backward`` (see
``csrc/include/fastdl/attention.h``): query (B, T, N, D), key (B, S, K, D), value (B, S, K, Dv);
bias and mask None or (B, N, T, S); a query row with nothing to attend to gives zeros, a
log-sum-exp of +inf and zero gradients. Dropout comes as ``dropout_factors`` (B, N, T, S): 0
where a probability is dropped, 1 / (1 - rate) where it is kept (what a dropout kernel returns
for an array of ones), the same array for the forward and the backward pass.

>>> import numpy as np
>>> from fastdl.backend import dense_attention
>>> q = k = np.zeros((1, 1, 1, 2)); v = np.array([[[[1.0]]], [[[3.0]]]]).reshape(1, 2, 1, 1)
>>> out, lse = dense_attention.attention_forward(np, q, np.zeros((1, 2, 1, 2)), v, None, None,
...                                              1.0, False)
>>> out.ravel(), lse.ravel().round(4)             # equal scores: the mean of the values
(array([2.]), array([0.6931]))
"""
from __future__ import annotations

import math
from typing import Any


def _per_query_head(xp: Any, a, heads: int):
    """A key or value array (B, S, K, D) as (B, N, S, D), each key/value head repeated for the
    query heads that read it."""
    return xp.repeat(a.transpose(0, 2, 1, 3), heads // a.shape[2], axis=1)


def _scores(xp: Any, q, k, bias, mask, scale: float, causal: bool):
    """(scores, allowed): (B, N, T, S) scores with the bias, and where they may be attended."""
    keys = _per_query_head(xp, k, q.shape[2]).transpose(0, 1, 3, 2)
    s = xp.matmul(q.transpose(0, 2, 1, 3), keys) * scale
    if bias is not None:
        s = s + bias
    allowed = xp.ones(s.shape, dtype=bool)
    if mask is not None:
        allowed = allowed & mask
    if causal:
        allowed = allowed & xp.tril(xp.ones(s.shape[2:], dtype=bool))
    return s, allowed


def attention_forward(xp: Any, q, k, v, bias, mask, scale: float, causal: bool,
                      dropout_factors=None):
    """``(out, lse)``: out (B, T, N, Dv), lse (B, N, T)."""
    s, allowed = _scores(xp, q, k, bias, mask, scale, causal)
    s = xp.where(allowed, s, -math.inf)
    m = s.max(axis=-1, keepdims=True)
    attends = xp.isfinite(m)
    e = xp.where(allowed, xp.exp(s - xp.where(attends, m, 0)), 0)
    total = e.sum(axis=-1, keepdims=True)
    p = e / xp.where(attends, total, 1)
    if dropout_factors is not None:
        p = p * dropout_factors
    out = xp.matmul(p, _per_query_head(xp, v, q.shape[2])).transpose(0, 2, 1, 3)
    lse = xp.where(attends, m + xp.log(xp.where(attends, total, 1)), math.inf)[..., 0]
    return xp.ascontiguousarray(out).astype(q.dtype, copy=False), lse.astype(q.dtype, copy=False)


def attention_backward(xp: Any, q, k, v, bias, mask, scale: float, causal: bool, out, lse, grad,
                       need_dscores: bool, dropout_factors=None):
    """``(dq, dk, dv, dscores)``; dscores (B, N, T, S) only with ``need_dscores``."""
    heads, kv_heads = q.shape[2], k.shape[2]
    s, allowed = _scores(xp, q, k, bias, mask, scale, causal)
    finite = xp.isfinite(lse)[..., None]
    p = xp.where(allowed & finite, xp.exp(s - xp.where(finite, lse[..., None], 0)), 0)
    g = grad.transpose(0, 2, 1, 3)                                  # (B, N, T, Dv)
    v_heads = _per_query_head(xp, v, heads)
    dp = xp.matmul(g, v_heads.transpose(0, 1, 3, 2))
    weights = p  # the probabilities that weighted the values
    if dropout_factors is not None:
        dp, weights = dp * dropout_factors, p * dropout_factors
    # rowsum(p * dp), which out = weights @ v turns into rowsum(g * out)
    delta = (g * out.transpose(0, 2, 1, 3)).sum(axis=-1, keepdims=True)
    ds = p * (dp - delta)
    dq = xp.matmul(ds, _per_query_head(xp, k, heads)).transpose(0, 2, 1, 3) * scale
    dk_heads = xp.matmul(ds.transpose(0, 1, 3, 2), q.transpose(0, 2, 1, 3)) * scale
    dv_heads = xp.matmul(weights.transpose(0, 1, 3, 2), g)

    def per_kv_head(a):  # (B, N, S, D) summed over each key/value head's query heads
        b, _, length, d = a.shape
        summed = a.reshape(b, kv_heads, heads // kv_heads, length, d).sum(axis=2)
        return summed.transpose(0, 2, 1, 3)

    return (xp.ascontiguousarray(dq).astype(q.dtype, copy=False),
            xp.ascontiguousarray(per_kv_head(dk_heads)).astype(q.dtype, copy=False),
            xp.ascontiguousarray(per_kv_head(dv_heads)).astype(q.dtype, copy=False),
            ds.astype(q.dtype, copy=False) if need_dscores else None)
