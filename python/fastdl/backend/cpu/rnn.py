"""Recurrent layers over whole sequences on the CPU (``fastdl._C``): SimpleRNN, LSTM and GRU
(reset after the recurrent product). The inputs are the input projection ``x W + b`` of every
step, (batch, steps, gates * units); see ``csrc/include/fastdl/rnn.h`` for what the kernels
compute and keep.

>>> import numpy as np
>>> from fastdl.backend import cpu
>>> projected = np.zeros((2, 3, 4), np.float32)     # a batch of 2, 3 steps, 1 unit * 4 gates
>>> kernel, state = np.zeros((1, 4), np.float32), np.ones((2, 1), np.float32)
>>> outputs, h, c, saved = cpu.rnn_forward("lstm", projected, kernel, None, state, state, None,
...                                        "tanh", "sigmoid", False, False, keep=False)
>>> outputs.shape, c.ravel()          # the forget gate halves c at each step
((2, 3, 1), array([0.125, 0.125], dtype=float32))
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from fastdl import _C

__all__ = ["rnn_forward", "rnn_backward"]


def _mask_bytes(mask: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """A (batch, steps) mask as the kernels read it: one byte per step, nonzero = taken."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype == np.bool_:
        return np.ascontiguousarray(mask).view(np.uint8)
    return np.ascontiguousarray(mask != 0).view(np.uint8)


def rnn_forward(cell: str, inputs, recurrent_kernel, recurrent_bias, h0, c0, mask,
                activation: str, recurrent_activation: str, go_backwards: bool,
                zero_output_for_mask: bool, keep: bool) -> tuple:
    """``(outputs, h_last, c_last, saved)``: the outputs (batch, steps, units) in the order the
    steps ran, the final states (c_last None but for an LSTM), and what
    :func:`rnn_backward` needs (None unless ``keep``)."""
    outputs, h_last, c_last, *saved = _C.rnn_forward(
        cell, inputs, recurrent_kernel, recurrent_bias, h0, c0, _mask_bytes(mask), activation,
        recurrent_activation, go_backwards, zero_output_for_mask, keep)
    return outputs, h_last, c_last, (tuple(saved) if keep else None)


def rnn_backward(cell: str, recurrent_kernel, recurrent_bias, mask, activation: str,
                 recurrent_activation: str, go_backwards: bool, zero_output_for_mask: bool,
                 saved: tuple, d_outputs, d_h_last, d_c_last) -> tuple:
    """``(d_inputs, d_recurrent_kernel, d_recurrent_bias, d_h0, d_c0)`` from the gradients of
    the outputs and the final states (each may be None: no gradient)."""
    return _C.rnn_backward(cell, recurrent_kernel, recurrent_bias, _mask_bytes(mask), activation,
                           recurrent_activation, go_backwards, zero_output_for_mask, *saved,
                           d_outputs, d_h_last, d_c_last)
