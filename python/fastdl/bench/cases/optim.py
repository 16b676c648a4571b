"""Optimizer steps: one Adam (Keras 3 formula) update of every parameter of a model, against
the same update written with NumPy and against ``torch.optim.Adam(foreach=True)``.

* ``adam step``: the MNIST MLP's parameters (784x128, 128, 128x10, 10), where a step is short
  enough for per-call overheads to show, and a ~1M-parameter set (1000x1000, 1000, 1000x10, 10),
  where it is a memory-bound pass.
* ``adam step, global_clipnorm``: the same with the gradients clipped by their joint norm first
  (an extra pass over the gradients for the norm).

fastdl's time is the whole ``Optimizer.apply_gradients`` call (Python layer included). NumPy's
update works in preallocated scratch arrays (no temporaries the size of the parameters);
PyTorch's uses its multi-tensor (foreach) kernels, with ``eps`` converted so that its first step
equals Keras's (PyTorch adds eps after the bias correction of sqrt(v), Keras before). Every
implementation starts from the same parameters and zero state; the check compares the
parameters after the first step. Later calls keep stepping with the same gradients: the work of a
step does not depend on the values.

GB/s counts the bytes a step must move at least once: read the parameters, gradients and both
moments, write back the parameters and moments (7 x 4 bytes per float32 parameter; one more
read of the gradients for the norm when clipping).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import fastdl
from fastdl.testing.op_cases.matmul import MLP
from fastdl.bench.harness import Case, Context, Impls

FAMILY = "optim"
_, _D_IN, _HIDDEN, _D_OUT = MLP
#: The MLP's parameters, and a set of about a million.
MLP_PARAMS = ((_D_IN, _HIDDEN), (_HIDDEN,), (_HIDDEN, _D_OUT), (_D_OUT,))
MILLION_PARAMS = ((1000, 1000), (1000,), (1000, 10), (10,))
LR, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-7
CLIP = 1.0  # global_clipnorm, well below the gradients' norm so that it always scales
_F32 = 4


def _describe(shapes: Sequence[tuple[int, ...]]) -> str:
    total = sum(math.prod(s) for s in shapes)
    return ", ".join("x".join(map(str, s)) for s in shapes) + f" ({total:,} params)"


class NumpyAdam:
    """Keras 3's Adam step over lists of arrays, in place, in preallocated scratch (and the
    clipped gradients in a second set, so that the caller's gradients stay as they are)."""

    def __init__(self, params: list[np.ndarray], global_clipnorm: float | None = None) -> None:
        self.params = params
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.clipped = [np.empty_like(p) for p in params] if global_clipnorm else None
        self.clip = global_clipnorm
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        self.t += 1
        alpha = LR * math.sqrt(1 - BETA_2 ** self.t) / (1 - BETA_1 ** self.t)
        if self.clip:
            norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
            scale = self.clip / max(norm, self.clip)
            for g, c in zip(grads, self.clipped):
                np.multiply(g, g.dtype.type(scale), out=c)
            grads = self.clipped
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            dtype = p.dtype.type
            np.subtract(g, m, out=tmp)  # m += (g - m) * (1 - beta_1)
            tmp *= dtype(1 - BETA_1)
            m += tmp
            np.multiply(g, g, out=tmp)  # v += (g^2 - v) * (1 - beta_2)
            tmp -= v
            tmp *= dtype(1 - BETA_2)
            v += tmp
            np.sqrt(v, out=tmp)  # p -= alpha * m / (sqrt(v) + epsilon)
            tmp += dtype(EPSILON)
            np.divide(m, tmp, out=tmp)
            tmp *= dtype(alpha)
            p -= tmp
        return self.params


def adam_case(name: str, shapes: Sequence[tuple[int, ...]], clip: bool, quick: bool) -> Case:
    """One Adam step over ``shapes`` (float32), optionally with ``global_clipnorm``."""

    def setup(ctx: Context) -> Impls:
        from fastdl.optimizers import Adam

        init = [ctx.rng.standard_normal(s, dtype=np.float32) for s in shapes]
        grads = [ctx.rng.standard_normal(s, dtype=np.float32) for s in shapes]
        clipnorm = CLIP if clip else None

        variables = [fastdl.tensor(p.copy(), requires_grad=True) for p in init]
        ours = Adam(learning_rate=LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON,
                    global_clipnorm=clipnorm)
        pairs = list(zip(grads, variables))

        def fastdl_step():
            ours.apply_gradients(pairs)
            return [v.data for v in variables]

        reference = NumpyAdam([p.copy() for p in init], clipnorm)
        impls: Impls = {"fastdl": fastdl_step, "numpy": lambda: reference.step(grads)}
        if ctx.torch is not None:
            impls["torch"] = _torch_step(ctx.torch, init, grads, clipnorm)
        return impls

    total = sum(math.prod(s) for s in shapes)
    nbytes = (8 if clip else 7) * _F32 * total
    return Case(FAMILY, name, _describe(shapes), setup, nbytes=nbytes, quick=quick)


def _torch_step(torch: Any, init: list[np.ndarray], grads: list[np.ndarray],
                clipnorm: float | None):
    params = [torch.tensor(p.copy(), requires_grad=True) for p in init]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    # Keras: alpha * m / (sqrt(v) + eps); PyTorch: alpha * m / (sqrt(v) + eps' * sqrt(1 -
    # beta_2^t)): equal at t = 1 with eps' = eps / sqrt(1 - beta_2).
    opt = torch.optim.Adam(params, lr=LR, betas=(BETA_1, BETA_2),
                           eps=EPSILON / math.sqrt(1 - BETA_2), foreach=True)
    clip = torch.nn.utils.clip_grad_norm_

    def step():
        if clipnorm is not None:
            # Scales the gradients in place: after the first call they are at the limit and later
            # calls scale by about 1, which costs the same.
            clip(params, clipnorm, foreach=True)
        opt.step()
        return [p.detach() for p in params]

    return step


def cases(mlp: Sequence[tuple[int, ...]] = MLP_PARAMS,
          large: Sequence[tuple[int, ...]] = MILLION_PARAMS) -> list[Case]:
    """Every optimizer case, in report order; all are quick."""
    return [
        adam_case("adam step", mlp, clip=False, quick=True),
        adam_case("adam step", large, clip=False, quick=True),
        adam_case("adam step, global_clipnorm", mlp, clip=True, quick=True),
        adam_case("adam step, global_clipnorm", large, clip=True, quick=True),
    ]
