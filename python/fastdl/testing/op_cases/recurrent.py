"""Recurrent layers over whole sequences (``fastdl.ops.simple_rnn``, ``lstm``, ``gru``):
every output (the outputs of every step, the final states) against the step-by-step float64
reference, on every kernel set and at 1 and 2 threads, the gradients by central differences,
and the GPU against the CPU.

Inputs are (batch, steps, features); the weights have Keras's layout (gates side by side) and
variance 1 / fan-in, the inputs are in [-1, 1], so that the gates are not saturated.

>>> [case.name for case in CASES][:2]
['simple_rnn', 'lstm']
"""
import fastdl
from fastdl.testing import reference
from fastdl.testing.op_cases.case import (FLOAT32, FLOAT64, OpCase, Tolerance, fan_in_normal,
                                          normal, uniform)

TOLERANCE = {FLOAT32: Tolerance(2e-5, 2e-5), FLOAT64: Tolerance(1e-12, 1e-12)}
VALUES = (uniform(-1.0, 1.0), fan_in_normal, fan_in_normal, normal(0.3))


def _shapes(gates: int, bias: tuple, sizes: list) -> list:
    """(inputs, kernel, recurrent kernel, bias) shapes of (batch, steps, features, units)."""
    return [[(b, t, f), (f, gates * h), (h, gates * h), bias(h)] for b, t, f, h in sizes]


SIZES = [(1, 1, 1, 1), (3, 5, 7, 6), (2, 4, 3, 17), (5, 3, 9, 33), (64, 6, 28, 40)]
GRADCHECK_SIZES = [(2, 3, 3, 4)]
GPU_SIZES = [(16, 12, 20, 48)]


def recurrent_case(name: str, cell: str, gates: int, bias: tuple, fn, **options) -> OpCase:
    return OpCase(
        name, fn,
        lambda x, w, u, b: reference.recurrent(cell, x, w, u, b, **options),
        shapes=_shapes(gates, bias, SIZES), values=VALUES, tolerance=TOLERANCE,
        gradcheck_shapes=_shapes(gates, bias, GRADCHECK_SIZES), kernel=True, threads=(1, 2),
        gpu_shapes=_shapes(gates, bias, GPU_SIZES))


def _flat(gates: int):
    return lambda h: (gates * h,)


CASES = [
    recurrent_case("simple_rnn", "simple", 1, _flat(1),
                   lambda x, w, u, b: fastdl.ops.simple_rnn(x, w, u, b)),
    recurrent_case("lstm", "lstm", 4, _flat(4), lambda x, w, u, b: fastdl.ops.lstm(x, w, u, b)),
    recurrent_case("lstm(go_backwards=True)", "lstm", 4, _flat(4),
                   lambda x, w, u, b: fastdl.ops.lstm(x, w, u, b, go_backwards=True),
                   go_backwards=True),
    recurrent_case("gru", "gru", 3, lambda h: (2, 3 * h),
                   lambda x, w, u, b: fastdl.ops.gru(x, w, u, b)),
    recurrent_case("gru(reset_after=False)", "gru", 3, _flat(3),
                   lambda x, w, u, b: fastdl.ops.gru(x, w, u, b, reset_after=False),
                   reset_after=False),
]
