"""Keras masks: boolean Tensors riding on the Tensors they describe (``t._keras_mask``, True
where a step holds data), made by layers that override ``compute_mask``, passed to the calls
that take them, and carried to the outputs of layers that support masking.

A mask describes the leading axes of its tensor: a ``(batch, steps)`` mask for a
``(batch, steps, features)`` sequence. Layers that change those axes (Flatten, pooling) do not
support masking: they drop the mask, with a warning.

>>> import fastdl
>>> class NonZero(fastdl.layers.Layer):
...     def call(self, x):
...         return x
...     def compute_mask(self, x, mask=None):
...         return x.numpy().any(axis=-1)
>>> x = fastdl.tensor([[[1.0], [0.0], [2.0]]])
>>> y = fastdl.layers.Dense(2)(NonZero()(x))
>>> y._keras_mask
tensor([[ True, False,  True]])
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from fastdl.backend import is_gpu_array
from fastdl.layers.nested import flatten, map_structure
from fastdl.layers.signature import CallSignature, layer_label
from fastdl.tensor import Tensor

__all__ = ["mask_of", "masks_of", "mask_arguments", "set_output_masks", "warn_dropped_mask",
           "as_mask"]


def mask_of(value: Any) -> Any:
    """The mask a value carries (None for values that are not Tensors)."""
    return value._keras_mask if isinstance(value, Tensor) else None


def masks_of(structure: Any) -> Any:
    """The masks of a tensor, or of each tensor of a structure (same structure)."""
    return map_structure(mask_of, structure)


def as_mask(value: Any) -> Any:
    """A mask as a boolean Tensor (arrays and lists are converted)."""
    if value is None or isinstance(value, Tensor):
        return value
    if is_gpu_array(value):
        return Tensor(value.astype(bool, copy=False))
    return Tensor(np.asarray(value, dtype=bool))


def mask_arguments(signature: CallSignature, tensors: dict, given: dict) -> dict:
    """The masks to pass to call, read from its tensor arguments: ``mask`` (the masks of the
    only tensor argument) when call takes one, else ``<arg>_mask`` for each tensor argument
    whose mask call takes; arguments given explicitly are left as they are."""
    if len(tensors) == 1:
        wanted = {"mask": next(iter(tensors.values()))} if signature.takes_mask else {}
    else:
        wanted = {f"{name}_mask": value for name, value in tensors.items()
                  if f"{name}_mask" in signature.names}
    found = {}
    for key, value in wanted.items():
        masks = masks_of(value)
        # Without any mask, call's default (None) stands.
        if given.get(key) is None and any(m is not None for m in flatten(masks)):
            found[key] = masks
    return found


def set_output_masks(layer: Any, inputs: Any, outputs: Any, previous_mask: Any) -> None:
    """Attaches ``layer.compute_mask(inputs, previous_mask)`` to the outputs that have no
    mask yet (all of them carrying one means the layer set them itself)."""
    flat_outputs = flatten(outputs)
    if all(isinstance(t, Tensor) and t._keras_mask is not None for t in flat_outputs):
        return
    masks = layer.compute_mask(inputs, previous_mask)
    if masks is None:
        return
    for tensor, mask in zip(flat_outputs, flatten(masks)):
        if isinstance(tensor, Tensor) and tensor._keras_mask is None and mask is not None:
            tensor._keras_mask = as_mask(mask)


def warn_dropped_mask(layer: Any) -> None:
    """The warning a layer that does not support masking gives when a mask reaches it."""
    warnings.warn(f"{layer_label(layer)} received an input that carries a mask, but the layer "
                  f"does not support masking (supports_masking is False): its outputs carry "
                  f"no mask made from it, and the layers after it do not see the mask",
                  UserWarning, stacklevel=4)
