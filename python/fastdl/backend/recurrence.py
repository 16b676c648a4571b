"""The recurrent kernels' arithmetic written once over an array module: what the GPU backend
runs (CuPy arrays, one GEMM per step and the gates as array expressions) and what tests hold
the CPU kernels to (NumPy). The arguments, results and conventions are those of
``fastdl.backend.cpu.rnn_forward`` / ``rnn_backward`` (see ``csrc/include/fastdl/rnn.h``).

>>> import numpy as np
>>> from fastdl.backend import recurrence
>>> projected = np.ones((1, 2, 1))                  # SimpleRNN: 1 unit, 2 steps of x W + b = 1
>>> outputs, h, _, _ = recurrence.rnn_forward(np, np.matmul, "simple", projected, np.ones((1, 1)),
...                                           None, np.zeros((1, 1)), None, None, "none", "none",
...                                           False, False, False)
>>> outputs.ravel()                                 # h1 = 1, h2 = 1 + h1
array([1., 2.])
"""
from __future__ import annotations

from typing import Any, Callable

#: Gates per unit of each cell.
GATES = {"simple": 1, "lstm": 4, "gru": 3}


def _activation(xp: Any, name: str) -> tuple[Callable, Callable]:
    """``(f, grad)``: the activation and ``grad(dy, y)``, its derivative from its output."""
    if name == "tanh":
        return xp.tanh, lambda dy, y: dy * (1 - y * y)
    if name == "sigmoid":
        return (lambda x: 1 / (1 + xp.exp(-x))), lambda dy, y: dy * (y - y * y)
    if name == "relu":
        return (lambda x: xp.maximum(x, 0)), lambda dy, y: dy * (y > 0)
    if name == "none":
        return (lambda x: x), lambda dy, y: dy
    raise ValueError(f"rnn: unknown activation {name!r}; expected none, relu, sigmoid or tanh")


def _taken(mask: Any, t: int) -> Any:
    return None if mask is None else (mask[:, t] != 0)[:, None]


def rnn_forward(xp: Any, matmul: Callable, cell: str, inputs, recurrent_kernel, recurrent_bias,
                h0, c0, mask, activation: str, recurrent_activation: str, go_backwards: bool,
                zero_output_for_mask: bool, keep: bool) -> tuple:
    """``(outputs, h_last, c_last, saved)`` as the CPU kernels return them; ``saved`` is
    ``(saved values, h_entering, c_entering)`` or None."""
    batch, steps, _ = inputs.shape
    units = recurrent_kernel.shape[0]
    act, _ = _activation(xp, activation)
    gate, _ = _activation(xp, recurrent_activation)
    lstm = cell == "lstm"
    outputs = xp.empty((batch, steps, units), inputs.dtype)
    saved_values = []
    h_entering = xp.empty((batch, steps, units), inputs.dtype) if keep else None
    c_entering = xp.empty((batch, steps, units), inputs.dtype) if keep and lstm else None
    h, c = h0, c0
    for s in range(steps):
        t = steps - 1 - s if go_backwards else s
        if keep:
            h_entering[:, t] = h
            if lstm:
                c_entering[:, t] = c
        x = inputs[:, t]
        product = matmul(h, recurrent_kernel)
        if cell == "simple":
            h_new = act(x + product)
            values = [h_new]
        elif lstm:
            z = x + product
            i, f = gate(z[:, :units]), gate(z[:, units:2 * units])
            g, o = act(z[:, 2 * units:3 * units]), gate(z[:, 3 * units:])
            c_new = f * c + i * g
            c_act = act(c_new)
            h_new = o * c_act
            values = [i, f, g, o, c_act]
        else:
            if recurrent_bias is not None:
                product = product + recurrent_bias
            z = gate(x[:, :units] + product[:, :units])
            r = gate(x[:, units:2 * units] + product[:, units:2 * units])
            hh = product[:, 2 * units:]
            n = act(x[:, 2 * units:] + r * hh)
            h_new = z * h + (1 - z) * n
            values = [z, r, n, hh]
        taken = _taken(mask, t)
        if taken is None:
            outputs[:, s] = h_new
            h = h_new
            c = c_new if lstm else None
        else:
            outputs[:, s] = xp.where(taken, h_new, 0 if zero_output_for_mask else h)
            h = xp.where(taken, h_new, h)
            c = xp.where(taken, c_new, c) if lstm else None
        if keep:
            saved_values.append((t, xp.concatenate(values, axis=1)))
    saved = None
    if keep:
        width = saved_values[0][1].shape[1] if saved_values else 0
        values = xp.empty((batch, steps, width), inputs.dtype)
        for t, v in saved_values:
            values[:, t] = v
        saved = (values, h_entering, c_entering)
    return outputs, h, c, saved


