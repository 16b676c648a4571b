"""The public operations. Each accepts Tensors (and returns a Tensor that records the graph
when an input requires grad); those that also exist as kernels accept NumPy arrays and then
return arrays, computed by the same kernels.

>>> import numpy as np, fastdl
>>> fastdl.relu(np.array([-1.0, 2.0]))
array([0., 2.])
>>> fastdl.relu(fastdl.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence

import numpy as np

from fastdl import ops
from fastdl.backend import cpu, is_gpu_array
from fastdl.tensor import Tensor


def _tensor_or_array(array_fn: Callable, tensor_fn: Callable) -> Callable:
    """One public function: ``tensor_fn`` when a positional argument is a Tensor, else the
    CPU array kernel ``array_fn`` (whose docstring it carries). GPU arrays go through
    ``tensor_fn`` too, wrapped and unwrapped, so that they reach the CUDA kernels."""

    @functools.wraps(array_fn)
    def fn(*args, **kwargs):
        for a in args:
            if a.__class__ is Tensor:
                return tensor_fn(*args, **kwargs)
        if args and is_gpu_array(args[0]):
            wrapped = [Tensor(a) if is_gpu_array(a) else a for a in args]
            return tensor_fn(*wrapped, **kwargs).data
        return array_fn(*args, **kwargs)

    return fn


def _linear(x, w, b=None, activation: Optional[str] = None):
    return ops.Linear.apply(x, w, b, activation)


matmul = _tensor_or_array(cpu.matmul, lambda a, b: ops.MatMul.apply(a, b))
linear = _tensor_or_array(cpu.linear, _linear)
relu = _tensor_or_array(cpu.relu, ops.relu)
leaky_relu = _tensor_or_array(cpu.leaky_relu, ops.leaky_relu)
sigmoid = _tensor_or_array(cpu.sigmoid, ops.sigmoid)
tanh = _tensor_or_array(cpu.tanh, ops.tanh)
step = _tensor_or_array(cpu.step, ops.step)
gelu = _tensor_or_array(cpu.gelu, ops.gelu)
softmax = _tensor_or_array(cpu.softmax, ops.softmax)
log_softmax = _tensor_or_array(cpu.log_softmax, ops.log_softmax)
softmax_cross_entropy = _tensor_or_array(cpu.softmax_cross_entropy, ops.softmax_cross_entropy)
conv2d = _tensor_or_array(cpu.conv2d, ops.conv2d)
conv1d = _tensor_or_array(cpu.conv1d, ops.conv1d)
max_pool2d = _tensor_or_array(cpu.max_pool2d, ops.max_pool2d)
avg_pool2d = _tensor_or_array(cpu.avg_pool2d, ops.avg_pool2d)
global_avg_pool2d = _tensor_or_array(cpu.global_avg_pool2d, ops.global_avg_pool2d)
global_max_pool2d = _tensor_or_array(cpu.global_max_pool2d, ops.global_max_pool2d)


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def exp(x) -> Tensor:
    """e**x elementwise."""
    return ops.Exp.apply(_tensor(x))


def log(x) -> Tensor:
    """Natural logarithm elementwise."""
    return ops.Log.apply(_tensor(x))


def sqrt(x) -> Tensor:
    """Square root elementwise."""
    return ops.Sqrt.apply(_tensor(x))


def abs(x) -> Tensor:  # noqa: A001 (the NumPy name)
    """Absolute value elementwise; its gradient at 0 is 0."""
    return ops.Abs.apply(_tensor(x))


def clip(x, min=None, max=None) -> Tensor:  # noqa: A002
    """Values limited to [min, max]; gradient 1 inside, boundaries included."""
    return ops.Clip.apply(_tensor(x), lo=min, hi=max)


def maximum(a, b) -> Tensor:
    """Elementwise maximum; where a == b each gets half the gradient."""
    return ops.Maximum.apply(a, b)


def minimum(a, b) -> Tensor:
    """Elementwise minimum; where a == b each gets half the gradient."""
    return ops.Minimum.apply(a, b)


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (NumPy broadcasting)."""
    if isinstance(condition, Tensor):
        condition = condition.data
    return ops.Where.apply(condition, a, b)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _tensor(x).sum(axis, keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    return _tensor(x).mean(axis, keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over axes; tied elements share the gradient equally."""
    return _tensor(x).max(axis, keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over axes; tied elements share the gradient equally."""
    return _tensor(x).min(axis, keepdims)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    return _tensor(x).var(axis, keepdims, ddof)


def reshape(x, shape: Sequence[int]) -> Tensor:
    return _tensor(x).reshape(tuple(shape))


def transpose(x, axes: Optional[Sequence[int]] = None) -> Tensor:
    return ops.Transpose.apply(_tensor(x), axes=None if axes is None else tuple(axes))


def permute(x, axes: Sequence[int]) -> Tensor:
    return ops.Transpose.apply(_tensor(x), axes=tuple(axes))


def squeeze(x, axis=None) -> Tensor:
    return ops.squeeze(_tensor(x), axis)


def unsqueeze(x, axis: int) -> Tensor:
    return ops.unsqueeze(_tensor(x), axis)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Joins tensors along an existing axis."""
    return ops.concatenate(tensors, axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Joins tensors of one shape along a new axis."""
    return ops.stack(tensors, axis)


def pad(x, pad_width, value: float = 0.0) -> Tensor:
    """Pads with a constant; ``pad_width`` as in ``np.pad`` (int, (before, after) or one pair
    per axis)."""
    return ops.Pad.apply(_tensor(x), pad_width=pad_width, value=value)


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout (see :func:`fastdl.ops.dropout`)."""
    return ops.dropout(_tensor(x), p, training)
