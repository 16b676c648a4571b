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
its public functions: :mod:`~fastdl.ops.arithmetic`, :mod:`~fastdl.ops.elementwise`,
:mod:`~fastdl.ops.reduction`, :mod:`~fastdl.ops.shape`, :mod:`~fastdl.ops.conversion`,
:mod:`~fastdl.ops.matmul`, :mod:`~fastdl.ops.activation`, :mod:`~fastdl.ops.softmax`,
:mod:`~fastdl.ops.conv`, :mod:`~fastdl.ops.pool`, :mod:`~fastdl.ops.dropout` and
:mod:`~fastdl.ops.normalization`. Importing this package also binds the Tensor's operators and
methods (:mod:`~fastdl.ops.tensor_methods`).
"""
# The Function classes are imported too (fastdl.ops.Mul, ...), for subclassing and for code that
# looks at recorded nodes; __all__ lists the public functions.
# flake8: noqa: F401
from fastdl.ops.activation import Activation, gelu, leaky_relu, relu, sigmoid, step, tanh
from fastdl.ops.arithmetic import (Add, Div, Mul, Neg, Pow, Sub, add, divide, multiply,
                                   negative, power, subtract)
from fastdl.ops.conv import Conv2d, Conv2dMaxPool2d, conv1d, conv2d, conv2d_max_pool2d
from fastdl.ops.conversion import Cast, ToDevice, cast
from fastdl.ops.dropout import Dropout, dropout
from fastdl.ops.elementwise import (Abs, Clip, Exp, Log, Maximum, Minimum, Sqrt, Where, abs,
                                    clip, exp, log, maximum, minimum, sqrt, where)
from fastdl.ops.matmul import Linear, MatMul, linear, matmul
from fastdl.ops.normalization import BatchNorm, batch_norm
from fastdl.ops.pool import (AvgPool2d, GlobalAvgPool2d, GlobalMaxPool2d, MaxPool2d, avg_pool2d,
                             global_avg_pool2d, global_max_pool2d, max_pool2d)
from fastdl.ops.reduction import Max, Mean, Min, Sum, Var, max, mean, min, sum, var
from fastdl.ops.shape import (Concatenate, GetItem, Pad, Reshape, Stack, Transpose, concatenate,
                              pad, permute, reshape, squeeze, stack, transpose, unsqueeze)
from fastdl.ops.softmax import (Softmax, SoftmaxCrossEntropy, log_softmax, softmax,
                                softmax_cross_entropy)
from fastdl.ops import tensor_methods  # binds the Tensor's operators and methods

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

