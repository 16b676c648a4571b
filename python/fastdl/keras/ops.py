"""``keras.ops``: the operations of :mod:`fastdl.ops` that Keras 3 has, with its names,
argument names and defaults; differentiable, on CPU and GPU tensors.

fastdl.ops already is Keras's namespace, with one difference: ``gelu``, which in Keras's
``ops`` defaults to the tanh approximation but in ``keras.activations`` (and fastdl.ops) to the
exact form. The operations Keras spells otherwise (its pooling, convolution and normalization)
stay in fastdl.ops under fastdl's names.

>>> from fastdl.keras import ops
>>> x = ops.convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
>>> ops.sum(ops.square(x), axis=-1)
tensor([ 5., 25.])
"""
from typing import Any

from fastdl import ops as _ops
from fastdl.ops import (abs, add, arange, argmax, argmin, broadcast_to, cast, clip,  # noqa: F401
                        concatenate, convert_to_numpy, convert_to_tensor, cumsum, divide, dot,
                        dot_product_attention, einsum, elu, erf, exp, expand_dims, eye, full,
                        full_like, layer_normalization, leaky_relu, linspace, log, log1p,
                        log_softmax, logsumexp, matmul, max, maximum, mean, min, minimum, multiply,
                        negative, norm, one_hot, ones, ones_like, power, prod, relu, repeat,
                        reshape, rms_normalization, shape, sigmoid, sign, silu, softmax, softplus,
                        split, sqrt, square, squeeze, stack, std, subtract, sum, take,
                        take_along_axis, tanh, tensordot, tile, top_k, transpose, var, where, zeros,
                        zeros_like)
from fastdl.tensor import Tensor


def gelu(x: Any, approximate: bool = True) -> Tensor:
    """The Gaussian error linear unit, by default its tanh approximation
    ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))`` as Keras's ``ops.gelu``;
    ``approximate=False`` gives the exact ``x * Phi(x)`` (see :func:`fastdl.ops.gelu`).

    >>> from fastdl.keras import ops
    >>> ops.gelu(ops.convert_to_tensor([1.0], dtype="float64")).numpy().round(6)
    array([0.841192])
    >>> ops.gelu(ops.convert_to_tensor([1.0], dtype="float64"), approximate=False).numpy().round(6)
    array([0.841345])
    """
    return _ops.gelu(x, approximate=approximate)


__all__ = [
    "add", "subtract", "multiply", "divide", "power", "negative",
    "exp", "log", "log1p", "sqrt", "square", "abs", "sign", "erf", "clip", "maximum", "minimum",
    "where",
    "sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "cumsum",
    "argmax", "argmin", "top_k",
    "shape", "reshape", "transpose", "squeeze", "expand_dims", "broadcast_to", "concatenate",
    "stack", "split", "take", "take_along_axis", "repeat", "tile",
    "cast", "convert_to_tensor", "convert_to_numpy",
    "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "eye", "arange", "linspace",
    "one_hot",
    "matmul", "dot", "tensordot", "einsum", "norm",
    "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "elu", "softplus", "softmax",
    "log_softmax", "layer_normalization", "rms_normalization", "dot_product_attention",
]
