"""Optimizer steps on the CPU (``fastdl._C``): one call updates every parameter of a model (see
``fastdl/optim.h`` for the formulas); the optimizers call them through the backend of their
parameters' device."""
from fastdl import _C

__all__ = ["sgd_step", "adam_step", "rmsprop_step", "axpy"]

sgd_step = _C.sgd_step
adam_step = _C.adam_step
rmsprop_step = _C.rmsprop_step
axpy = _C.axpy
