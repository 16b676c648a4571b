"""Scaled dot-product attention (Keras's ``ops.dot_product_attention``) on a fused kernel: tiles
of queries against tiles of keys with an online softmax, never the whole matrix of scores, in
the forward pass and in the backward pass, which recomputes the probabilities tile by tile; and
the same with dropout on the probabilities (``dropout_attention``, MultiHeadAttention's), whose
mask the backward pass draws again rather than keeps."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from fastdl import random as _random
from fastdl.autograd import Function
from fastdl.backend import array_module, device_of, kernels_for, to_device
from fastdl.ops.common import operand, unbroadcast
from fastdl.ops.conversion import cast
from fastdl.tensor import Tensor


class DotProductAttention(Function):
    """``softmax(scale * q k^T + bias, where mask and causal allow) @ v`` per head, in Keras's
    layout: query (B, T, N, D), key (B, S, K, D), value (B, S, K, Dv), N a multiple of K; bias
    and mask broadcastable to (B, N, T, S). Only the output and a log-sum-exp per query row are
    kept for the backward pass. The bias's gradient, when it wants one, is the scores' gradient
    (B, N, T, S) summed over the bias's broadcast axes: the only case that holds it whole. With
    ``dropout`` > 0, the probabilities are dropped out with a mask keyed by ``seed``."""

    @staticmethod
    def forward(ctx, q, k, v, bias, mask, scale, causal, dropout, seed):
        shape = (q.shape[0], q.shape[2], q.shape[1], k.shape[1])
        xp = array_module(q)
        full_bias = None if bias is None else xp.broadcast_to(bias, shape)
        full_mask = None if mask is None else xp.broadcast_to(mask, shape)
        kernels = kernels_for(q)
        out, lse = kernels.attention_forward(q, k, v, full_bias, full_mask, scale, causal,
                                             dropout, seed)
        if ctx.requires_grad:
            ctx.saved = (q, k, v, full_bias, full_mask, scale, causal, out, lse)
            ctx.dropout = (dropout, seed)
            ctx.bias_shape = None if bias is None else bias.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, bias, mask, scale, causal, out, lse = ctx.saved
        need_bias = bias is not None and ctx.needs_grad(3)
        dq, dk, dv, dscores = kernels_for(grad).attention_backward(
            q, k, v, bias, mask, scale, causal, out, lse, grad, need_bias, *ctx.dropout)
        dbias = unbroadcast(dscores, ctx.bias_shape) if need_bias else None
        return dq, dk, dv, dbias, None, None, None, None, None


def _rank4(name: str, x: Any) -> None:
    if len(x.shape) != 4:
        raise ValueError(f"dot_product_attention: {name} has shape {tuple(x.shape)}; expected 4 "
                         f"dimensions (batch, length, heads, head dim)")


def _broadcastable(name: str, a: Any, shape: tuple) -> None:
    """ValueError unless ``a`` broadcasts to the scores' ``shape`` (and not beyond it)."""
    try:
        fits = len(a.shape) <= 4 and np.broadcast_shapes(tuple(a.shape), shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"dot_product_attention: {name} of shape {tuple(a.shape)} does not "
                         f"broadcast to the scores' shape {shape} (batch, heads, query length, "
                         f"key length)")


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          scale: Optional[float] = None, is_causal: bool = False,
                          flash_attention: Optional[bool] = None,
                          attn_logits_soft_cap: Optional[float] = None) -> Tensor:
    """Scaled dot-product attention, Keras's ``ops.dot_product_attention``:
    ``softmax(query @ key^T * scale + bias) @ value`` per head, where ``query`` is (B, T, N, D),
    ``key`` (B, S, K, D) and ``value`` (B, S, K, Dv); K may divide N (grouped-query attention:
    each key/value head serves N / K query heads). ``scale`` defaults to 1 / sqrt(D). ``bias``
    (added to the scores) and ``mask`` (boolean, True where a query may attend to a key) broadcast
    to (B, N, T, S); ``is_causal`` lets query i attend to keys j <= i only. Returns (B, T, N, Dv).

    On the CPU it runs on a fused kernel that never holds the T x S scores: its memory grows
    with the lengths, not with their product. A query row that may attend to no key (every key
    masked) gives zeros, and its gradients are zeros too (Keras would attend to every key
    equally). ``flash_attention`` is accepted for Keras's sake (the kernel always works by
    tiles); ``attn_logits_soft_cap`` is JAX-on-TPU only in Keras, and an error here.

    >>> import fastdl
    >>> q = fastdl.randn(2, 4, 8, 16); k = fastdl.randn(2, 6, 8, 16); v = fastdl.randn(2, 6, 8, 16)
    >>> fastdl.ops.dot_product_attention(q, k, v).shape
    (2, 4, 8, 16)
    >>> causal = fastdl.ops.dot_product_attention(q, q, q, is_causal=True)
    >>> bool(abs(causal[:, 0] - q[:, 0]).numpy().max() < 1e-6)     # the first query sees itself
    True
    """
    if attn_logits_soft_cap is not None:
        raise ValueError("dot_product_attention: attn_logits_soft_cap is only supported by Keras "
                         "for JAX on TPU; leave it None")
    return _attention(query, key, value, bias, mask, scale, is_causal, 0.0, 0)


