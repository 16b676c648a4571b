"""Parameter updates on the GPU (``fastdl._cuda``): ``axpy`` and the fused optimizer steps, with
the signatures of ``fastdl._C``'s (see :mod:`fastdl.optimizers`). One call updates every
parameter in a few kernel launches and never waits for the GPU.

Parameters and state arrays are float32 CuPy arrays, updated in place; gradients of another
dtype or layout are converted first (the caller's arrays are not modified), as on the CPU.
"""
from __future__ import annotations

import numpy as np

from fastdl.backend.cuda import runtime

__all__ = ["sgd_step", "adam_step", "rmsprop_step", "axpy"]


def axpy(alpha: float, x, y) -> None:
    """``y += alpha * x`` in place (float32 arrays of one shape; y C-contiguous)."""
    runtime.kernels().axpy(float(alpha), x, y, runtime.stream())


def _float32_grads(grads):
    """The GPU gradients as C-contiguous float32 arrays; anything else (not a list, not on the
    GPU) is left for the native entry point to refuse with a message naming the step."""
    cp = runtime.cupy()
    if not isinstance(grads, (list, tuple)):
        return grads
    return [g.astype(np.float32, order="C", copy=False) if isinstance(g, cp.ndarray) else g
            for g in grads]


def sgd_step(params, grads, momentums, learning_rate, momentum, nesterov, weight_decay,
             clipvalue, clipnorm, global_clipnorm) -> None:
    """One SGD step over all parameters, as ``fastdl._C.sgd_step``."""
    runtime.kernels().sgd_step(params, _float32_grads(grads), momentums, learning_rate,
                               momentum, nesterov, weight_decay, clipvalue, clipnorm,
                               global_clipnorm, runtime.stream())


def adam_step(params, grads, m, v, v_hat, step, learning_rate, beta_1, beta_2, epsilon,
              weight_decay, clipvalue, clipnorm, global_clipnorm) -> None:
    """One Adam/AdamW step over all parameters, as ``fastdl._C.adam_step``."""
    runtime.kernels().adam_step(params, _float32_grads(grads), m, v, v_hat, step, learning_rate,
                                beta_1, beta_2, epsilon, weight_decay, clipvalue, clipnorm,
                                global_clipnorm, runtime.stream())


def rmsprop_step(params, grads, velocities, momentums, average_grads, learning_rate, rho,
                 momentum, epsilon, weight_decay, clipvalue, clipnorm, global_clipnorm) -> None:
    """One RMSprop step over all parameters, as ``fastdl._C.rmsprop_step``."""
    runtime.kernels().rmsprop_step(params, _float32_grads(grads), velocities, momentums,
                                   average_grads, learning_rate, rho, momentum, epsilon,
                                   weight_decay, clipvalue, clipnorm, global_clipnorm,
                                   runtime.stream())
