"""What the Python layer costs: operations on tiny tensors, and one training step of the MNIST
MLP written with raw tensors, against PyTorch and NumPy.

On a 16-element array the arithmetic takes nanoseconds; what a call costs is the interpreter,
making the result Tensor and, with autograd on, recording the graph and walking it backward.

* ``mul``: ``a * b`` on 16-element float32 tensors that do not require grad. NumPy's time is
  the floor (one ufunc call on bare arrays).
* ``mul chain fwd+bwd``: ``y = y * b`` ``N`` times and a sum, recorded and differentiated with
  respect to ``x`` (the start of the chain) and ``b`` (used ``N`` times, so its gradient adds
  up). Times are per recorded operation: the call's time / (N + 1). NumPy, having no autograd,
  computes the same values and the gradients from their closed forms, for the check.
* ``mlp sgd step``: forward, loss, backward and a plain SGD update of
  Dense(784->128, relu)-Dense(128->10) with softmax cross-entropy, batch 64, written as a user
  would without layers or optimizers. NumPy's version is derived by hand. All three start from
  the same float32 parameters and data; the check compares the loss and the four updated
  parameters after the first step. Later calls keep training on the same batch: the work of a
  step does not depend on the values.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import fastdl
from fastdl.testing.op_cases.matmul import MLP
from fastdl.bench.cases.softmax import np_softmax_cross_entropy_with_grad
from fastdl.bench.harness import Case, Context, Impls

FAMILY = "overhead"
SIZE = 16  # elements of the tiny tensors
CHAIN = 32  # multiplies in the recorded chain
LR = 0.1  # SGD learning rate of the MLP step


def mul_case(size: int = SIZE) -> Case:
    """``a * b`` without autograd."""

    def setup(ctx: Context) -> Impls:
        a = ctx.rng.standard_normal(size, dtype=np.float32)
        b = ctx.rng.standard_normal(size, dtype=np.float32)
        ta, tb = fastdl.tensor(a), fastdl.tensor(b)
        impls: Impls = {"fastdl": lambda: ta * tb, "numpy": lambda: a * b}
        torch = ctx.torch
        if torch is not None:
            pa, pb = torch.from_numpy(a), torch.from_numpy(b)
            impls["torch"] = lambda: pa * pb
        return impls

    return Case(FAMILY, "mul", f"{size}", setup)


def mul_chain_case(size: int = SIZE, length: int = CHAIN) -> Case:
    """``N`` recorded multiplies and a sum, then ``backward()``; per-operation times."""

    def setup(ctx: Context) -> Impls:
        x0 = ctx.rng.standard_normal(size, dtype=np.float32)
        # Factors near 1, so that b**N stays O(1) in float32 for any chain length used here.
        b0 = ctx.rng.uniform(0.95, 1.05, size).astype(np.float32)

        def numpy_chain():
            y = x0
            for _ in range(length):
                y = y * b0
            # d(sum x*b**N)/dx = b**N and /db = N * x * b**(N-1)
            return y.sum(), b0 ** length, length * x0 * b0 ** (length - 1)

        impls: Impls = {
            "fastdl": _chain(fastdl.tensor(x0, requires_grad=True),
                             fastdl.tensor(b0, requires_grad=True), length),
            "numpy": numpy_chain,
        }
        torch = ctx.torch
        if torch is not None:
            impls["torch"] = _chain(torch.tensor(x0, requires_grad=True),
                                    torch.tensor(b0, requires_grad=True), length)
        return impls

    return Case(FAMILY, "mul chain fwd+bwd, per op", f"{size}, {length} muls + sum", setup,
                ops_per_call=length + 1)


def _chain(x: Any, b: Any, length: int):
    """``length`` recorded multiplies of ``x`` by ``b``, a sum and ``backward()``, for either
    library's tensors (they share this much of their API)."""

    def chain():
        x.grad = b.grad = None  # each call's gradients, not the sum over calls
        y = x
        for _ in range(length):
            y = y * b
        total = y.sum()
        total.backward()
        return total, x.grad, b.grad

    return chain


