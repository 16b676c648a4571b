"""Layers that resize the steps of sequences and the rows and columns of images: upsampling
(UpSampling1D, UpSampling2D: nearest or bilinear), zero padding (ZeroPadding1D,
ZeroPadding2D) and cropping (Cropping1D, Cropping2D). Images are (batch, height, width,
channels) by default, (batch, channels, height, width) with
``data_format='channels_first'``; sequences are (batch, steps, features).

They are made of differentiable operations (repeat, pad, slicing, take), so gradients
reach their inputs. As in Keras they do not support masking: a mask that reaches them is
dropped, with a warning.

>>> import fastdl
>>> x = fastdl.ones(1, 3, 5, 2)
>>> fastdl.layers.UpSampling2D()(x).shape, fastdl.layers.ZeroPadding2D(((1, 0), 2))(x).shape
((1, 6, 10, 2), (1, 4, 9, 2))
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence

import numpy as np

from fastdl import ops
from fastdl.backend import to_device
from fastdl.layers.base import InputSpec, Layer
from fastdl.layers.core import _data_format
from fastdl.layers.signature import layer_label
from fastdl.tensor import Tensor

__all__ = ["UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D",
           "Cropping2D", "bilinear_upsample"]

Amounts = tuple  # (before, after)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _amounts(layer: str, name: str, value: Any, positive: bool = False) -> Amounts:
    """``value`` as two ints, (before, after) or (height, width): an int is both. ValueError
    naming ``layer`` for anything else, and for negative values (or zeros when
    ``positive``)."""
    pair = (value, value) if _is_int(value) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    least = 1 if positive else 0
    if len(pair) != 2 or not all(_is_int(v) and v >= least for v in pair):
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, each "
                         f"{'> 0' if positive else '>= 0'}; received {name}={value!r}")
    return int(pair[0]), int(pair[1])


def _amounts_2d(layer: str, name: str, value: Any) -> tuple:
    """((top, bottom), (left, right)) from an int (all four), a pair (height, width: both
    sides each) or a pair of pairs."""
    if _is_int(value):
        both = _amounts(layer, name, value)
        return both, both
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{layer}: {name} must be an int, a pair of ints (height, width) or "
                         f"a pair of pairs ((top, bottom), (left, right)), each >= 0; "
                         f"received {name}={value!r}")
    return (_amounts(layer, f"{name} of the height", value[0]),
            _amounts(layer, f"{name} of the width", value[1]))


def _shape_str(shape: Sequence) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


class _Spatial(Layer):
    """A layer over the spatial axes of images (rank 4) or sequences (rank 3), in its data
    format."""

    _rank = 4
    data_format = "channels_last"

    def _axes(self) -> tuple:
        """The spatial axes of the inputs."""
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self._rank - 2))

    def _rank_hint(self) -> str:
        if self._rank == 3:
            return " (batch, features, steps)" if self.data_format == "channels_first" \
                else " (batch, steps, features)"
        return " (batch, channels, height, width)" if self.data_format == "channels_first" \
            else " (batch, height, width, channels)"

    def _resized(self, input_shape: Any, sizes: Any) -> tuple:
        """``input_shape`` with its spatial axes replaced by ``sizes(axis index, size)``
        (None stays None)."""
        shape = list(input_shape)
        for i, axis in enumerate(self._axes()):
            shape[axis] = None if shape[axis] is None else sizes(i, shape[axis])
        return tuple(shape)


def bilinear_upsample(x: Any, factor: int, axis: int) -> Tensor:
    """``x`` resized ``factor`` times along ``axis`` by linear interpolation with half-pixel
    centers, as Keras's (and TensorFlow's) bilinear image resize: output ``o`` samples the
    input at ``(o + 0.5) / factor - 0.5``, clamped to the first and last values.
    Differentiable: two gathers weighted by arrays.

    >>> import fastdl
    >>> bilinear_upsample(fastdl.tensor([0.0, 1.0, 2.0]), 2, axis=0)
    tensor([0.  , 0.25, 0.75, 1.25, 1.75, 2.  ])
    """
    x = ops.convert_to_tensor(x)
    size = x.shape[axis]
    where = (np.arange(size * factor) + 0.5) / factor - 0.5
    below = np.floor(where)
    lerp = where - below
    lower = np.clip(below, 0, size - 1).astype(np.int64)
    upper = np.clip(np.ceil(where), 0, size - 1).astype(np.int64)
    weight_shape = (-1,) + (1,) * (x.ndim - axis - 1)
    lerp = to_device(lerp.astype(x.data.dtype).reshape(weight_shape), x.device)
    low = ops.take(x, lower, axis=axis)
    return low + (ops.take(x, upper, axis=axis) - low) * lerp


class UpSampling1D(Layer):
    """Repeats each step of a sequence ``size`` times: (batch, steps, features) in,
    (batch, steps * size, features) out.

    >>> import fastdl
    >>> fastdl.layers.UpSampling1D(size=2)(fastdl.tensor([[[1.0], [2.0]]])).numpy()[0, :, 0]
    array([1., 1., 2., 2.], dtype=float32)
    """

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not _is_int(size):
            raise TypeError(f"UpSampling1D: size must be an int; received {size!r} (of type "
                            f"{type(size).__name__})")
        if size <= 0:
            raise ValueError(f"UpSampling1D: size must be a positive integer; received "
                             f"size={size}")
        self.size = int(size)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def _rank_hint(self) -> str:
        return " (batch, steps, features)"

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


_RESIZES_ELSEWHERE = ("bicubic", "lanczos3", "lanczos5", "area")


class UpSampling2D(_Spatial):
    """Enlarges images ``size = (rows, columns)`` times (an int: both). ``interpolation``
    ``'nearest'`` repeats each pixel; ``'bilinear'`` interpolates between pixel centers as
    Keras's bilinear image resize does (half-pixel centers: the output pixel ``o`` samples
    the input at ``(o + 0.5) / size - 0.5``, the edges repeating the border pixels).

    >>> import fastdl
    >>> x = fastdl.tensor([[[[0.0], [1.0]], [[2.0], [3.0]]]])  # one 2x2 image
    >>> fastdl.layers.UpSampling2D(interpolation="bilinear")(x).numpy()[0, :, :, 0]
    array([[0.  , 0.25, 0.75, 1.  ],
           [0.5 , 0.75, 1.25, 1.5 ],
           [1.5 , 1.75, 2.25, 2.5 ],
           [2.  , 2.25, 2.75, 3.  ]], dtype=float32)
    """

    def __init__(self, size: Any = (2, 2), data_format: Optional[str] = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format("UpSampling2D", data_format)
        self.size = _amounts("UpSampling2D", "size", size, positive=True)
        self.interpolation = str(interpolation).lower()
        if self.interpolation in _RESIZES_ELSEWHERE:
            raise NotImplementedError(f"UpSampling2D: interpolation {interpolation!r} is not "
                                      f"available in fastdl; use 'nearest' or 'bilinear'")
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D: interpolation must be 'nearest' or 'bilinear'; "
                             f"received interpolation={interpolation!r}")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Tensor) -> Tensor:
        out = inputs
        # Columns first, then rows: the order of TensorFlow's bilinear kernel.
        for factor, axis in reversed(list(zip(self.size, self._axes()))):
            if factor == 1:
                continue
            if self.interpolation == "nearest":
                out = ops.repeat(out, factor, axis=axis)
            else:
                out = bilinear_upsample(out, factor, axis)
        return out

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self._resized(input_shape, lambda i, n: n * self.size[i])

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding1D(_Spatial):
    """Adds zeros before and after the steps of a sequence: ``padding`` is an int (both
    sides) or (before, after).

    >>> import fastdl
    >>> fastdl.layers.ZeroPadding1D((1, 2))(fastdl.ones(1, 2, 1)).numpy()[0, :, 0]
    array([0., 1., 1., 0., 0.], dtype=float32)
    """

    _rank = 3

    def __init__(self, padding: Any = 1, data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format("ZeroPadding1D", data_format)
        self.padding = _amounts("ZeroPadding1D", "padding", padding)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        widths = [(0, 0)] * 3
        widths[self._axes()[0]] = self.padding
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self._resized(input_shape, lambda i, n: n + sum(self.padding))

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class ZeroPadding2D(_Spatial):
    """Adds rows and columns of zeros around images: ``padding`` is an int (every side), a
    pair (rows above and below, columns left and right) or a pair of pairs
    ((top, bottom), (left, right)).

    >>> import fastdl
    >>> layer = fastdl.layers.ZeroPadding2D(padding=((1, 0), (0, 2)))
    >>> layer(fastdl.ones(1, 2, 2, 1)).numpy()[0, :, :, 0]
    array([[0., 0., 0., 0.],
           [1., 1., 0., 0.],
           [1., 1., 0., 0.]], dtype=float32)
    """

    def __init__(self, padding: Any = (1, 1), data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format("ZeroPadding2D", data_format)
        self.padding = _amounts_2d("ZeroPadding2D", "padding", padding)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Tensor) -> Tensor:
        widths = [(0, 0)] * 4
        for axis, amounts in zip(self._axes(), self.padding):
            widths[axis] = amounts
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return self._resized(input_shape, lambda i, n: n + sum(self.padding[i]))

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class _Cropping(_Spatial):
    """Cuts ``self.cropping`` (one (before, after) pair per spatial axis) off the inputs."""

    cropping: tuple = ()

    def _check(self, input_shape: Any) -> None:
        for axis, (before, after) in zip(self._axes(), self.cropping):
            size = input_shape[axis]
            if size is not None and before + after >= size:
                raise ValueError(
                    f"{layer_label(self)}: cropping {before} + {after} values off axis {axis} "
                    f"of size {size} leaves nothing; the cropping must be smaller than the "
                    f"input along it (cropping={self._cropping_argument()}, input shape "
                    f"{_shape_str(input_shape)})")

    def _cropping_argument(self) -> Any:
        return self.cropping

    def call(self, inputs: Tensor) -> Tensor:
        self._check(tuple(inputs.shape))
        index = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(self._axes(), self.cropping):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        self._check(tuple(input_shape))
        return self._resized(input_shape, lambda i, n: n - sum(self.cropping[i]))


class Cropping1D(_Cropping):
    """Cuts steps off the start and the end of a sequence: ``cropping`` is an int (both
    ends) or (start, end).

    >>> import numpy as np, fastdl
    >>> x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    >>> fastdl.layers.Cropping1D((1, 2))(x).numpy()[0, :, 0]
    array([1., 2.], dtype=float32)
    """

    _rank = 3

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = (_amounts("Cropping1D", "cropping", cropping),)
        self.input_spec = InputSpec(ndim=3)

    def _cropping_argument(self) -> Any:
        return self.cropping[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping[0]}


class Cropping2D(_Cropping):
    """Cuts rows and columns off the borders of images: ``cropping`` is an int (every
    side), a pair (rows off the top and the bottom, columns off the left and the right) or
    a pair of pairs ((top, bottom), (left, right)).

    >>> import numpy as np, fastdl
    >>> x = np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1)
    >>> fastdl.layers.Cropping2D(((1, 0), (1, 2)))(x).numpy()[0, :, :, 0]
    array([[5.],
           [9.]], dtype=float32)
    """

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format("Cropping2D", data_format)
        self.cropping = _amounts_2d("Cropping2D", "cropping", cropping)
        self.input_spec = InputSpec(ndim=4)

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}
