"""The Tensor's operators and methods that are operations, bound to the class here, where the
operations are defined (:mod:`fastdl.tensor` imports nothing above the array backends).

The forward operators (``+ - * / ** @``, unary ``-``, ``abs``) are the Functions' ``apply``
themselves: no wrapper frame per call.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fastdl.backend import parse_device
from fastdl.ops.activation import relu, sigmoid, tanh
from fastdl.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub
from fastdl.ops.conversion import Cast, ToDevice
from fastdl.ops.elementwise import Abs, Clip, Exp, Log, Sqrt
from fastdl.ops.products import MatMul
from fastdl.ops.reduction import Max, Mean, Min, Sum, Var
from fastdl.ops.shaping import GetItem, Reshape, Transpose, as_index, squeeze, unsqueeze
from fastdl.ops.softmax_family import log_softmax, softmax
from fastdl.tensor import Tensor


def _axes(args: tuple) -> tuple:
    """``t.f(1, 0)`` and ``t.f((1, 0))`` alike."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _radd(self, other):
    return Add.apply(other, self)


def _rsub(self, other):
    return Sub.apply(other, self)


def _rmul(self, other):
    return Mul.apply(other, self)


def _rtruediv(self, other):
    return Div.apply(other, self)


def _rpow(self, other):
    return Pow.apply(other, self)


def _rmatmul(self, other):
    return MatMul.apply(other, self)


def _pos(self):
    return self


def _getitem(self, index):
    return GetItem.apply(self, index=as_index(index))


def _iter(self):
    """The sub-tensors along the first axis, each differentiable (``for row in t``)."""
    if self.ndim == 0:
        raise TypeError("iter: a 0-d tensor cannot be iterated over")
    return (GetItem.apply(self, index=i) for i in range(len(self)))


def _transposed(self) -> Tensor:
    """The axes reversed (``t.T``)."""
    return Transpose.apply(self, axes=None)


def to(self, device: str) -> Tensor:
    """This tensor on ``device`` (``'cpu'`` or ``'cuda'``): itself when it is there already,
    else a copy that gradients flow back through.

    >>> import fastdl
    >>> fastdl.ones(2).to("cpu").device
    'cpu'
    """
    device = parse_device("to", device)
    if device == self.device:
        return self
    return ToDevice.apply(self, device=device)


def cuda(self) -> Tensor:
    """``self.to('cuda')``."""
    return self.to("cuda")


def cpu(self) -> Tensor:
    """``self.to('cpu')``."""
    return self.to("cpu")


def astype(self, dtype: Any) -> Tensor:
    """A copy with another dtype; differentiable between floating dtypes.

    >>> import fastdl
    >>> fastdl.ones(2).astype("float64").dtype
    dtype('float64')
    """
    return Cast.apply(self, dtype=np.dtype(dtype))


def float(self) -> Tensor:  # noqa: A001 (PyTorch's name)
    """``self.astype(float32)``."""
    return self.astype(np.float32)


def double(self) -> Tensor:
    """``self.astype(float64)``."""
    return self.astype(np.float64)


def clip(self, min=None, max=None) -> Tensor:  # noqa: A002
    """See :func:`fastdl.clip`."""
    return Clip.apply(self, lo=min, hi=max)


def sum(self, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    """See :func:`fastdl.sum`."""
    return Sum.apply(self, axis=axis, keepdims=keepdims)


def mean(self, axis=None, keepdims=False) -> Tensor:
    """See :func:`fastdl.mean`."""
    return Mean.apply(self, axis=axis, keepdims=keepdims)


def max(self, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    """See :func:`fastdl.max`."""
    return Max.apply(self, axis=axis, keepdims=keepdims)


def min(self, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    """See :func:`fastdl.min`."""
    return Min.apply(self, axis=axis, keepdims=keepdims)


def var(self, axis=None, keepdims=False, ddof=0) -> Tensor:
    """See :func:`fastdl.var`."""
    return Var.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)


def reshape(self, *shape) -> Tensor:
    """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; see :func:`fastdl.reshape`."""
    return Reshape.apply(self, shape=_axes(shape))


def transpose(self, *axes) -> Tensor:
    """``t.transpose()`` reverses the axes; ``t.transpose(1, 0, 2)`` permutes them."""
    axes = _axes(axes)
    return Transpose.apply(self, axes=axes if axes else None)


def permute(self, *axes) -> Tensor:
    """``t.permute(2, 0, 1)``: the axes in that order."""
    return Transpose.apply(self, axes=_axes(axes))


def flatten(self) -> Tensor:
    """The values as one axis."""
    return Reshape.apply(self, shape=(-1,))


_METHODS = {
    "__add__": Add.apply, "__sub__": Sub.apply, "__mul__": Mul.apply, "__truediv__": Div.apply,
    "__pow__": Pow.apply, "__matmul__": MatMul.apply, "__neg__": Neg.apply,
    "__abs__": Abs.apply, "abs": Abs.apply, "exp": Exp.apply, "log": Log.apply,
    "sqrt": Sqrt.apply, "__radd__": _radd, "__rsub__": _rsub, "__rmul__": _rmul,
    "__rtruediv__": _rtruediv, "__rpow__": _rpow, "__rmatmul__": _rmatmul, "__pos__": _pos,
    "__getitem__": _getitem, "__iter__": _iter, "T": property(_transposed), "to": to,
    "cuda": cuda, "cpu": cpu,
    "astype": astype, "float": float, "double": double, "clip": clip, "sum": sum, "mean": mean,
    "max": max, "min": min, "var": var, "reshape": reshape, "transpose": transpose,
    "permute": permute, "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten,
    "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax,
}

for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
