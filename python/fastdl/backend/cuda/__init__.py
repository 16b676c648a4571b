"""GPU kernels on CuPy arrays: thin wrappers over ``fastdl._cuda`` with the names and
signatures of :mod:`fastdl.backend.cpu`, so that an operation calls the same function whichever
device its arrays are on. Outputs are allocated from CuPy's memory pool and kernels launch on
CuPy's current stream. Importing this module needs neither CuPy nor a GPU; calling it does.
"""
from fastdl.backend.cuda.activation import activation_backward, activation_forward  # noqa: F401
from fastdl.backend.cuda.glue import as_float_arrays, index_add  # noqa: F401
from fastdl.backend.cuda.dropout import dropout_backward, dropout_forward  # noqa: F401
from fastdl.backend.cuda.optim import adam_step, axpy, rmsprop_step, sgd_step  # noqa: F401
from fastdl.backend.cuda.softmax import (  # noqa: F401
    log_softmax, log_softmax_backward, softmax, softmax_backward, softmax_cross_entropy,
    softmax_cross_entropy_with_grad)
from fastdl.backend.cuda.conv import (  # noqa: F401
    conv2d_backward, conv2d_forward, conv2d_max_pool2d, conv2d_max_pool2d_backward)
from fastdl.backend.cuda.pool import (  # noqa: F401
    avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward, max_pool2d_with_argmax)
from fastdl.backend.cuda.gemm import gemm_versions, linear, linear_backward, matmul  # noqa: F401
