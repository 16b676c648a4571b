"""Independent float64 NumPy references for the kernels under test."""
import numpy as np


def matmul(a, b):
    return np.matmul(np.asarray(a, np.float64), np.asarray(b, np.float64))


def linear(x, w, b=None, activation=None):
    y = matmul(x, w)
    if b is not None:
        y = y + np.asarray(b, np.float64)
    return ACTIVATIONS[activation or "none"](y)


ACTIVATIONS = {
    "none": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
}
