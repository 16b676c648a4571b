"""Scaled dot-product attention on the GPU, the signatures of
:mod:`fastdl.backend.cpu.attention`'s: CuPy's GEMM and array expressions over the whole matrix
of scores (``fastdl.backend.dense_attention``, the arithmetic the CPU's tiled kernels are
tested against), in float32."""
from __future__ import annotations

from fastdl.backend import dense_attention
from fastdl.backend.cuda import runtime

__all__ = ["attention_forward", "attention_backward"]


def attention_forward(q, k, v, bias, mask, scale: float, causal: bool):
    """``(out, lse)``; see ``fastdl.backend.cpu.attention_forward``."""
    cp = runtime.cupy()
    q, k, v = runtime.float32_operands("dot_product_attention", q, k, v)
    bias = None if bias is None else runtime.float32_operands("dot_product_attention", bias)[0]
    mask = None if mask is None else cp.asarray(mask, dtype=bool)
    return dense_attention.attention_forward(cp, q, k, v, bias, mask, float(scale), causal)


def attention_backward(q, k, v, bias, mask, scale: float, causal: bool, out, lse, grad,
                       need_dscores: bool):
    """``(dq, dk, dv, dscores)``; see ``fastdl.backend.cpu.attention_backward``."""
    cp = runtime.cupy()
    op = "dot_product_attention_backward"
    q, k, v, out, lse, grad = runtime.float32_operands(op, q, k, v, out, lse, grad)
    bias = None if bias is None else runtime.float32_operands(op, bias)[0]
    mask = None if mask is None else cp.asarray(mask, dtype=bool)
    return dense_attention.attention_backward(cp, q, k, v, bias, mask, float(scale), causal, out,
                                              lse, grad, need_dscores)
