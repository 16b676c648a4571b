"""Matrix products on the CPU (``fastdl._C``'s GEMM): :func:`matmul` with NumPy's semantics, and
the dense layer's :func:`linear` and :func:`linear_backward`."""
from __future__ import annotations

from typing import Optional

import numpy as np

from fastdl import _C
from fastdl.backend.cpu.glue import as_float_arrays
from fastdl.backend.geometry import (EPILOGUE_ACTIVATIONS, epilogue_activation, linear_sizes,
                                     matmul_batch, require_matmul_ranks)

__all__ = ["matmul", "linear", "linear_backward"]


def matmul(a, b) -> np.ndarray:
    """Matrix product with NumPy's ``matmul`` semantics (batch dimensions broadcast, 1-D
    operands promoted and squeezed), computed by fastdl's GEMM.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> cpu.matmul(a, np.ones((3, 2), np.float32))
    array([[ 3.,  3.],
           [12., 12.]], dtype=float32)
    """
    if (type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2
            and a.dtype == b.dtype):
        # The common case goes straight to the kernel, which checks the dtype itself.
        return _C.gemm(a, b, None, "none", 1.0, 0.0, "matmul")
    a, b = as_float_arrays("matmul", a, b)
    if a.ndim == 2 and b.ndim == 2:
        return _C.gemm(a, b, None, "none", 1.0, 0.0, "matmul")
    require_matmul_ranks(a.shape, b.shape)
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    batch = matmul_batch(a.shape, b.shape, a2.shape[-1], b2.shape[-2], a2.shape[:-2],
                         b2.shape[:-2])
    m, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    if b2.ndim == 2:
        # One weight matrix for every row of every batch item: a single tall GEMM.
        out = _C.gemm(a2.reshape(-1, k), b2, None, "none", 1.0, 0.0, "matmul")
    else:
        a3 = np.broadcast_to(a2, batch + (m, k)).reshape(-1, m, k)
        b3 = np.broadcast_to(b2, batch + (k, n)).reshape(-1, k, n)
        out = _C.gemm(a3, b3, None, "none", 1.0, 0.0, "matmul")
    out = out.reshape(batch + (m, n))
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


def linear(x, w, b=None, activation: Optional[str] = None) -> np.ndarray:
    """Dense layer forward in one fused kernel: ``activation(x @ w + b)``.

    ``x`` has shape ``(..., in)``, ``w`` is ``(in, out)`` (Keras layout), ``b`` is ``(out,)`` or
    None; ``activation`` is None, ``'relu'``, ``'sigmoid'`` or ``'tanh'``. The bias and the
    activation are applied as each tile of the product leaves the registers.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> x = np.array([[1.0, -2.0]], np.float32)
    >>> cpu.linear(x, np.eye(2, dtype=np.float32), np.zeros(2, np.float32), "relu")
    array([[1., 0.]], dtype=float32)
    """
    act = "none" if activation is None else activation
    if (type(x) is np.ndarray and type(w) is np.ndarray and x.ndim == 2 and w.ndim == 2
            and x.shape[1] == w.shape[0] and x.dtype == w.dtype
            and (b is None or (type(b) is np.ndarray and b.dtype == x.dtype))
            and act in EPILOGUE_ACTIVATIONS):
        # The common case goes straight to the kernel, which validates dtypes and shapes.
        return _C.gemm(x, w, b, act, 1.0, 0.0, "linear")
    act = epilogue_activation("linear", activation)
    arrays = as_float_arrays("linear", x, w) if b is None else as_float_arrays("linear", x, w, b)
    x, w = arrays[0], arrays[1]
    b = arrays[2] if b is not None else None
    n_in, n_out = linear_sizes(x.shape, w.shape)
    if x.ndim == 2:
        return _C.gemm(x, w, b, act, 1.0, 0.0, "linear")
    out = _C.gemm(x.reshape(-1, n_in), w, b, act, 1.0, 0.0, "linear")
    return out.reshape(x.shape[:-1] + (n_out,))


def linear_backward(grad, x, w, out, activation: str, need_x: bool, need_w: bool,
                    need_b: bool) -> tuple:
    """The gradients ``(dx, dw, db)`` of ``activation(x @ w + b)`` for 2-D ``grad`` and ``x``
    of one dtype, each None unless asked for, in one kernel call. ``out`` is the forward
    output, read when there is an activation (relu, sigmoid and tanh differentiate from it)."""
    return _C.linear_backward(grad, x, w, out, activation, need_x, need_w, need_b)
