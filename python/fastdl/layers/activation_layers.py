"""Activation layers with arguments of their own: LeakyReLU, ReLU (with a ceiling, a slope
below a threshold), ELU, PReLU (a learned slope) and Softmax (over a mask). They run on
fastdl's activation and softmax kernels, keep the shape of their inputs and pass their
inputs' masks on.

>>> import fastdl
>>> x = fastdl.tensor([-2.0, 0.5, 8.0])
>>> fastdl.layers.LeakyReLU()(x), fastdl.layers.ReLU(max_value=6.0)(x)
(tensor([-0.6,  0.5,  8. ]), tensor([0. , 0.5, 6. ]))
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional, Sequence, Union

import numpy as np

from fastdl import ops
from fastdl.backend import is_gpu_array
from fastdl.layers.base import InputSpec, Layer, callable_regularizer
from fastdl.layers.signature import layer_label
from fastdl.layers.symbolic import SymbolicTensor
from fastdl.tensor import Tensor

__all__ = ["LeakyReLU", "ReLU", "ELU", "PReLU", "Softmax"]


def _non_negative(layer: str, name: str, value: Any) -> float:
    """``value`` as a float; ValueError naming ``layer`` when it is None or negative."""
    if value is None or not isinstance(value, numbers.Real) or isinstance(value, bool) \
            or value < 0:
        raise ValueError(f"{layer}: {name} must be a number >= 0; received {name}={value!r}")
    return float(value)


class _Elementwise(Layer):
    """A layer applying a function to each value: weightless, so built from the start, and
    transparent to masks."""

    supports_masking = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)


class LeakyReLU(_Elementwise):
    """``x`` where ``x > 0``, else ``negative_slope * x`` (0.3 by default, as in Keras). The
    deprecated keyword ``alpha`` is still accepted: it takes the place of
    ``negative_slope`` (even when both are given) with a warning.

    >>> import fastdl
    >>> fastdl.layers.LeakyReLU(negative_slope=0.5)(fastdl.tensor([-10.0, -5.0, 0.0, 5.0]))
    tensor([-5. , -2.5,  0. ,  5. ])
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: the argument alpha is deprecated; use negative_slope "
                          "instead", UserWarning, stacklevel=2)
        negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        super().__init__(**kwargs)
        self.negative_slope = negative_slope

    def call(self, inputs: Tensor) -> Tensor:
        return ops.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ReLU(_Elementwise):
    """The rectifier with Keras's three options: ``max_value`` (a ceiling, None for none),
    ``negative_slope`` (the slope below the threshold) and ``threshold``::

        f(x) = max_value                         for x >= max_value
        f(x) = x                                 for threshold < x < max_value
        f(x) = negative_slope * (x - threshold)  otherwise

    (``x == threshold`` gives 0.) With the defaults it is ``max(x, 0)``.

    >>> import fastdl
    >>> x = fastdl.tensor([-10.0, -5.0, 0.0, 5.0, 10.0])
    >>> fastdl.layers.ReLU(max_value=10, negative_slope=0.5)(x)
    tensor([-5. , -2.5,  0. ,  5. , 10. ])
    >>> fastdl.layers.ReLU(threshold=5.0)(x)
    tensor([ 0.,  0.,  0.,  0., 10.])
    """

    def __init__(self, max_value: Optional[float] = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        max_value = None if max_value is None else \
            _non_negative("ReLU", "max_value", max_value)
        negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        threshold = _non_negative("ReLU", "threshold", threshold)
        super().__init__(**kwargs)
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs: Tensor) -> Tensor:
        slope, threshold = self.negative_slope, self.threshold
        if slope and self.max_value is None and not threshold:
            return ops.leaky_relu(inputs, negative_slope=slope)
        if threshold:
            out = ops.where(inputs.data > threshold, inputs, 0.0)
        else:
            out = ops.relu(inputs)
        if self.max_value is not None:
            out = ops.clip(out, 0.0, self.max_value)
        if slope:
            below = ops.relu(threshold - inputs) if threshold else ops.relu(-inputs)
            out = out - slope * below
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class ELU(_Elementwise):
    """The exponential linear unit: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    >>> import fastdl
    >>> layer = fastdl.layers.ELU(alpha=2.0, dtype="float64")
    >>> layer(fastdl.tensor([-1.0, 0.0, 3.0], dtype="float64")).numpy().round(6)
    array([-1.264241,  0.      ,  3.      ])
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs: Tensor) -> Tensor:
        return ops.elu(inputs, alpha=self.alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """A leaky rectifier whose slopes are learned: ``x`` where ``x > 0``, else
    ``alpha * x``, computed as Keras does, ``relu(x) - alpha * relu(-x)``. The weight
    ``alpha`` has the shape of one sample (the input's shape without the batch axis), with
    size 1 along each of ``shared_axes`` (axes of the input, from 1), whose values then share
    one slope: ``shared_axes=[1, 2]`` gives each channel of an image one slope.

    ``alpha_initializer`` is ``'zeros'`` by default (a plain relu at first).
    ``alpha_regularizer`` may be a callable of the weight returning a scalar loss, added to
    the layer's losses at each call. Keras's ``alpha_constraint`` is not available: setting
    it raises NotImplementedError.

    >>> import fastdl
    >>> layer = fastdl.layers.PReLU(alpha_initializer="ones", shared_axes=[1, 2])
    >>> layer(fastdl.ones(2, 5, 5, 3)).shape, [(w.name, w.shape) for w in layer.weights]
    ((2, 5, 5, 3), [('alpha', (1, 1, 3))])
    >>> fastdl.layers.PReLU(alpha_initializer=fastdl.initializers.Constant(0.25))(
    ...     fastdl.tensor([[-4.0, 4.0]])).numpy()
    array([[-1.,  4.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None,
                 shared_axes: Optional[Union[int, Sequence[int]]] = None,
                 **kwargs: Any) -> None:
        if alpha_constraint is not None:
            raise NotImplementedError(f"PReLU: alpha_constraint is not available in fastdl; "
                                      f"received alpha_constraint={alpha_constraint!r} (leave "
                                      f"it None)")
        callable_regularizer("PReLU", "alpha_regularizer", alpha_regularizer)
        super().__init__(**kwargs)
        self.alpha_initializer = alpha_initializer
        self.alpha_regularizer = alpha_regularizer
        self.alpha_constraint = None
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) \
                else [shared_axes]
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                       for a in axes):
                raise ValueError(f"PReLU: shared_axes must be an int or a list of ints (axes "
                                 f"of the input, from 1); received shared_axes={shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape: Any) -> None:
        rank = len(input_shape)
        shared = self.shared_axes or []
        if any(not 1 <= a < rank for a in shared):
            raise ValueError(f"{layer_label(self)}: shared_axes must be axes of the input "
                             f"after the batch axis, from 1 to {rank - 1}; received "
                             f"shared_axes={self.shared_axes} for an input of shape "
                             f"{tuple(input_shape)}")
        shape = tuple(1 if axis in shared else input_shape[axis] for axis in range(1, rank))
        if None in shape:
            raise ValueError(f"{layer_label(self)}: the sizes of the axes that do not share "
                             f"the slope must be known to build alpha; received input shape "
                             f"{tuple(input_shape)} with shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(shape=shape, initializer=self.alpha_initializer,
                                     name="alpha")
        self.input_spec = InputSpec(ndim=rank, axes={axis: input_shape[axis]
                                                     for axis in range(1, rank)
                                                     if axis not in shared})

    def call(self, inputs: Tensor) -> Tensor:
        if self.alpha_regularizer is not None:
            self.add_loss(self.alpha_regularizer(self.alpha))
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha_initializer": self.alpha_initializer,
                "shared_axes": self.shared_axes}


def _large_negative(dtype: np.dtype) -> float:
    """What masked logits become: low enough to vanish in the softmax, finite in the dtype."""
    return -3e4 if dtype == np.float16 else -1e9


class Softmax(_Elementwise):
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int, or a list of axes normalized
    together).

    ``mask`` (True, or a number above 0.5, = keep) broadcasts against the inputs from
    their last axis: masked positions take a large negative value (-1e9) before the
    softmax, so that they get no weight, and 0 after it (a row masked entirely gives
    zeros). The mask of the input is passed as ``mask`` when it has one, and it goes on to
    the output.

    >>> import numpy as np, fastdl
    >>> layer = fastdl.layers.Softmax()
    >>> layer(np.array([1.0, 2.0, 1.0], np.float32)).numpy().round(5)
    array([0.21194, 0.57612, 0.21194], dtype=float32)
    >>> x = np.array([[1.0, 2.0, 3.0]], np.float32)
    >>> layer(x, mask=np.array([[True, False, True]])).numpy().round(5)
    array([[0.1192, 0.    , 0.8808]], dtype=float32)
    """

    def __init__(self, axis: Union[int, Sequence[int]] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)

    def __call__(self, *args: Any, mask: Any = None, **kwargs: Any) -> Any:
        # A mask of numbers keeps the values above 0.5 (as Keras reads it), so it becomes a
        # boolean one here, before the call makes any mask boolean by its truth.
        if mask is not None and not isinstance(mask, SymbolicTensor):
            data = mask.data if isinstance(mask, Tensor) else mask
            if is_gpu_array(data) or isinstance(data, np.ndarray):
                kept = data if data.dtype == bool else data > 0.5
            else:
                values = np.asarray(data)
                kept = values if values.dtype == bool else values > 0.5
            mask = Tensor(kept)
        return super().__call__(*args, mask=mask, **kwargs)

    def call(self, inputs: Tensor, mask: Any = None) -> Tensor:
        kept = None
        if mask is not None:
            kept = self._kept(inputs, mask)
            inputs = ops.where(kept, inputs, _large_negative(inputs.data.dtype))
        axis = self.axis
        if isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]
        outputs = ops.softmax(inputs, axis=tuple(axis) if isinstance(axis, list) else axis)
        return outputs if kept is None else ops.where(kept, outputs, 0.0)

    def _kept(self, inputs: Tensor, mask: Any) -> Any:
        """The mask as a boolean array, checked to broadcast against the inputs."""
        data = mask.data if isinstance(mask, Tensor) else mask
        shape, mask_shape = tuple(inputs.shape), tuple(data.shape)
        if len(mask_shape) > len(shape) or any(
                m not in (1, i) for m, i in zip(mask_shape[::-1], shape[::-1])):
            raise ValueError(f"{layer_label(self)}: the mask must broadcast to the inputs, "
                             f"each of its axes (aligned from the last) of size 1 or that of "
                             f"the inputs; received inputs of shape {shape} and a mask of "
                             f"shape {mask_shape}")
        return data if data.dtype == bool else data > 0.5

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
