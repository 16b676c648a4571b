"""fastdl's operations: one namespace for every public function on tensors.

The type rule is the same for all of them: Tensors, NumPy arrays (or GPU arrays) and Python
numbers or lists in, Tensors out, on the CPU and the GPU alike. Lists and Python numbers are
converted as :func:`fastdl.tensor` converts them (floats become float32); NumPy arrays keep
their dtype. The result records the graph when an input requires grad (see
:mod:`fastdl.autograd`). The names, argument names and defaults are Keras 3's ``keras.ops``
(:mod:`fastdl.keras.ops` is this namespace under Keras's name), with Keras's default dtypes for
what operations make: float32, and int32 indices.

>>> import numpy as np, fastdl
>>> fastdl.ops.relu(np.array([-1.0, 2.0], np.float32))
tensor([0., 2.])
>>> x = fastdl.tensor([[1.0, 2.0]], requires_grad=True)
>>> fastdl.ops.sum(fastdl.ops.multiply(x, x)).backward(); x.grad
tensor([[2., 4.]])

Each family lives in a module of its own, its :class:`~fastdl.autograd.Function` classes beside its
public functions (``fastdl.ops.arithmetic.Mul`` is the Function behind ``*``):
:mod:`~fastdl.ops.arithmetic`, :mod:`~fastdl.ops.elementwise`, :mod:`~fastdl.ops.special`,
:mod:`~fastdl.ops.reduction`, :mod:`~fastdl.ops.selection`, :mod:`~fastdl.ops.shaping`,
:mod:`~fastdl.ops.gathering`, :mod:`~fastdl.ops.conversion`, :mod:`~fastdl.ops.array_creation`,
:mod:`~fastdl.ops.products`, :mod:`~fastdl.ops.contraction`, :mod:`~fastdl.ops.linalg`,
:mod:`~fastdl.ops.activation`, :mod:`~fastdl.ops.softmax_family`, :mod:`~fastdl.ops.attention`,
:mod:`~fastdl.ops.convolution`, :mod:`~fastdl.ops.pooling`, :mod:`~fastdl.ops.recurrent`,
:mod:`~fastdl.ops.regularization` and :mod:`~fastdl.ops.normalization`, and
:mod:`~fastdl.ops.sampling` (the random draws, exported as :mod:`fastdl.keras.random`); no module
is named as a function, so that both stay reachable. Importing this package also binds the Tensor's
operators and methods (:mod:`~fastdl.ops.tensor_methods`).
"""
from fastdl.ops import tensor_methods  # noqa: F401  (binds the Tensor's operators and methods)
from fastdl.ops.activation import (elu, gelu, leaky_relu, relu, sigmoid, silu, softplus, step,
                                   tanh)
from fastdl.ops.arithmetic import add, divide, multiply, negative, power, subtract
from fastdl.ops.array_creation import (arange, eye, full, full_like, linspace, one_hot, ones,
                                       ones_like, zeros, zeros_like)
from fastdl.ops.attention import dot_product_attention
from fastdl.ops.contraction import dot, einsum, tensordot
from fastdl.ops.convolution import (conv1d, conv1d_transpose, conv2d, conv2d_max_pool2d,
                                     conv2d_transpose)
from fastdl.ops.conversion import cast, convert_to_numpy, convert_to_tensor
from fastdl.ops.elementwise import (abs, clip, exp, log, log1p, maximum, minimum, sign, sqrt,
                                    square, where)
from fastdl.ops.gathering import repeat, take, take_along_axis, tile
from fastdl.ops.linalg import norm
from fastdl.ops.normalization import batch_norm, layer_normalization, rms_normalization
from fastdl.ops.pooling import avg_pool2d, global_avg_pool2d, global_max_pool2d, max_pool2d
from fastdl.ops.products import linear, matmul
from fastdl.ops.recurrent import gru, lstm, rnn, simple_rnn
from fastdl.ops.reduction import cumsum, logsumexp, max, mean, min, prod, std, sum, var
from fastdl.ops.regularization import dropout
from fastdl.ops.selection import argmax, argmin, top_k
from fastdl.ops.shaping import (broadcast_to, concatenate, expand_dims, pad, permute, reshape,
                                shape, split, squeeze, stack, transpose, unsqueeze)
from fastdl.ops.softmax_family import log_softmax, softmax, softmax_cross_entropy
from fastdl.ops.special import erf

__all__ = [
    "add", "subtract", "multiply", "divide", "power", "negative",
    "exp", "log", "log1p", "sqrt", "square", "abs", "sign", "erf", "clip", "maximum", "minimum",
    "where",
    "sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "cumsum",
    "argmax", "argmin", "top_k",
    "shape", "reshape", "transpose", "permute", "squeeze", "unsqueeze", "expand_dims",
    "broadcast_to", "concatenate", "stack", "split", "pad",
    "take", "take_along_axis", "repeat", "tile",
    "cast", "convert_to_tensor", "convert_to_numpy",
    "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "eye", "arange", "linspace",
    "one_hot",
    "matmul", "linear", "dot", "tensordot", "einsum", "norm",
    "relu", "leaky_relu", "sigmoid", "tanh", "step", "gelu", "silu", "elu", "softplus",
    "softmax", "log_softmax", "softmax_cross_entropy",
    "conv2d", "conv1d", "conv2d_max_pool2d", "conv2d_transpose", "conv1d_transpose",
    "max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d",
    "dropout", "batch_norm", "layer_normalization", "rms_normalization",
    "dot_product_attention",
    "lstm", "gru", "simple_rnn", "rnn",
]
