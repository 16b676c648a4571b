"""Helpers Keras users reach for: ``to_categorical``, ``set_random_seed`` and
``pad_sequences``, and the image helpers of :mod:`fastdl.images` (``array_to_img``,
``img_to_array``, ``save_img``, ``load_img``, ``image_grid``)."""
from __future__ import annotations

import numbers
import random
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from fastdl import random as _random
from fastdl.images import array_to_img, image_grid, img_to_array, load_img, save_img

__all__ = ["to_categorical", "set_random_seed", "pad_sequences", "array_to_img", "img_to_array",
           "save_img", "load_img", "image_grid"]


def to_categorical(y: Any, num_classes: Optional[int] = None, dtype: Any = "float32"
                   ) -> np.ndarray:
    """One-hot rows for integer labels (a trailing axis of 1 is dropped, as Keras does).

    >>> import fastdl
    >>> fastdl.utils.to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.dtype.kind == "f":
        if not np.array_equal(labels, np.round(labels)):
            raise ValueError("to_categorical: labels must be integers")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iu":
        raise TypeError(f"to_categorical: labels must be integers, got dtype {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: labels must be non-negative, got {labels.min()}")
    top = int(labels.max()) + 1 if labels.size else 0
    num_classes = top if num_classes is None else int(num_classes)
    if top > num_classes:
        raise ValueError(f"to_categorical: label {top - 1} does not fit num_classes="
                         f"{num_classes}")
    out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def set_random_seed(seed: int) -> None:
    """Seeds fastdl (initializers, dropout, shuffling, and the global SeedGenerator of
    ``fastdl.keras.random``'s operations called without a seed), NumPy's global generator and
    Python's ``random``, so that two runs on the CPU give bitwise identical results.

    >>> import fastdl
    >>> from fastdl.keras import random
    >>> fastdl.utils.set_random_seed(1); a = fastdl.rand(2); b = random.normal((2,))
    >>> fastdl.utils.set_random_seed(1); c = fastdl.rand(2); d = random.normal((2,))
    >>> bool((a.numpy() == c.numpy()).all()), bool((b.numpy() == d.numpy()).all())
    (True, True)
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"set_random_seed: seed must be an int, got {seed!r} "
                         f"({type(seed).__name__})")
    _random.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


_SIDES = ("pre", "post")


def pad_sequences(sequences: Sequence[Any], maxlen: Optional[int] = None, dtype: Any = "int32",
                  padding: str = "pre", truncating: str = "pre", value: Any = 0.0
                  ) -> np.ndarray:
    """Pads (and truncates) sequences of different lengths into one array, as Keras does.

    ``sequences`` is a list (or any sized collection) of sequences; each sequence is a list,
    tuple or array whose items are numbers or, for sequences of vectors, equally shaped
    arrays. The result has shape ``(len(sequences), maxlen) + step_shape``, where ``maxlen``
    defaults to the length of the longest sequence and ``step_shape`` is the shape of one
    item of the first non-empty sequence (``()`` for numbers).

    A sequence shorter than ``maxlen`` is filled with ``value`` before its items
    (``padding="pre"``) or after them (``"post"``); a longer one loses its first items
    (``truncating="pre"``) or its last ones (``"post"``). Items are converted to ``dtype``
    as NumPy converts them (floats to ``"int32"`` are truncated). A string ``value`` needs a
    string or object ``dtype``.

    >>> from fastdl.utils import pad_sequences
    >>> reviews = [[5, 8], [3], [9, 4, 7, 2]]
    >>> pad_sequences(reviews)
    array([[0, 0, 5, 8],
           [0, 0, 0, 3],
           [9, 4, 7, 2]], dtype=int32)
    >>> pad_sequences(reviews, maxlen=3, padding="post", truncating="post", value=-1)
    array([[ 5,  8, -1],
           [ 3, -1, -1],
           [ 9,  4,  7]], dtype=int32)
    >>> pad_sequences([[0.5], [1.5, 2.5]], dtype="float32", value=9)
    array([[9. , 0.5],
           [1.5, 2.5]], dtype=float32)
    """
    for name, side in (("padding", padding), ("truncating", truncating)):
        if not isinstance(side, str) or side not in _SIDES:
            raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post', received "
                             f"{side!r}")
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: sequences must be a list (or other sized collection) "
                         f"of sequences, received {type(sequences).__name__}")
    try:
        out_dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"pad_sequences: dtype {dtype!r} is not a NumPy dtype") from None
    if isinstance(value, str) and out_dtype.kind not in "OSU":
        raise ValueError(f"pad_sequences: a string value ({value!r}) needs a string or object "
                         f"dtype (dtype=object for strings of any length), received dtype "
                         f"{out_dtype}")
    lengths, step_shape = _lengths_and_step_shape(sequences)
    maxlen = _check_maxlen(maxlen, lengths)
    out = np.full((len(lengths), maxlen) + step_shape, value, dtype=out_dtype)
    if maxlen == 0:
        return out
    for position, (sequence, length) in enumerate(zip(sequences, lengths)):
        if not length:
            continue
        kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
        kept = np.asarray(kept, dtype=out_dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(f"pad_sequences: the items of the sequence at position {position} "
                             f"have shape {kept.shape[1:]}, expected {step_shape} (the shape "
                             "of the items of the first non-empty sequence)")
        if padding == "post":
            out[position, :len(kept)] = kept
        else:
            out[position, maxlen - len(kept):] = kept
    return out


def _lengths_and_step_shape(sequences: Sequence[Any]) -> tuple[list[int], tuple[int, ...]]:
    """The length of each sequence, and the shape of an item of the first non-empty one."""
    lengths: list[int] = []
    step_shape: Optional[tuple[int, ...]] = None
    for position, sequence in enumerate(sequences):
        try:
            length = len(sequence)
        except TypeError:
            raise ValueError(f"pad_sequences: sequences must hold sequences, but the item at "
                             f"position {position} is {sequence!r} "
                             f"({type(sequence).__name__}), which has no length") from None
        lengths.append(length)
        if step_shape is None and length:
            try:
                step_shape = np.asarray(sequence).shape[1:]
            except ValueError as error:
                raise ValueError(f"pad_sequences: the sequence at position {position} is not "
                                 f"an array of equally shaped items: {error}") from None
    return lengths, step_shape or ()


def _check_maxlen(maxlen: Any, lengths: list[int]) -> int:
    if maxlen is None:
        if not lengths:
            raise ValueError("pad_sequences: no sequences to take maxlen from; pass maxlen to "
                             "get an array of shape (0, maxlen)")
        return max(lengths)
    if isinstance(maxlen, bool) or not isinstance(maxlen, numbers.Integral):
        raise TypeError(f"pad_sequences: maxlen must be an int or None, received {maxlen!r} "
                        f"({type(maxlen).__name__})")
    if maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be >= 0, received {maxlen}")
    return int(maxlen)
