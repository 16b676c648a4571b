"""Independent float64 NumPy references for the transformer's building blocks: layer and RMS
normalization over any axes (with their gradients) and scaled dot-product attention in Keras's
layout (with its gradients), each with the whole of its arrays held, written for clarity rather
than speed. :mod:`fastdl.testing.reference` offers them beside the others.

>>> import numpy as np
>>> from fastdl.testing import reference_transformer as ref
>>> ref.layer_normalization(np.array([[1.0, 3.0]]), None, None, (1,), 0.0)
array([[-1.,  1.]])
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

Array = np.ndarray


def _f64(x: Any) -> Array:
    return np.asarray(x, dtype=np.float64)


def _normalized_moments(x: Array, axes: tuple, epsilon: float, kind: str):
    """(xn, r, centered) of :func:`layer_normalization`: the rows before gamma and beta, 1 /
    sqrt(statistic + epsilon) and x minus its mean (kept dims)."""
    centered = x - x.mean(axis=axes, keepdims=True)
    if kind == "rms":
        r = 1.0 / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + epsilon)
        return x * r, r, centered
    r = 1.0 / np.sqrt(np.mean(centered * centered, axis=axes, keepdims=True) + epsilon)
    return (centered if kind == "layer" else x) * r, r, centered


def _on_axes(p: Any, x: Array, axes: tuple) -> Array:
    """A per-element parameter (gamma, beta) shaped to broadcast against x over ``axes``."""
    shape = [x.shape[d] if d in axes else 1 for d in range(x.ndim)]
    return _f64(p).reshape(shape)


def layer_normalization(x: Any, gamma: Any, beta: Any, axes: tuple, epsilon: float,
                        kind: str = "layer") -> Array:
    """x normalized over ``axes`` by its own statistics: kind 'layer' ((x - mean) / sqrt(var +
    epsilon)), 'rms' (x / sqrt(mean(x^2) + epsilon)) or 'variance_scaling' (x / sqrt(var +
    epsilon)); times gamma and plus beta (None: none), given in the axes' shape."""
    x = _f64(x)
    xn, _, _ = _normalized_moments(x, axes, epsilon, kind)
    y = xn if gamma is None else xn * _on_axes(gamma, x, axes)
    return y if beta is None else y + _on_axes(beta, x, axes)


def layer_normalization_grad(grad: Any, x: Any, gamma: Any, beta: Any, axes: tuple,
                             epsilon: float, kind: str = "layer") -> tuple:
    """(dx, dgamma, dbeta) of :func:`layer_normalization`; None for an absent parameter. With
    u = grad * gamma, n the elements per row and r the row's 1 / sqrt(...): the row's
    statistic moves with x, which gives the terms after u."""
    grad, x = _f64(grad), _f64(x)
    xn, r, centered = _normalized_moments(x, axes, epsilon, kind)
    u = grad if gamma is None else grad * _on_axes(gamma, x, axes)
    mean = lambda a: a.mean(axis=axes, keepdims=True)  # noqa: E731
    if kind == "layer":
        dx = r * (u - mean(u) - xn * mean(u * xn))
    elif kind == "rms":
        dx = r * (u - xn * mean(u * xn))
    else:
        dx = r * (u - centered * r * mean(u * xn))
    others = tuple(d for d in range(x.ndim) if d not in axes)
    dgamma = None if gamma is None else (grad * xn).sum(axis=others).reshape(np.shape(gamma))
    dbeta = None if beta is None else grad.sum(axis=others).reshape(np.shape(beta))
    return dx, dgamma, dbeta


def _attention_probabilities(q: Array, k: Array, bias: Any, mask: Any, scale: float,
                             causal: bool) -> Array:
    """(B, N, T, S) softmax probabilities of attention; rows with no key allowed are zeros."""
    heads, kv_heads = q.shape[2], k.shape[2]
    k = np.repeat(k, heads // kv_heads, axis=2)
    scores = np.einsum("btnd,bsnd->bnts", q, k) * scale
    if bias is not None:
        scores = scores + _f64(bias)
    allowed = np.ones(scores.shape, bool)
    if mask is not None:
        allowed &= np.asarray(mask, bool)
    if causal:
        allowed &= np.tril(np.ones(scores.shape[2:], bool))
    scores = np.where(allowed, scores, -np.inf)
    top = scores.max(axis=-1, keepdims=True)
    e = np.where(allowed, np.exp(scores - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def dot_product_attention(q: Any, k: Any, v: Any, bias: Any = None, mask: Any = None,
                          scale: Optional[float] = None, causal: bool = False) -> Array:
    """Attention in Keras's layout, q (B, T, N, D), k (B, S, K, D), v (B, S, K, Dv), with the
    whole matrix of scores; a query row that may attend to nothing gives zeros."""
    q, k, v = _f64(q), _f64(k), _f64(v)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    p = _attention_probabilities(q, k, bias, mask, scale, causal)
    v = np.repeat(v, q.shape[2] // v.shape[2], axis=2)
    return np.einsum("bnts,bsnd->btnd", p, v)


def dot_product_attention_grad(grad: Any, q: Any, k: Any, v: Any, bias: Any = None,
                               mask: Any = None, scale: Optional[float] = None,
                               causal: bool = False) -> tuple:
    """(dq, dk, dv, dbias) of :func:`dot_product_attention`, dbias summed to bias's shape
    (None without a bias)."""
    grad, q, k, v = _f64(grad), _f64(q), _f64(k), _f64(v)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    group = q.shape[2] // k.shape[2]
    p = _attention_probabilities(q, k, bias, mask, scale, causal)
    kk, vv = np.repeat(k, group, axis=2), np.repeat(v, group, axis=2)
    dp = np.einsum("btnd,bsnd->bnts", grad, vv)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    dq = np.einsum("bnts,bsnd->btnd", ds, kk) * scale
    dk = np.einsum("bnts,btnd->bsnd", ds, q) * scale
    dv = np.einsum("bnts,btnd->bsnd", p, grad)
    b, s_len = k.shape[0], k.shape[1]
    dk = dk.reshape(b, s_len, k.shape[2], group, -1).sum(axis=3)
    dv = dv.reshape(b, s_len, v.shape[2], group, -1).sum(axis=3)
    dbias = None
    if bias is not None:
        shape = np.shape(bias)
        lead = ds.ndim - len(shape)
        dbias = ds.sum(axis=tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)
    return dq, dk, dv, dbias
