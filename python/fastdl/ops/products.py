"""Matrix products on fastdl's GEMM: matmul (NumPy's semantics) and linear (the dense layer,
``activation(x @ w + b)`` in one fused kernel)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl import _C
from fastdl.autograd import Function
from fastdl.backend import cpu, kernels_for
from fastdl.ops.common import READY_OPERANDS, operand, unbroadcast
from fastdl.tensor import Tensor


def _swap_last(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


class MatMul(Function):
    """NumPy matmul semantics (batch dimensions broadcast, 1-D operands), on fastdl's GEMM."""

    @staticmethod
    def forward(ctx, a, b):
        if ctx.requires_grad:
            ctx.a, ctx.b = a, b
        return kernels_for(a).matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.a, ctx.b
        # Work on >= 2-D operands; a 1-D operand contributed a dimension that the result lost.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:  # first: a 1-D @ 1-D product has a 0-d gradient
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        ga = gb = None
        if ctx.needs_grad(0):
            ga = unbroadcast(kernels_for(g).matmul(g, _swap_last(b2)), a2.shape).reshape(a.shape)
        if ctx.needs_grad(1):
            gb = unbroadcast(kernels_for(g).matmul(_swap_last(a2), g), b2.shape).reshape(b.shape)
        return ga, gb


class Linear(Function):
    """``activation(x @ w + b)`` in one fused kernel; x is (..., in), w (in, out), b (out,)."""

    @staticmethod
    def forward(ctx, x, w, b, activation):
        out = kernels_for(x).linear(x, w, b, activation)  # validates shapes, dtypes, activation
        if ctx.requires_grad:
            ctx.x, ctx.w, ctx.out, ctx.activation = x, w, out, activation
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, activation = ctx.x, ctx.w, ctx.activation or "none"
        flat = x.ndim != 2
        x2 = x.reshape(-1, x.shape[-1]) if flat else x
        g2 = grad.reshape(-1, grad.shape[-1]) if flat else grad
        need = (ctx.needs_grad(0), ctx.needs_grad(1), ctx.needs_grad(2))
        kernels = kernels_for(g2)
        if x.dtype == w.dtype == grad.dtype:
            # One kernel call: activation derivative, dw, db and dx (relu, sigmoid and tanh
            # differentiate from the output, which is what was kept).
            out = None if activation == "none" else ctx.out.reshape(g2.shape) if flat else ctx.out
            gx, gw, gb = kernels.linear_backward(g2, x2, w, out, activation, *need)
        else:  # mixed precision: matmul promotes
            if activation != "none":
                g2 = kernels.activation_backward(activation, g2, ctx.out.reshape(g2.shape))
            gx = kernels.matmul(g2, w.T) if need[0] else None
            gw = kernels.matmul(x2.T, g2) if need[1] else None
            gb = kernels.sum_leading_axes(g2, 1) if need[2] else None
        if gx is not None and flat:
            gx = gx.reshape(x.shape)
        return gx, gw, gb, None


def matmul(x1: Any, x2: Any) -> Tensor:
    """Matrix product with NumPy's ``matmul`` semantics (batch dimensions broadcast, 1-D
    operands promoted and squeezed), computed by fastdl's GEMM; ``a @ b`` on Tensors.

    >>> import numpy as np, fastdl
    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> fastdl.matmul(a, np.ones((3, 2), np.float32))
    tensor([[ 3.,  3.],
            [12., 12.]])
    """
    if type(x1) is np.ndarray and type(x2) is np.ndarray:
        # Arrays carry no gradient: nothing to record, the product goes straight to the kernel,
        # in one native call for two 2-D arrays of one floating dtype.
        product = _C.matmul_2d(x1, x2)
        return _C.tensor_of(cpu.matmul(x1, x2)) if product is None else product
    if type(x1) in READY_OPERANDS and type(x2) in READY_OPERANDS:  # skips operand() calls
        return MatMul.apply(x1, x2)
    return MatMul.apply(operand(x1), operand(x2))


def linear(x: Any, w: Any, b: Any = None, activation: Optional[str] = None) -> Tensor:
    """Dense layer forward in one fused kernel: ``activation(x @ w + b)``.

    ``x`` has shape ``(..., in)``, ``w`` is ``(in, out)`` (Keras layout), ``b`` is ``(out,)`` or
    None; ``activation`` is None, ``'relu'``, ``'sigmoid'`` or ``'tanh'``. The bias and the
    activation are applied as each tile of the product leaves the registers, and the backward
    pass computes the activation's derivative and every gradient in one kernel call.

    >>> import numpy as np, fastdl
    >>> x = np.array([[1.0, -2.0]], np.float32)
    >>> fastdl.linear(x, np.eye(2, dtype=np.float32), np.zeros(2, np.float32), "relu")
    tensor([[1., 0.]])
    """
    return Linear.apply(operand(x), operand(w), None if b is None else operand(b), activation)
