"""Inverted dropout on fastdl's kernels, with masks from a counter-based stream: the same for
any thread count."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl import random as _random
from fastdl.autograd import Function
from fastdl.backend import kernels_for
from fastdl.ops.common import operand
from fastdl.tensor import Tensor


class Dropout(Function):
    """Inverted dropout: zeroes each element with probability p and scales the rest by
    1 / (1 - p), so that evaluation needs no rescaling. The mask comes from a counter-based
    stream keyed by one number drawn from ``generator``: the same whatever the thread count."""

    @staticmethod
    def forward(ctx, x, p, generator):
        seed = generator.bit_generator.random_raw()
        out, ctx.keep = kernels_for(x).dropout_forward(x, p, seed)
        ctx.p = p
        return out

    @staticmethod
    def backward(ctx, grad):
        return kernels_for(grad).dropout_backward(grad, ctx.keep, ctx.p), None, None


def dropout(x: Any, p: float = 0.5, training: bool = True,
            generator: Optional[np.random.Generator] = None) -> Tensor:
    """Inverted dropout; the identity when ``training`` is False or ``p`` is 0. Random numbers
    come from ``generator`` or fastdl's (see :func:`fastdl.manual_seed`).

    >>> import fastdl
    >>> fastdl.manual_seed(0)
    >>> y = fastdl.dropout(fastdl.ones(1000), 0.5)
    >>> sorted(set(y.numpy().tolist())), 400 < int((y.numpy() == 0).sum()) < 600
    ([0.0, 2.0], True)
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    x = operand(x)
    if not training or p == 0.0:
        return x if isinstance(x, Tensor) else Tensor(x)
    return Dropout.apply(x, float(p), generator or _random.generator())
