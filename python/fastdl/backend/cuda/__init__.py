"""GPU kernels on CuPy arrays: thin wrappers over ``fastdl._cuda`` with the names and
signatures of :mod:`fastdl.backend.cpu`, so that an operation calls the same function whichever
device its arrays are on. Outputs are allocated from CuPy's memory pool and kernels launch on
CuPy's current stream. Importing this module needs neither CuPy nor a GPU; calling it does.
"""
from fastdl.backend.cuda.activation import (  # noqa: F401
    activation_backward, activation_forward, gelu, leaky_relu, relu, sigmoid, step, tanh)
from fastdl.backend.cuda.glue import as_float_arrays, index_add  # noqa: F401
