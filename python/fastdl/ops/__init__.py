"""fastdl's operations: one namespace for every public function on tensors.

The type rule is the same for all of them: Tensors, NumPy arrays (or GPU arrays) and Python
numbers or lists in, Tensors out, on the CPU and the GPU alike. Lists and Python numbers are
converted as :func:`fastdl.tensor` converts them (floats become float32); NumPy arrays keep
their dtype. The result records the graph when an input requires grad (see
:mod:`fastdl.autograd`).

>>> import numpy as np, fastdl
>>> fastdl.ops.relu(np.array([-1.0, 2.0], np.float32))
tensor([0., 2.])
>>> x = fastdl.tensor([[1.0, 2.0]], requires_grad=True)
>>> fastdl.ops.sum(fastdl.ops.multiply(x, x)).backward(); x.grad
tensor([[2., 4.]])

Each family lives in a module of its own, its :class:`~fastdl.autograd.Function` classes beside
its public functions (``fastdl.ops.arithmetic.Mul`` is the Function behind ``*``):
:mod:`~fastdl.ops.arithmetic`, :mod:`~fastdl.ops.elementwise`, :mod:`~fastdl.ops.reduction`,
:mod:`~fastdl.ops.shaping`, :mod:`~fastdl.ops.conversion`, :mod:`~fastdl.ops.products`,
:mod:`~fastdl.ops.activation`, :mod:`~fastdl.ops.softmax_family`, :mod:`~fastdl.ops.convolution`,
:mod:`~fastdl.ops.pooling`, :mod:`~fastdl.ops.regularization` and
:mod:`~fastdl.ops.normalization`; no module is named as a function, so that both stay
reachable. Importing this package also binds the Tensor's operators and methods
(:mod:`~fastdl.ops.tensor_methods`).
"""
from fastdl.ops import tensor_methods  # noqa: F401  (binds the Tensor's operators and methods)
from fastdl.ops.activation import gelu, leaky_relu, relu, sigmoid, step, tanh
from fastdl.ops.arithmetic import add, divide, multiply, negative, power, subtract
from fastdl.ops.convolution import conv1d, conv2d, conv2d_max_pool2d
from fastdl.ops.conversion import cast
from fastdl.ops.regularization import dropout
from fastdl.ops.elementwise import abs, clip, exp, log, maximum, minimum, sqrt, where
from fastdl.ops.products import linear, matmul
from fastdl.ops.normalization import batch_norm
from fastdl.ops.pooling import avg_pool2d, global_avg_pool2d, global_max_pool2d, max_pool2d
from fastdl.ops.reduction import max, mean, min, sum, var
from fastdl.ops.shaping import (concatenate, pad, permute, reshape, squeeze, stack, transpose,
                              unsqueeze)
from fastdl.ops.softmax_family import log_softmax, softmax, softmax_cross_entropy

__all__ = [
    "add", "subtract", "multiply", "divide", "power", "negative",
    "exp", "log", "sqrt", "abs", "clip", "maximum", "minimum", "where",
    "sum", "mean", "max", "min", "var",
    "reshape", "transpose", "permute", "squeeze", "unsqueeze", "concatenate", "stack", "pad",
    "cast", "matmul", "linear",
    "relu", "leaky_relu", "sigmoid", "tanh", "step", "gelu",
    "softmax", "log_softmax", "softmax_cross_entropy",
    "conv2d", "conv1d", "conv2d_max_pool2d",
    "max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d",
    "dropout", "batch_norm",
]

