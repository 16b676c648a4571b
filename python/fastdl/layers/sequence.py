"""Layers over sequences of shape (batch, steps, ...): Masking (steps of padding become a
mask), RepeatVector (a vector repeated into a sequence) and TimeDistributed (a layer applied
to every step).

>>> import numpy as np, fastdl
>>> x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], np.float32)
>>> fastdl.layers.Masking(mask_value=0.0)(x)._keras_mask
tensor([[ True, False,  True]])
"""
from __future__ import annotations

import numbers
from typing import Any, Optional

from fastdl import ops
from fastdl.layers.base import InputSpec, Layer
from fastdl.layers.nested import map_shape_structure, map_structure
from fastdl.layers.signature import layer_label
from fastdl.layers.wrapper import Wrapper
from fastdl.tensor import Tensor

__all__ = ["Masking", "RepeatVector", "TimeDistributed"]


class Masking(Layer):
    """Masks the steps of a sequence whose features all equal ``mask_value``: those steps
    become zeros, and the output's mask (True = keep) is False there, for the layers after
    it that support masking (a step is kept when any of its values differs).

    >>> import numpy as np, fastdl
    >>> x = np.array([[[1.0, -1.0], [-1.0, -1.0]]], np.float32)
    >>> out = fastdl.layers.Masking(mask_value=-1.0)(x)
    >>> out.numpy(), out._keras_mask
    (array([[[ 1., -1.],
            [ 0.,  0.]]], dtype=float32), tensor([[ True, False]]))
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.built = True

    def _kept(self, inputs: Tensor) -> Any:
        """Whether each step holds data: an array with the inputs' last axis reduced to 1."""
        return (inputs.data != self.mask_value).any(axis=-1, keepdims=True)

    def call(self, inputs: Tensor) -> Tensor:
        kept = self._kept(inputs)
        outputs = ops.where(kept, inputs, 0.0)
        outputs._keras_mask = Tensor(kept[..., 0])
        return outputs

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The steps that hold a value other than ``mask_value``; the mask given is left out,
        as in Keras."""
        return Tensor(self._kept(inputs)[..., 0])

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}


class RepeatVector(Layer):
    """Repeats each sample, a vector of (features,), ``n`` times: (batch, features) in,
    (batch, n, features) out.

    >>> import fastdl
    >>> fastdl.layers.RepeatVector(3)(fastdl.tensor([[1.0, 2.0]]))
    tensor([[[1., 2.],
             [1., 2.],
             [1., 2.]]])
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(n, numbers.Integral) or isinstance(n, bool):
            raise TypeError(f"RepeatVector: n must be an integer; received {n!r} (of type "
                            f"{type(n).__name__})")
        if n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive integer; received n={n}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: Tensor) -> Tensor:
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.n, input_shape[1])

    def _rank_hint(self) -> str:
        return " (batch, features)"

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every step of a sequence: inputs of shape (batch, steps, ...),
    each step (batch, ...) going through the same layer with the same weights (the layer's,
    which are this layer's only weights). The steps are folded into the batch, so the layer
    runs once on (batch * steps, ...) and its output is unfolded to (batch, steps, ...).

    The training flag reaches the layer; a mask of shape (batch, steps) is passed to it,
    folded the same way, when its call takes one, and the output carries the input's mask.

    >>> import fastdl
    >>> layer = fastdl.layers.TimeDistributed(fastdl.layers.Dense(8))
    >>> layer(fastdl.ones(32, 10, 16)).shape, [w.shape for w in layer.weights]
    ((32, 10, 8), [(16, 8), (8,)])
    >>> video = fastdl.layers.TimeDistributed(fastdl.layers.Conv2D(4, 3))
    >>> video.compute_output_shape((None, 5, 28, 28, 3))
    (None, 5, 26, 26, 4)
    """

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        self.input_spec = InputSpec(min_ndim=3)

    def _step_shape(self, input_shape: Any) -> tuple:
        """The shape the layer sees: the input's without the steps axis."""
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(f"{layer_label(self)} expects inputs of at least 3 dimensions "
                             f"(batch, steps, ...); received input shape {input_shape}")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape: Any) -> None:
        self.build_wrapped(self._step_shape(tuple(input_shape)))

    def call(self, inputs: Tensor, training: Optional[bool] = None, mask: Any = None) -> Any:
        batch, steps = inputs.shape[:2]
        kwargs = {}
        if mask is not None and self.layer._call_signature.takes_mask:
            kwargs["mask"] = self._folded_mask(mask, inputs.shape)
        outputs = self.layer(inputs.reshape((batch * steps,) + inputs.shape[2:]),
                             training=training, **kwargs)

        def unfold(output: Any) -> Any:
            if not isinstance(output, Tensor):
                return output
            if output.ndim == 0 or output.shape[0] != batch * steps:
                raise ValueError(f"{layer_label(self)}: the wrapped layer "
                                 f"{self.layer.name!r} returned an output of shape "
                                 f"{tuple(output.shape)} for {batch * steps} steps of shape "
                                 f"{(batch * steps,) + tuple(inputs.shape[2:])}; expected "
                                 f"one output per step along its first axis")
            return output.reshape((batch, steps) + output.shape[1:])

        return map_structure(unfold, outputs)

    def _folded_mask(self, mask: Tensor, input_shape: tuple) -> Tensor:
        if mask.ndim < 2 or tuple(mask.shape[:2]) != tuple(input_shape[:2]):
            raise ValueError(f"{layer_label(self)}: the mask must have the shape of the "
                             f"inputs' first two axes (batch, steps) = "
                             f"{tuple(input_shape[:2])}; received a mask of shape "
                             f"{tuple(mask.shape)}")
        return Tensor(mask.data.reshape((-1,) + mask.shape[2:]))

    def compute_output_shape(self, input_shape: Any) -> Any:
        step_output = self.layer.compute_output_shape(self._step_shape(tuple(input_shape)))
        return map_shape_structure(
            lambda shape: (shape[0], input_shape[1], *shape[1:]), step_output)