def mlp_step_case(shape: tuple[int, int, int, int] = MLP, lr: float = LR) -> Case:
    """One SGD step of the MLP ``d_in -> hidden (relu) -> d_out`` at ``batch``."""
    batch, d_in, hidden, d_out = shape

    def setup(ctx: Context) -> Impls:
        rng = ctx.rng
        x = rng.random((batch, d_in), dtype=np.float32)  # pixel-like inputs in [0, 1)
        labels = rng.integers(0, d_out, batch)
        # He initialisation for the relu layer, Glorot-like for the output; small biases that
        # are not zero, so that their gradients are checked on a general point.
        init = [
            rng.standard_normal((d_in, hidden), dtype=np.float32) * np.float32(math.sqrt(2 / d_in)),
            rng.standard_normal(hidden, dtype=np.float32) * np.float32(0.01),
            rng.standard_normal((hidden, d_out), dtype=np.float32) * np.float32(
                math.sqrt(1 / hidden)),
            rng.standard_normal(d_out, dtype=np.float32) * np.float32(0.01),
        ]
        impls: Impls = {
            "fastdl": _fastdl_step(x, labels, [p.copy() for p in init], lr),
            "numpy": _numpy_step(x, labels, [p.copy() for p in init], lr),
        }
        if ctx.torch is not None:
            impls["torch"] = _torch_step(ctx.torch, x, labels, init, lr)
        return impls

    return Case(FAMILY, "mlp sgd step", f"{batch}x{d_in}-{hidden}-{d_out}", setup)


def _sgd_update(param: np.ndarray, grad: np.ndarray, lr: float) -> None:
    """``param -= lr * grad`` without a temporary the size of W1 (the gradient is this step's
    own, free to scale in place): the NumPy counterpart of PyTorch's ``add_(grad, alpha=-lr)``."""
    grad *= lr
    param -= grad


def _fastdl_step(x: np.ndarray, labels: np.ndarray, init: list[np.ndarray], lr: float):
    x = fastdl.from_numpy(x)
    params = [fastdl.from_numpy(p).requires_grad_() for p in init]

    def step():
        w1, b1, w2, b2 = params
        h = fastdl.linear(x, w1, b1, "relu")  # bias and relu fused into the GEMM
        loss = fastdl.softmax_cross_entropy(fastdl.linear(h, w2, b2), labels)
        loss.backward()
        with fastdl.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-lr)  # the same one-pass update as PyTorch's below
                p.grad = None
        return loss, *params

    return step


def _numpy_step(x: np.ndarray, labels: np.ndarray, params: list[np.ndarray], lr: float):
    w1, b1, w2, b2 = params

    def step():
        h = np.maximum(x @ w1 + b1, 0)
        loss, dlogits = np_softmax_cross_entropy_with_grad(h @ w2 + b2, labels)
        dh = (dlogits @ w2.T) * (h > 0)
        grads = (x.T @ dh, dh.sum(axis=0), h.T @ dlogits, dlogits.sum(axis=0))
        for p, g in zip(params, grads):
            _sgd_update(p, g, lr)
        return loss, *params

    return step


def _torch_step(torch: Any, x: np.ndarray, labels: np.ndarray, init: list[np.ndarray],
                lr: float):
    """The same step in PyTorch, with its weights in ``nn.Linear``'s (out, in) layout."""
    F = torch.nn.functional
    tx, tlabels = torch.from_numpy(x), torch.from_numpy(labels)
    params = [torch.tensor(p.T if p.ndim == 2 else p).contiguous().requires_grad_()
              for p in init]

    def step():
        w1, b1, w2, b2 = params
        h = F.relu(F.linear(tx, w1, b1))
        loss = F.cross_entropy(F.linear(h, w2, b2), tlabels)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-lr)  # torch.optim.SGD's update: one pass, no temporary
                p.grad = None
        return loss, w1.T, b1, w2.T, b2  # back in (in, out) for the check

    return step


def cases(size: int = SIZE, chain: int = CHAIN,
          mlp: tuple[int, int, int, int] = MLP) -> list[Case]:
    """Every overhead case, in report order; all are quick."""
    return [mul_case(size), mul_chain_case(size, chain), mlp_step_case(mlp)]