def dropout_attention(query: Any, key: Any, value: Any, rate: float, mask: Any = None,
                      scale: Optional[float] = None, is_causal: bool = False,
                      generator: Optional[np.random.Generator] = None) -> Tensor:
    """:func:`dot_product_attention` with inverted dropout at ``rate`` on the probabilities
    before they weight the values, as a dropout layer between the softmax and the product with
    the values would (what MultiHeadAttention's ``dropout`` does while training), on the same
    fused kernel: the mask is drawn from a counter-based stream keyed by one number from
    ``generator`` (fastdl's by default, see :func:`fastdl.manual_seed`), tile by tile, and drawn
    again by the backward pass, so the (B, N, T, S) probabilities are never held. On the CPU the
    mask is the one ``fastdl.dropout`` would draw for a (B, N, T, S) array with the same key.

    >>> import fastdl
    >>> q = fastdl.randn(2, 4, 8, 16); k = fastdl.randn(2, 6, 8, 16); v = fastdl.randn(2, 6, 8, 16)
    >>> fastdl.ops.attention.dropout_attention(q, k, v, 0.1).shape
    (2, 4, 8, 16)
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout_attention: rate must be in [0, 1); received {rate}")
    seed = (generator or _random.generator()).bit_generator.random_raw() if rate > 0 else 0
    return _attention(query, key, value, None, mask, scale, is_causal, float(rate), int(seed))


def _attention(query: Any, key: Any, value: Any, bias: Any, mask: Any, scale: Optional[float],
               is_causal: bool, dropout: float, seed: int) -> Tensor:
    q, k, v = operand(query), operand(key), operand(value)
    for name, x in (("query", q), ("key", k), ("value", v)):
        _rank4(name, x)
    dtype = q.dtype if q.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    q, k, v = (x if x.dtype == dtype else cast(x, dtype) for x in (q, k, v))
    scores = (q.shape[0], q.shape[2], q.shape[1], k.shape[1])
    if bias is not None:
        bias = operand(bias)
        _broadcastable("bias", bias, scores)
        if bias.dtype != dtype:
            bias = cast(bias, dtype)
    if mask is not None:
        mask = operand(mask)
        _broadcastable("mask", mask, scores)
        data = mask.data if isinstance(mask, Tensor) else mask
        data = data if data.dtype == np.bool_ else data != 0
        mask = to_device(data, device_of(q.data if isinstance(q, Tensor) else q))
    d = q.shape[-1]
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    return DotProductAttention.apply(q, k, v, bias, mask, scale, bool(is_causal), dropout, seed)
