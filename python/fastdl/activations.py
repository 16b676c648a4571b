"""Activations by name, as layers take them (``Dense(64, activation='relu')``).

``get`` returns a function of a Tensor. relu, sigmoid and tanh are also fused into the Dense and
Conv kernels' epilogue: layers ask :func:`fused_name` whether theirs can be.

>>> import fastdl
>>> fastdl.activations.get("relu")(fastdl.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""
from __future__ import annotations

from typing import Callable, Optional, Union

from fastdl import ops
from fastdl.tensor import Tensor

__all__ = ["get", "serialize", "fused_name", "linear", "relu", "sigmoid", "tanh", "softmax",
           "log_softmax", "leaky_relu", "gelu", "step"]


def linear(x: Tensor) -> Tensor:
    """The identity."""
    return x


relu = ops.relu
sigmoid = ops.sigmoid
tanh = ops.tanh
leaky_relu = ops.leaky_relu
gelu = ops.gelu
step = ops.step
softmax = ops.softmax
log_softmax = ops.log_softmax

_BY_NAME: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "leaky_relu": leaky_relu, "gelu": gelu, "step": step,
}

# The activations the matmul and convolution kernels apply in their epilogue.
_FUSED = ("relu", "sigmoid", "tanh")

ActivationLike = Union[str, Callable[[Tensor], Tensor], None]


def get(identifier: ActivationLike) -> Callable[[Tensor], Tensor]:
    """The activation named ``identifier`` (None means linear), or the callable itself."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"unknown activation {identifier!r}; known: "
                             f"{', '.join(sorted(_BY_NAME))}, or pass a callable")
        return _BY_NAME[identifier]
    if callable(identifier):
        return identifier
    raise TypeError(f"an activation must be a name or a callable, got {identifier!r}")


def serialize(fn: Callable) -> str:
    """The name of a built-in activation, or the callable's ``__name__``."""
    for name, known in _BY_NAME.items():
        if fn is known:
            return name
    return getattr(fn, "__name__", repr(fn))


def fused_name(fn: Callable) -> Optional[str]:
    """The kernel-epilogue name of ``fn`` if a kernel can apply it, else None."""
    name = serialize(fn)
    return name if name in _FUSED and fn is _BY_NAME[name] else None
