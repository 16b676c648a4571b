"""Recurrent layers over whole sequences: SimpleRNN, LSTM and GRU (reset_after), forward and
forward+backward of one layer, float32, at three shapes (batch, steps, features, units): the
Fashion-MNIST LSTM's (64, 28, 28, 128), a long sequence of small states (32, 200, 128, 64) and
a large state (64, 100, 128, 256).

* ``fastdl``: ``fastdl.ops.lstm`` / ``gru`` / ``simple_rnn`` on Tensors, as a layer calls
  them (the input projection as one GEMM, then the recurrence kernel); forward+backward is
  ``outputs.backward(dy)``, every weight and the input requiring gradients.
* ``numpy``: the same arithmetic step by step in NumPy (``fastdl.backend.recurrence``, the
  reference the kernels are tested against), the input projection and its gradients as
  ``@`` products.
* ``torch``: ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` with Keras's weights mapped (PyTorch's gate
  orders), forward under ``no_grad``, forward+backward through autograd.

The check compares the outputs (and, with the backward, the input's gradient) with NumPy's.
GFLOP/s counts the products: forward ``2 B T (I + H) G H``, with the backward three times that.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import fastdl
from fastdl.backend import recurrence
from fastdl.bench.harness import Case, Context, Impls

FAMILY = "rnn"

#: (batch, steps, features, units).
SHAPES = ((64, 28, 28, 128), (32, 200, 128, 64), (64, 100, 128, 256))
CELLS = {"SimpleRNN": "simple", "LSTM": "lstm", "GRU": "gru"}
#: PyTorch's order of Keras's gate blocks (LSTM i, f, c, o is PyTorch's i, f, g, o; GRU's
#: z, r, h is PyTorch's r, z, n).
_TORCH_GATES = {"simple": [0], "lstm": [0, 1, 2, 3], "gru": [1, 0, 2]}


def _weights(ctx: Context, cell: str, features: int, units: int) -> dict[str, np.ndarray]:
    gates = recurrence.GATES[cell]
    rng = ctx.rng
    w = rng.standard_normal((features, gates * units), dtype=np.float32)
    u = rng.standard_normal((units, gates * units), dtype=np.float32)
    w *= np.float32(1 / np.sqrt(features))
    u *= np.float32(1 / np.sqrt(units))
    bias_shape = (2, gates * units) if cell == "gru" else (gates * units,)
    b = rng.standard_normal(bias_shape, dtype=np.float32) * np.float32(0.1)
    return {"kernel": w, "recurrent_kernel": u, "bias": b}


def _fastdl(cell: str, x: np.ndarray, weights: dict, dy: np.ndarray | None) -> Callable:
    op = {"simple": fastdl.ops.simple_rnn, "lstm": fastdl.ops.lstm, "gru": fastdl.ops.gru}[cell]
    if dy is None:
        def forward():
            with fastdl.no_grad():
                return op(x, weights["kernel"], weights["recurrent_kernel"], weights["bias"])[0]
        return forward
    tx = fastdl.tensor(x, requires_grad=True)
    tw = [fastdl.tensor(weights[k], requires_grad=True)
          for k in ("kernel", "recurrent_kernel", "bias")]

    def forward_backward():
        for t in (tx, *tw):
            t.grad = None
        outputs = op(tx, *tw)[0]
        outputs.backward(dy)
        return outputs, tx.grad
    return forward_backward


def _numpy(cell: str, x: np.ndarray, weights: dict, dy: np.ndarray | None) -> Callable:
    w, u, b = weights["kernel"], weights["recurrent_kernel"], weights["bias"]
    input_bias, recurrent_bias = (b[0], b[1]) if cell == "gru" else (b, None)
    batch, _, units = x.shape[0], x.shape[1], u.shape[0]
    h0 = np.zeros((batch, units), np.float32)
    c0 = h0 if cell == "lstm" else None

    def run():
        projected = x @ w + input_bias
        outputs, _, _, saved = recurrence.rnn_forward(
            np, np.matmul, cell, projected, u, recurrent_bias, h0, c0, None, "tanh", "sigmoid",
            False, False, dy is not None)
        if dy is None:
            return outputs
        d_projected = recurrence.rnn_backward(np, np.matmul, cell, u, recurrent_bias, None,
                                              "tanh", "sigmoid", False, False, saved, dy, None,
                                              None)[0]
        flat = d_projected.reshape(-1, d_projected.shape[-1])
        # The weights' gradients are part of the work, as for the others.
        _ = x.reshape(-1, x.shape[-1]).T @ flat, flat.sum(axis=0)
        return outputs, (flat @ w.T).reshape(x.shape)
    return run


def _torch(torch: Any, cell: str, x: np.ndarray, weights: dict,
           dy: np.ndarray | None) -> Callable:
    features, units = x.shape[-1], weights["recurrent_kernel"].shape[0]
    module = {"simple": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        features, units, batch_first=True)
    order = _TORCH_GATES[cell]

    def torch_gates(a: np.ndarray) -> Any:
        blocks = np.split(a, len(order), axis=-1)
        return torch.from_numpy(np.ascontiguousarray(
            np.concatenate([blocks[i] for i in order], axis=-1).T))

    b = weights["bias"]
    input_bias, recurrent_bias = (b[0], b[1]) if cell == "gru" else (b, np.zeros_like(b))
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch_gates(weights["kernel"]))
        module.weight_hh_l0.copy_(torch_gates(weights["recurrent_kernel"]))
        module.bias_ih_l0.copy_(torch_gates(input_bias[None])[:, 0])
        module.bias_hh_l0.copy_(torch_gates(recurrent_bias[None])[:, 0])
    tx = torch.from_numpy(x)
    if dy is None:
        def forward():
            with torch.no_grad():
                return module(tx)[0]
        return forward
    tx = tx.clone().requires_grad_()
    tdy = torch.from_numpy(dy)

    def forward_backward():
        tx.grad = None
        module.zero_grad(set_to_none=True)
        outputs = module(tx)[0]
        outputs.backward(tdy)
        return outputs, tx.grad
    return forward_backward


def rnn_case(kind: str, shape: tuple, backward: bool) -> Case:
    cell = CELLS[kind]
    batch, steps, features, units = shape

    def setup(ctx: Context) -> Impls:
        x = ctx.rng.standard_normal((batch, steps, features), dtype=np.float32)
        weights = _weights(ctx, cell, features, units)
        dy = ctx.rng.standard_normal((batch, steps, units), dtype=np.float32) \
            if backward else None
        impls: Impls = {"fastdl": _fastdl(cell, x, weights, dy),
                        "numpy": _numpy(cell, x, weights, dy)}
        if ctx.torch is not None:
            impls["torch"] = _torch(ctx.torch, cell, x, weights, dy)
        return impls

    flops = 2.0 * batch * steps * (features + units) * recurrence.GATES[cell] * units
    return Case(FAMILY, f"{kind} {'fwd+bwd' if backward else 'fwd'}",
                f"B{batch} T{steps} I{features} H{units}", setup,
                flops=flops * (3 if backward else 1), rtol=1e-3, atol=1e-3,
                quick=steps * units <= 100 * 128)


def cases() -> list[Case]:
    """Every recurrent case: each cell, forward and forward+backward, at each shape."""
    return [rnn_case(kind, shape, backward) for kind in CELLS for backward in (False, True)
            for shape in SHAPES]
