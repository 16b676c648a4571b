"""Images as NumPy arrays and as files: Keras's ``array_to_img``, ``img_to_array``,
``save_img`` and ``load_img``, and :func:`image_grid`, which tiles a batch of images into one
picture (sample grids of a GAN or a VAE, a look at a dataset).

Arrays hold one image as ``(height, width, channels)`` (``data_format="channels_last"``, the
default) or ``(channels, height, width)`` (``"channels_first"``), with 1 (grayscale), 3 (RGB)
or 4 (RGBA) channels. Files are read and written by Pillow, an optional dependency
(``pip install "fastdl[images]"``), imported only when a function needs it: this module,
:func:`img_to_array` on arrays and :func:`image_grid` work without it.

>>> import numpy as np
>>> from fastdl.utils import image_grid, img_to_array
>>> img_to_array(np.zeros((28, 28), dtype="uint8")).shape      # a grayscale image gets a channel
(28, 28, 1)
>>> image_grid(np.random.rand(16, 28, 28)).shape                # 4x4 tiles, 1-pixel lines
(117, 117, 1)
"""
from __future__ import annotations

import io
import math
import numbers
import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

if TYPE_CHECKING:  # Pillow is optional: only type checkers read this
    from PIL.Image import Image as PILImage

__all__ = ["array_to_img", "img_to_array", "save_img", "load_img", "image_grid"]

