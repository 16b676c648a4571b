"""Scaled dot-product attention on the CPU (``fastdl._C``): tiles of queries against tiles of
keys with an online softmax, the matrix of scores never held whole (see
``csrc/include/fastdl/attention.h``)."""
from __future__ import annotations

from fastdl import _C

__all__ = ["attention_forward", "attention_backward"]


def attention_forward(q, k, v, bias, mask, scale: float, causal: bool, dropout: float = 0.0,
                      seed: int = 0):
    """``(out, lse)``: query (B, T, N, D), key (B, S, K, D), value (B, S, K, Dv) with N a multiple
    of K; bias and mask None or of shape (B, N, T, S) (broadcast views are read in place).
    out (B, T, N, Dv); lse (B, N, T) the log-sum-exp of each query row's scores, +inf for a row
    with nothing to attend to (whose output is zeros). With ``dropout`` > 0 the probabilities
    are dropped out, with the mask :func:`dropout_forward` draws for an array of shape
    (B, N, T, S) and ``seed``, before they weight the values.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> q = np.zeros((1, 1, 1, 2)); k = np.zeros((1, 2, 1, 2)); v = np.array([1.0, 3.0])
    >>> out, lse = cpu.attention_forward(q, k, v.reshape(1, 2, 1, 1), None, None, 1.0, False)
    >>> out.ravel(), lse.ravel().round(4)          # equal scores: the mean of the values
    (array([2.]), array([0.6931]))
    """
    return _C.attention_forward(q, k, v, bias, mask, float(scale), bool(causal), float(dropout),
                                int(seed))


def attention_backward(q, k, v, bias, mask, scale: float, causal: bool, out, lse, grad,
                       need_dscores: bool, dropout: float = 0.0, seed: int = 0):
    """``(dq, dk, dv, dscores)`` of :func:`attention_forward` from ``grad`` (shaped as out),
    given its out and lse (and its ``dropout`` and ``seed``); dscores (B, N, T, S), the
    gradient of the scores (the bias's before its broadcast axes are summed), only with
    ``need_dscores``, else None.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> q = np.zeros((1, 1, 1, 2)); k = np.zeros((1, 2, 1, 2)); v = np.ones((1, 2, 1, 1))
    >>> out, lse = cpu.attention_forward(q, k, v, None, None, 1.0, False)
    >>> dq, dk, dv, _ = cpu.attention_backward(q, k, v, None, None, 1.0, False, out, lse,
    ...                                        np.ones_like(out), False)
    >>> dv.ravel()                                  # each value weighted by 1/2
    array([0.5, 0.5])
    """
    return _C.attention_backward(q, k, v, bias, mask, float(scale), bool(causal), out, lse, grad,
                                 bool(need_dscores), float(dropout), int(seed))
