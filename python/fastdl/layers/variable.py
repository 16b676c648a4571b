"""The Variable a layer's weights live in, and the count of changes to which weights layers
hold or train."""
from __future__ import annotations

from typing import Any

import numpy as np

from fastdl.backend import array_module, is_gpu_array, to_device
from fastdl.tensor import Tensor

__all__ = ["Variable", "weights_changed", "weights_generation"]

# Counts the changes to which weights any layer holds or trains (a weight added, a layer
# tracked or dropped, a trainable flag set). A layer's list of trainable weights is kept for
# as long as the count stays the same: custom training steps read it at every batch.
_generation = [0]


def weights_generation() -> int:
    """The number of changes so far to which weights layers hold or train."""
    return _generation[0]


def weights_changed() -> None:
    """Says that some layer's weights, sublayers or trainable flags changed."""
    _generation[0] += 1


class Variable(Tensor):
    """A weight: a Tensor with a name, updated in place by optimizers.

    >>> import fastdl
    >>> v = fastdl.layers.Variable(fastdl.ones(2).numpy(), name="bias")
    >>> v.assign([3.0, 4.0]); v
    <Variable 'bias' shape=(2,) dtype=float32, numpy=[3. 4.]>
    >>> v.assign_add(fastdl.ones(2)); v.numpy()
    array([4., 5.], dtype=float32)
    """

    __slots__ = ("name", "_trainable")

    def __init__(self, data: np.ndarray, name: str, trainable: bool = True) -> None:
        data = data if is_gpu_array(data) else np.require(data, requirements="C")  # 0-d too
        trainable = bool(trainable) and data.dtype.kind == "f"  # no gradient for integers
        super().__init__(data, requires_grad=trainable)
        self.name = name
        self._trainable = trainable

    @property
    def trainable(self) -> bool:
        """Whether the variable is among its layer's ``trainable_weights``."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        weights_changed()

    def assign(self, value: Any) -> None:
        """Copies ``value`` (from any device) into the variable (same shape), keeping the
        same array."""
        value = value.data if isinstance(value, Tensor) else value
        value = value if is_gpu_array(value) else np.asarray(value)
        if value.shape != self.data.shape:
            raise ValueError(f"variable {self.name!r}: cannot assign a value of shape "
                             f"{value.shape}; expected {self.data.shape}")
        xp = array_module(self.data)
        xp.copyto(self.data, to_device(value, self.device), casting="same_kind")

    def assign_add(self, value: Any) -> None:
        """Adds ``value`` to the variable in place (a running total's update)."""
        self.assign(self.data + _array_on(value, self.device))

    def assign_sub(self, value: Any) -> None:
        """Subtracts ``value`` from the variable in place."""
        self.assign(self.data - _array_on(value, self.device))

    def __repr__(self) -> str:
        return (f"<Variable {self.name!r} shape={self.data.shape} dtype={self.data.dtype}, "
                f"numpy={self.data}>")


def _array_on(value: Any, device: str) -> Any:
    """``value`` (a Tensor, an array or a number) as an array on ``device``."""
    value = value.data if isinstance(value, Tensor) else value
    return to_device(value if is_gpu_array(value) else np.asarray(value), device)
