"""Scaled dot-product attention (``fastdl.ops.dot_product_attention``) on its fused kernel:
query, key and value of Keras's layout (B, T, N, D); query and key lengths that differ either
way, head dims off the vector width, a value dim other than the key's, one query and one key,
grouped-query heads, causal, an additive bias (broadcast, with its gradient) and boolean masks
(broadcast, with a query row that may attend to nothing).

>>> [case.name for case in CASES][:2]
['dot_product_attention', 'dot_product_attention(is_causal=True)']
>>> mask = padding_mask((2, 5, 3, 4), (2, 7, 3, 4))
>>> mask[1, 0, 0].tolist(), mask[0, 0, 0].any()                # batch 1 keeps 7 - 3 keys
([True, True, True, True, False, False, False], np.False_)
"""
import numpy as np

import fastdl
from fastdl.backend import to_device
from fastdl.testing import reference
from fastdl.testing.op_cases.case import FLOAT32, FLOAT64, BenchShape, OpCase, Tolerance, normal

TOLERANCE = {FLOAT32: Tolerance(2e-5, 2e-5), FLOAT64: Tolerance(1e-11, 1e-12)}
VALUES = normal(1.0)


def padding_mask(q_shape: tuple, k_shape: tuple) -> np.ndarray:
    """A (B, 1, 1, S) mask of the keys each batch row keeps (as a padding mask would: batch b
    drops its last b + 2 keys), and a (B, 1, T, S) one where, in batch 0, query 0 may attend to
    nothing."""
    batch, keys = q_shape[0], k_shape[1]
    kept = np.arange(keys)[None, :] < (keys - 2 - np.arange(batch))[:, None]
    mask = np.broadcast_to(kept[:, None, None, :], (batch, 1, q_shape[1], keys)).copy()
    mask[0, 0, 0, :] = False
    return mask


def attention_case(label: str, shapes: list, causal: bool = False, with_bias: bool = False,
                   masked: bool = False, **fields) -> OpCase:
    """``dot_product_attention(q, k, v[, bias], is_causal=causal)``; with ``masked``, the mask
    of :func:`padding_mask` (the key length must exceed the batch + 1)."""

    def mask_of(q, k):
        if not masked:
            return None
        mask = padding_mask(tuple(q.shape), tuple(k.shape))
        return to_device(mask, q.device) if isinstance(q, fastdl.Tensor) else mask

    def fn(q, k, v, *bias):
        return fastdl.ops.dot_product_attention(q, k, v, bias[0] if bias else None,
                                                mask_of(q, k), is_causal=causal)

    def ref(q, k, v, *bias):
        return reference.dot_product_attention(q, k, v, bias[0] if bias else None,
                                               mask_of(q, k), causal=causal)

    def vjp(grad, q, k, v, *bias):
        grads = reference.dot_product_attention_grad(grad, q, k, v, bias[0] if bias else None,
                                                     mask_of(q, k), causal=causal)
        return grads if with_bias else grads[:3]

    return OpCase(label, fn, ref, vjp=vjp, shapes=shapes, values=VALUES, tolerance=TOLERANCE,
                  kernel=True, **fields)


def _qkv(batch: int, q_len: int, kv_len: int, heads: int, dim: int, kv_heads: int = 0,
         value_dim: int = 0) -> list:
    kv_heads, value_dim = kv_heads or heads, value_dim or dim
    return [(batch, q_len, heads, dim), (batch, kv_len, kv_heads, dim),
            (batch, kv_len, kv_heads, value_dim)]


SHAPES = [_qkv(2, 5, 7, 3, 8), _qkv(1, 1, 1, 1, 4), _qkv(1, 9, 11, 2, 20, value_dim=12),
          _qkv(1, 70, 130, 2, 16), _qkv(1, 130, 70, 1, 17), _qkv(2, 6, 9, 4, 8, kv_heads=2)]
# Keras's benchmark shapes: B8 H8 T512 D64, B1 H8 T2048 D64 and B4 H4 T64 D32.
BENCH = [BenchShape(tuple(_qkv(8, 512, 512, 8, 64))), BenchShape(tuple(_qkv(4, 64, 64, 4, 32)))]
CAUSAL_BENCH = [BenchShape(tuple(_qkv(8, 512, 512, 8, 64))),
                BenchShape(tuple(_qkv(1, 2048, 2048, 8, 64))),
                BenchShape(tuple(_qkv(4, 64, 64, 4, 32)))]
GRADCHECK = [_qkv(1, 3, 4, 2, 3), _qkv(1, 4, 3, 2, 2, kv_heads=1)]

CASES = [
    attention_case("dot_product_attention", SHAPES, gradcheck_shapes=GRADCHECK, threads=(1, 2),
                   gpu_shapes=[_qkv(2, 64, 64, 4, 32)], bench=BENCH),
    attention_case("dot_product_attention(is_causal=True)", SHAPES, causal=True,
                   gradcheck_shapes=GRADCHECK, threads=(1, 2),
                   gpu_shapes=[_qkv(2, 64, 64, 4, 32)], bench=CAUSAL_BENCH),
    attention_case("dot_product_attention(bias)",
                   [s + [(1, s[0][2], s[0][1], s[1][1])] for s in SHAPES[:4]], with_bias=True,
                   gradcheck_shapes=[GRADCHECK[0] + [(1, 2, 3, 4)]]),
    attention_case("dot_product_attention(bias (T, S), is_causal=True)",
                   [_qkv(2, 5, 7, 3, 8) + [(5, 7)], _qkv(1, 70, 130, 2, 16) + [(70, 130)]],
                   causal=True, with_bias=True, gradcheck_shapes=[GRADCHECK[0] + [(3, 4)]]),
    attention_case("dot_product_attention(mask)",
                   [_qkv(2, 5, 7, 3, 8), _qkv(3, 68, 70, 2, 16), _qkv(2, 6, 8, 4, 8, kv_heads=2)],
                   masked=True, gradcheck_shapes=[_qkv(2, 3, 5, 2, 3)], threads=(1, 2)),
]
