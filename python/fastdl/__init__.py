"""fastdl: a small, fast deep-learning library.

Hand-written C++ (OpenMP, AVX2/FMA) kernels under a NumPy-friendly Python API.

>>> import numpy as np, fastdl
>>> fastdl.matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)).shape
(2, 4)
"""
from fastdl._config import build_info, get_num_threads, set_num_threads
from fastdl.backend.cpu import (
    gelu,
    leaky_relu,
    linear,
    log_softmax,
    matmul,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    step,
    tanh,
)

__version__ = build_info()["version"]

__all__ = [
    "build_info",
    "get_num_threads",
    "set_num_threads",
    "linear",
    "matmul",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "step",
    "gelu",
    "softmax",
    "log_softmax",
    "softmax_cross_entropy",
]
