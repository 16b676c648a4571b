"""Recurrent layers over whole sequences on the GPU, the signatures of
:mod:`fastdl.backend.cpu.rnn`: per step one product with the recurrent kernel on fastdl's CUDA
GEMM and the cell's arithmetic as CuPy array expressions (``fastdl.backend.recurrence``, the
arithmetic the CPU kernels are tested against)."""
from __future__ import annotations

from fastdl.backend import recurrence
from fastdl.backend.cuda import runtime
from fastdl.backend.cuda.gemm import matmul

__all__ = ["rnn_forward", "rnn_backward"]


def rnn_forward(cell: str, inputs, recurrent_kernel, recurrent_bias, h0, c0, mask,
                activation: str, recurrent_activation: str, go_backwards: bool,
                zero_output_for_mask: bool, keep: bool) -> tuple:
    """``(outputs, h_last, c_last, saved)``, as :func:`fastdl.backend.cpu.rnn_forward`."""
    return recurrence.rnn_forward(runtime.cupy(), matmul, cell, inputs, recurrent_kernel,
                                  recurrent_bias, h0, c0, mask, activation,
                                  recurrent_activation, go_backwards, zero_output_for_mask, keep)


def rnn_backward(cell: str, recurrent_kernel, recurrent_bias, mask, activation: str,
                 recurrent_activation: str, go_backwards: bool, zero_output_for_mask: bool,
                 saved: tuple, d_outputs, d_h_last, d_c_last) -> tuple:
    """``(d_inputs, d_recurrent_kernel, d_recurrent_bias, d_h0, d_c0)``, as
    :func:`fastdl.backend.cpu.rnn_backward`."""
    return recurrence.rnn_backward(runtime.cupy(), matmul, cell, recurrent_kernel,
                                   recurrent_bias, mask, activation, recurrent_activation,
                                   go_backwards, zero_output_for_mask, saved, d_outputs,
                                   d_h_last, d_c_last)