_DATA_FORMATS = ("channels_last", "channels_first")
_COLOR_MODES = ("grayscale", "rgb", "rgba")
# Pillow's resampling filters by the names load_img takes.
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pillow(function: str) -> Any:
    """Pillow's ``Image`` module, or an ImportError naming the extra that installs it."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(f"{function} needs Pillow, which is not installed: "
                          'pip install "fastdl[images]" (or pip install pillow)') from error
    return Image


def _data_format(function: str, data_format: Optional[str]) -> str:
    if data_format is None:
        return "channels_last"
    if isinstance(data_format, str) and data_format.lower() in _DATA_FORMATS:
        return data_format.lower()
    raise ValueError(f"{function}: data_format must be 'channels_last' or 'channels_first', "
                     f"received {data_format!r}")


def array_to_img(x: Any, data_format: Optional[str] = None, scale: bool = True,
                 dtype: Any = None) -> PILImage:
    """A Pillow image of one image array (needs Pillow).

    ``x`` (anything NumPy converts: an array, a list, a CPU Tensor) is converted to ``dtype``
    (``"float32"`` when None; the scaling is computed in it, or in float64 for an integer
    ``dtype``) and must have rank 3: ``(height, width, channels)``, or
    ``(channels, height, width)`` with ``data_format="channels_first"``. 4 channels give an
    ``"RGBA"`` image, 3 an ``"RGB"`` one, 1 a grayscale ``"L"`` one (8 bits per pixel), or an
    ``"I"`` one (32-bit integers) when its largest value is over 255.

    With ``scale=True`` the values are stretched to the full range: the smallest becomes 0 and
    the largest 255 (a constant image becomes 0). Pixels are then the values cut to integers
    (255.9 gives 255); values outside [0, 255] are clipped (except in ``"I"`` images).

    >>> import numpy as np
    >>> from fastdl.utils import array_to_img
    >>> image = array_to_img(np.random.rand(8, 6, 3))  # doctest: +SKIP
    >>> image.mode, image.size                         # doctest: +SKIP
    ('RGB', (6, 8))
    >>> gray = array_to_img(np.full((2, 2, 1), 7.9), scale=False)  # doctest: +SKIP
    >>> np.asarray(gray).tolist()                                   # doctest: +SKIP
    [[7, 7], [7, 7]]
    """
    data_format = _data_format("array_to_img", data_format)
    Image = _pillow("array_to_img")
    x = np.asarray(x, dtype="float32" if dtype is None else dtype)
    shape = x.shape
    if x.ndim != 3:
        layout = ("(channels, height, width)" if data_format == "channels_first"
                  else "(height, width, channels)")
        raise ValueError(f"array_to_img: expected one image of rank 3, {layout}; received an "
                         f"array of shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"array_to_img: expected 1 (grayscale), 3 (RGB) or 4 (RGBA) channels, "
                         f"received {channels} (array of shape {shape}, {data_format})")
    if x.size == 0:
        raise ValueError(f"array_to_img: the image is empty (shape {x.shape})")
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(np.ascontiguousarray(x[:, :, 0].astype(np.int32)))
        x = x[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(np.clip(x, 0, 255).astype(np.uint8)))


def img_to_array(img: Any, data_format: Optional[str] = None, dtype: Any = None) -> np.ndarray:
    """A new NumPy array of a Pillow image (or of any array-like image), as ``dtype``
    (``"float32"`` when None).

    The result has rank 3: ``(height, width, channels)``, or ``(channels, height, width)`` with
    ``data_format="channels_first"``; a grayscale image (rank 2) gets a channel axis of 1.
    Pixel values are kept as they are (0 to 255 for 8-bit images).

    >>> import numpy as np
    >>> from fastdl.utils import img_to_array
    >>> gray = np.array([[0, 128, 255]], dtype="uint8")     # what np.asarray gives of an "L" image
    >>> img_to_array(gray)
    array([[[  0.],
            [128.],
            [255.]]], dtype=float32)
    >>> img_to_array(np.zeros((4, 5, 3)), data_format="channels_first", dtype="uint8").shape
    (3, 4, 5)
    """
    data_format = _data_format("img_to_array", data_format)
    x = np.array(img, dtype="float32" if dtype is None else dtype)
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[..., None]
    if x.ndim == 3:
        return x.transpose(2, 0, 1).copy() if data_format == "channels_first" else x
    raise ValueError(f"img_to_array: expected an image of rank 2 (height, width) or 3 (height, "
                     f"width, channels); received shape {x.shape}")


def save_img(path: Union[str, os.PathLike, Any], x: Any, data_format: Optional[str] = None,
             file_format: Optional[str] = None, scale: bool = True, **kwargs: Any) -> None:
    """Writes an image array to a file (a path or a binary file object); needs Pillow.

    The array becomes an image as :func:`array_to_img` makes it (``scale=True`` stretches its
    values to 0..255: pass ``scale=False`` for pixels that are already 0..255, such as the
    grids of :func:`image_grid`). The format is ``file_format`` (``"png"``, ``"jpeg"``...), or
    else the one Pillow registers for the path's extension (``.jpg`` is JPEG, ``.tif`` TIFF);
    a file object without a name needs ``file_format``. JPEG has no transparency: an RGBA
    image is saved as RGB, with a warning.
    ``kwargs`` go to Pillow's ``Image.save`` (``quality=95`` for JPEG, ...).

    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastdl.utils import load_img, save_img
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "gradient.png")
    >>> save_img(path, np.linspace(0, 1, 12).reshape(3, 4, 1))   # doctest: +SKIP
    >>> load_img(path, color_mode="grayscale").size                # doctest: +SKIP
    (4, 3)
    >>> folder.cleanup()
    """
    data_format = _data_format("save_img", data_format)
    Image = _pillow("save_img")
    if file_format is None and isinstance(path, (str, os.PathLike)):
        extension = os.path.splitext(os.fspath(path))[1].lower()
        file_format = Image.registered_extensions().get(extension)
        if file_format is None:
            raise ValueError(f"save_img: cannot tell the file format of {os.fspath(path)!r} "
                             f"(extension {extension!r}): pass file_format (such as 'png')")
    if file_format is not None and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format is not None and file_format.lower() == "jpeg":
        warnings.warn("save_img: JPEG has no alpha channel; the RGBA image is saved as RGB",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def _target_size(target_size: Any) -> Optional[tuple[int, int]]:
    if target_size is None:
        return None
    if (isinstance(target_size, Sequence) and len(target_size) == 2
            and all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                    for n in target_size)):
        return int(target_size[0]), int(target_size[1])
    raise ValueError("load_img: target_size must be None or (height, width), two positive "
                     f"ints; received {target_size!r}")


def _crop_box(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """The centred (left, upper, right, lower) box of an image of ``size`` = (width, height)
    with the aspect ratio of ``target`` = (width, height), as large as fits."""
    width, height = size
    target_width, target_height = target
    crop_height = max(1, min(height, width * target_height // target_width))
    crop_width = max(1, min(width, height * target_width // target_height))
    left = (width - crop_width) // 2
    upper = (height - crop_height) // 2
    return left, upper, left + crop_width, upper + crop_height


def load_img(path: Union[str, bytes, os.PathLike, Any], color_mode: str = "rgb",
             target_size: Optional[tuple[int, int]] = None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False) -> PILImage:
    """Reads an image file (a path or a binary file object) into a Pillow image; needs Pillow.

    ``color_mode`` is ``"rgb"`` (the default), ``"rgba"`` or ``"grayscale"``: the image is
    converted to that mode, except that a grayscale image of 16 or 32 bits per pixel (Pillow's
    ``"I;16"`` and ``"I"``) stays as it is. ``target_size=(height, width)`` resizes it with
    Pillow's filter named by ``interpolation``: ``"nearest"``, ``"bilinear"``, ``"bicubic"``,
    ``"hamming"``, ``"box"`` or ``"lanczos"``. With ``keep_aspect_ratio=True`` the largest
    centred region with the target's aspect ratio is cut out first, so nothing is stretched.
    :func:`img_to_array` turns the result into an array.

    >>> import io
    >>> import numpy as np
    >>> from fastdl.utils import img_to_array, load_img, save_img
    >>> png = io.BytesIO()
    >>> save_img(png, np.random.rand(60, 80, 3), file_format="png")    # doctest: +SKIP
    >>> image = load_img(png, target_size=(30, 30), keep_aspect_ratio=True)  # doctest: +SKIP
    >>> img_to_array(image).shape                                       # doctest: +SKIP
    (30, 30, 3)
    """
    if color_mode not in _COLOR_MODES:
        raise ValueError(f"load_img: color_mode must be 'grayscale', 'rgb' or 'rgba', "
                         f"received {color_mode!r}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"load_img: interpolation must be one of {', '.join(_INTERPOLATIONS)}; "
                         f"received {interpolation!r}")
    size = _target_size(target_size)
    Image = _pillow("load_img")
    if isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as stream:  # read whole, so that no file stays open
            img = Image.open(io.BytesIO(stream.read()))
    elif hasattr(path, "read"):
        img = Image.open(path)
    else:
        raise TypeError("load_img: path must be a path or a binary file object, received "
                        f"{type(path).__name__}")
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    else:
        mode = color_mode.upper()
        if img.mode != mode:
            img = img.convert(mode)
    if size is not None:
        width_height = (size[1], size[0])
        if img.size != width_height:
            resampling = getattr(Image, "Resampling", Image)  # Pillow < 9.1: Image.NEAREST...
            resample = getattr(resampling, interpolation.upper())
            box = _crop_box(img.size, width_height) if keep_aspect_ratio else None
            img = img.resize(width_height, resample, box=box)
    return img


def _pixel_range(function: str, a: np.ndarray, value_range: Any) -> tuple[float, float]:
    if value_range is None:
        if a.dtype.kind in "iu":
            return 0.0, 255.0
        return (0.0, 1.0) if a.size == 0 or np.nanmax(a) <= 1 else (0.0, 255.0)
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        low = high = math.nan
    if not low < high:
        raise ValueError(f"{function}: value_range must be (low, high) with low < high, "
                         f"received {value_range!r}")
    return low, high


def _to_pixels(function: str, a: np.ndarray, value_range: Any) -> np.ndarray:
    """uint8 pixels of ``a``: its ``value_range`` mapped linearly onto 0..255, rounded, with
    values outside the range clipped and NaN as 0."""
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{function}: images must hold numbers, received dtype {a.dtype}")
    if a.dtype == np.bool_:
        a = a.astype(np.float32)
    low, high = _pixel_range(function, a, value_range)
    if a.dtype == np.uint8 and (low, high) == (0.0, 255.0):
        return a
    scaled = (a.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(np.nan_to_num(np.rint(scaled), nan=0.0), 0, 255).astype(np.uint8)


def _grid_shape(function: str, count: int, rows: Optional[int], cols: Optional[int]
                ) -> tuple[int, int]:
    for name, value in (("rows", rows), ("cols", cols)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, numbers.Integral) or value < 1):
            raise ValueError(f"{function}: {name} must be a positive int or None, received "
                             f"{value!r}")
    if rows is None and cols is None:
        cols = math.ceil(math.sqrt(count))
    if rows is None:
        rows = math.ceil(count / cols)
    elif cols is None:
        cols = math.ceil(count / rows)
    if rows * cols < count:
        raise ValueError(f"{function}: a grid of rows={rows} x cols={cols} has room for "
                         f"{rows * cols} images, received {count}")
    return int(rows), int(cols)


def image_grid(images: Any, rows: Optional[int] = None, cols: Optional[int] = None,
               padding: int = 1, pad_value: Any = 0, value_range: Optional[Sequence[float]] = None,
               data_format: Optional[str] = None) -> np.ndarray:
    """One uint8 image of a batch of images laid out in a grid.

    ``images`` is ``(N, H, W)`` or ``(N, H, W, C)`` (``(N, C, H, W)`` with
    ``data_format="channels_first"``). Image ``i`` goes to row ``i // cols``, column
    ``i % cols`` (filling the rows left to right, top to bottom); ``padding`` pixels of
    ``pad_value`` (0..255: one number, or one per channel) separate the tiles and surround the
    grid, and fill the cells left empty. The result has shape
    ``(rows * H + (rows + 1) * padding, cols * W + (cols + 1) * padding, C)``, with ``C = 1``
    for ``(N, H, W)``: tile ``(r, c)`` has its top-left pixel at
    ``(padding + r * (H + padding), padding + c * (W + padding))``.

    Without ``rows`` and ``cols`` the grid is ``cols = ceil(sqrt(N))`` wide; given one, the other
    is the fewest that hold ``N`` images; given both, they must hold ``N``.

    ``value_range=(low, high)`` is the range of the values, mapped linearly onto 0..255 (rounded;
    values outside it are clipped, NaN is 0): ``(-1, 1)`` for a ``tanh`` generator. When None,
    integer images are taken as 0..255 and floating ones as 0..1, or as 0..255 when a value is
    over 1. Save a grid with ``save_img(path, grid, scale=False)``.

    >>> import numpy as np
    >>> from fastdl.utils import image_grid
    >>> batch = np.zeros((3, 2, 2))      # three black 2x2 images, values in [0, 1]
    >>> batch[1] = 1.0                   # the second one white
    >>> image_grid(batch, padding=1, pad_value=128)[..., 0]   # 2 columns (ceil(sqrt(3)))
    array([[128, 128, 128, 128, 128, 128, 128],
           [128,   0,   0, 128, 255, 255, 128],
           [128,   0,   0, 128, 255, 255, 128],
           [128, 128, 128, 128, 128, 128, 128],
           [128,   0,   0, 128, 128, 128, 128],
           [128,   0,   0, 128, 128, 128, 128],
           [128, 128, 128, 128, 128, 128, 128]], dtype=uint8)
    >>> image_grid(np.random.rand(8, 28, 28, 3), rows=2, padding=2).shape
    (62, 122, 3)
    """
    function = "image_grid"
    data_format = _data_format(function, data_format)
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[..., None]
    elif a.ndim == 4 and data_format == "channels_first":
        a = a.transpose(0, 2, 3, 1)
    elif a.ndim != 4:
        layout = "(N, C, H, W)" if data_format == "channels_first" else "(N, H, W, C)"
        raise ValueError(f"{function}: images must have shape (N, H, W) or {layout}; received "
                         f"shape {a.shape}")
    count, height, width, channels = a.shape
    if count == 0:
        raise ValueError(f"{function}: no images to lay out (shape {np.shape(images)})")
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
        raise ValueError(f"{function}: padding must be an int >= 0, received {padding!r}")
    fill = np.asarray(pad_value, dtype=np.float64)
    if (fill.ndim > 1 or fill.size not in (1, channels) or fill.size == 0
            or not np.all((fill >= 0) & (fill <= 255))):
        raise ValueError(f"{function}: pad_value must be a number in 0..255 or one per channel "
                         f"({channels}); received {pad_value!r}")
    rows, cols = _grid_shape(function, count, rows, cols)
    pixels = _to_pixels(function, a, value_range)
    step_y, step_x = height + padding, width + padding
    grid = np.empty((rows * step_y + padding, cols * step_x + padding, channels), np.uint8)
    grid[...] = np.rint(fill).astype(np.uint8)
    for index in range(count):
        top = padding + (index // cols) * step_y
        left = padding + (index % cols) * step_x
        grid[top:top + height, left:left + width] = pixels[index]
    return grid
