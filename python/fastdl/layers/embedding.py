"""Embedding: integer token ids in, a learned vector per id out.

The lookup gathers rows of the ``embeddings`` table (``fastdl.ops.gathering.TakeRows``); its
gradient adds each output row back into the row of its id, so that a batch of ids updates
only the rows it used. With ``mask_zero=True`` id 0 is padding: the output carries the mask
``ids != 0`` for the layers after it (GlobalAveragePooling1D averages over the other steps).

>>> import numpy as np, fastdl
>>> layer = fastdl.layers.Embedding(10, 3, mask_zero=True)
>>> out = layer(np.array([[4, 2, 0]]))
>>> out.shape, out._keras_mask
((1, 3, 3), tensor([[ True,  True, False]]))
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional

import numpy as np

from fastdl.backend import is_gpu_array
from fastdl.layers.base import Layer, callable_regularizer
from fastdl.layers.signature import layer_label
from fastdl.layers.symbolic import SymbolicTensor
from fastdl.ops.gathering import TakeRows
from fastdl.tensor import Tensor

__all__ = ["Embedding"]


class Embedding(Layer):
    """Turns non-negative integer ids, each below ``input_dim``, into vectors of size
    ``output_dim``: row ``id`` of the ``embeddings`` weight, of shape (input_dim,
    output_dim). Inputs of any shape (batch, steps) give outputs of that shape plus
    ``output_dim``.

    The ids must be integers (any integer dtype; booleans count as 0 and 1): a floating
    input is refused with a ValueError, at the call, or when the layer is called on a
    symbolic input of a floating dtype (declare token inputs with
    ``keras.Input(shape, dtype="int32")``). Ids out of ``[0, input_dim)`` are refused too.

    ``embeddings_initializer`` is Keras's ``'uniform'`` (between -0.05 and 0.05) by default.
    ``embeddings_regularizer`` may be a callable of the weight returning a scalar loss,
    added to the layer's losses at each call. ``weights`` sets the table at once
    (building the layer). ``mask_zero=True`` makes id 0 the padding id: the output's mask
    is ``ids != 0``, so ``input_dim`` must count it. Keras's ``embeddings_constraint``,
    LoRA (``lora_rank``, ``lora_alpha``) and ``quantization_config`` are not available:
    setting them raises NotImplementedError.

    >>> import numpy as np, fastdl
    >>> layer = fastdl.layers.Embedding(1000, 64)
    >>> layer(np.random.randint(1000, size=(32, 10))).shape
    (32, 10, 64)
    >>> [(w.name, w.shape) for w in layer.weights]
    [('embeddings', (1000, 64))]
    """

    _integer_inputs = True

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None,
                 mask_zero: bool = False, weights: Any = None, lora_rank: Optional[int] = None,
                 lora_alpha: Optional[float] = None, quantization_config: Any = None,
                 **kwargs: Any) -> None:
        for argument, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
                    or value <= 0):
                raise ValueError(f"Embedding: {argument} must be a positive integer; received "
                                 f"{argument}={value!r} (of type {type(value).__name__})")
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Embedding: the argument input_length is deprecated (Keras 3 "
                          "ignores it); remove it", UserWarning, stacklevel=2)
        unavailable = {"embeddings_constraint": embeddings_constraint, "lora_rank": lora_rank,
                       "lora_alpha": lora_alpha, "quantization_config": quantization_config}
        for argument, value in unavailable.items():
            if value is not None:
                raise NotImplementedError(f"Embedding: {argument} is not available in fastdl; "
                                          f"received {argument}={value!r} (leave it None)")
        callable_regularizer("Embedding", "embeddings_regularizer", embeddings_regularizer)
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer = embeddings_regularizer
        self.embeddings_constraint = None
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build()
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1
                             else [weights])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        inputs = args[0] if args else kwargs.get("inputs")
        dtype = getattr(inputs, "dtype", None)
        if dtype is not None and np.dtype(dtype).kind not in "iub":
            raise ValueError(f"{layer_label(self)} expects integer token ids (an integer "
                             f"dtype such as int32); received an input of dtype "
                             f"{np.dtype(dtype).name} and shape {_shape(inputs)}")
        return super().__call__(*args, **kwargs)

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          name="embeddings")

    def call(self, inputs: Tensor) -> Tensor:
        ids = inputs.data
        if ids.dtype.kind == "b":
            ids = ids.astype(np.int32)
        if ids.size:
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.input_dim:
                raise ValueError(f"{layer_label(self)} expects token ids in [0, "
                                 f"{self.input_dim}) (input_dim={self.input_dim}); received "
                                 f"ids from {low} to {high} in an input of shape "
                                 f"{tuple(ids.shape)}")
        if self.embeddings_regularizer is not None:
            self.add_loss(self.embeddings_regularizer(self.embeddings))
        return TakeRows.apply(self.embeddings, indices=ids)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """``inputs != 0`` with ``mask_zero=True``, else None."""
        if not self.mask_zero:
            return None
        ids = inputs.data if isinstance(inputs, Tensor) else inputs
        return Tensor(ids != 0)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": self.embeddings_initializer,
                "mask_zero": self.mask_zero}


def _shape(value: Any) -> tuple:
    if isinstance(value, (Tensor, SymbolicTensor, np.ndarray)) or is_gpu_array(value):
        return tuple(value.shape)
    return np.shape(value)