def rnn_backward(xp: Any, matmul: Callable, cell: str, recurrent_kernel, recurrent_bias, mask,
                 activation: str, recurrent_activation: str, go_backwards: bool,
                 zero_output_for_mask: bool, saved: tuple, d_outputs, d_h_last,
                 d_c_last) -> tuple:
    """``(d_inputs, d_recurrent_kernel, d_recurrent_bias, d_h0, d_c0)``."""
    values, h_entering, c_entering = saved
    batch, steps, units = h_entering.shape
    gates = GATES[cell]
    _, act_grad = _activation(xp, activation)
    _, gate_grad = _activation(xp, recurrent_activation)
    lstm, dtype = cell == "lstm", h_entering.dtype
    d_inputs = xp.zeros((batch, steps, gates * units), dtype)
    d_rec = xp.zeros_like(d_inputs) if cell == "gru" else d_inputs
    d_h = xp.zeros((batch, units), dtype) if d_h_last is None else d_h_last.astype(dtype)
    d_c = None
    if lstm:
        d_c = xp.zeros((batch, units), dtype) if d_c_last is None else d_c_last.astype(dtype)
    kernel_t = recurrent_kernel.T
    for s in range(steps - 1, -1, -1):
        t = steps - 1 - s if go_backwards else s
        d_out = 0 if d_outputs is None else d_outputs[:, s]
        taken = _taken(mask, t)
        # The new state's gradient: the carried one and the output's, where the step was taken.
        dh = d_h + d_out if taken is None else xp.where(taken, d_h + d_out, 0)
        v = values[:, t]
        if cell == "simple":
            grads = act_grad(dh, v[:, :units])
            direct = 0
        elif lstm:
            i, f, g = v[:, :units], v[:, units:2 * units], v[:, 2 * units:3 * units]
            o, c_act = v[:, 3 * units:4 * units], v[:, 4 * units:]
            dc = (d_c if taken is None else xp.where(taken, d_c, 0)) + act_grad(dh * o, c_act)
            grads = xp.concatenate([gate_grad(dc * g, i), gate_grad(dc * c_entering[:, t], f),
                                    act_grad(dc * i, g), gate_grad(dh * c_act, o)], axis=1)
            d_c = dc * f if taken is None else xp.where(taken, dc * f, d_c)
            direct = 0
        else:
            z, r, n, hh = (v[:, k * units:(k + 1) * units] for k in range(4))
            dz = gate_grad(dh * (h_entering[:, t] - n), z)
            dn = act_grad(dh * (1 - z), n)
            dr = gate_grad(dn * hh, r)
            grads = xp.concatenate([dz, dr, dn], axis=1)
            d_rec[:, t] = xp.concatenate([dz, dr, dn * r], axis=1)
            direct = dh * z
        d_inputs[:, t] = grads
        # A skipped step passed the state through (and output it, unless zeros).
        passed = 0 if taken is None else xp.where(
            taken, 0, d_h if zero_output_for_mask else d_h + d_out)
        d_h = matmul(d_rec[:, t], kernel_t) + direct + passed
    flat_h = h_entering.reshape(batch * steps, units)
    flat_rec = d_rec.reshape(batch * steps, gates * units)
    d_kernel = matmul(flat_h.T, flat_rec)
    d_bias = flat_rec.sum(axis=0) if recurrent_bias is not None else None
    return d_inputs, d_kernel, d_bias, d_h, d_c
