"""CPU kernels on NumPy arrays: thin wrappers over ``fastdl._C``, one module per kernel family,
with the names and signatures of :mod:`fastdl.backend.cuda`'s, so that an operation calls the
same function whichever device its arrays are on.

Each function checks what NumPy semantics need (promotion, broadcasting, 1-D operands) and lets
the native entry point validate shapes and dtypes; every result is a new array that shares no
memory with the inputs.
"""
from fastdl.backend.cpu.activation import activation_backward, activation_forward  # noqa: F401
from fastdl.backend.cpu.conv import (  # noqa: F401
    conv2d_backward, conv2d_forward, conv2d_max_pool2d, conv2d_max_pool2d_backward)
from fastdl.backend.cpu.dropout import dropout_backward, dropout_forward  # noqa: F401
from fastdl.backend.cpu.gemm import linear, linear_backward, matmul  # noqa: F401
from fastdl.backend.cpu.glue import as_float_arrays, index_add  # noqa: F401
from fastdl.backend.cpu.optim import adam_step, axpy, rmsprop_step, sgd_step  # noqa: F401
from fastdl.backend.cpu.pool import (  # noqa: F401
    avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward, max_pool2d_with_argmax)
from fastdl.backend.cpu.softmax import (  # noqa: F401
    log_softmax, log_softmax_backward, softmax, softmax_backward, softmax_cross_entropy,
    softmax_cross_entropy_with_grad)
