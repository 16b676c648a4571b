"""Scaled dot-product attention on the GPU, the signatures of
:mod:`fastdl.backend.cpu.attention`'s: CuPy's GEMM and array expressions over the whole matrix
of scores (``fastdl.backend.dense_attention``, the arithmetic the CPU's tiled kernels are
tested against), in float32. Dropout's mask is the GPU dropout kernel's for the (B, N, T, S)
scores and the seed, drawn again for the backward pass."""
from __future__ import annotations

from fastdl.backend import dense_attention
from fastdl.backend.cuda import runtime
from fastdl.backend.cuda.dropout import dropout_forward

__all__ = ["attention_forward", "attention_backward"]


def _dropout_factors(cp, q, k, dropout: float, seed: int):
    """0 or 1 / (1 - dropout) per score (B, N, T, S); None without dropout."""
    if dropout == 0:
        return None
    scores = (q.shape[0], q.shape[2], q.shape[1], k.shape[1])
    return dropout_forward(cp.ones(scores, dtype=cp.float32), dropout, seed)[0]


def attention_forward(q, k, v, bias, mask, scale: float, causal: bool, dropout: float = 0.0,
                      seed: int = 0):
    """``(out, lse)``; see ``fastdl.backend.cpu.attention_forward``."""
    cp = runtime.cupy()
    q, k, v = runtime.float32_operands("dot_product_attention", q, k, v)
    bias = None if bias is None else runtime.float32_operands("dot_product_attention", bias)[0]
    mask = None if mask is None else cp.asarray(mask, dtype=bool)
    return dense_attention.attention_forward(cp, q, k, v, bias, mask, float(scale), causal,
                                             _dropout_factors(cp, q, k, dropout, seed))


def attention_backward(q, k, v, bias, mask, scale: float, causal: bool, out, lse, grad,
                       need_dscores: bool, dropout: float = 0.0, seed: int = 0):
    """``(dq, dk, dv, dscores)``; see ``fastdl.backend.cpu.attention_backward``."""
    cp = runtime.cupy()
    op = "dot_product_attention_backward"
    q, k, v, out, lse, grad = runtime.float32_operands(op, q, k, v, out, lse, grad)
    bias = None if bias is None else runtime.float32_operands(op, bias)[0]
    mask = None if mask is None else cp.asarray(mask, dtype=bool)
    return dense_attention.attention_backward(cp, q, k, v, bias, mask, float(scale), causal, out,
                                              lse, grad, need_dscores,
                                              _dropout_factors(cp, q, k, dropout, seed))
