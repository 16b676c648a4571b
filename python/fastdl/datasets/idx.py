"""Reading and writing IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the
elements in C order, big-endian. The magic number is two zero bytes, a type code (0x08
for uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number
of dimensions: MNIST's images are 0x00000803 (uint8, 3 dimensions), its labels 0x00000801.
Files may be gzip-compressed; that is recognized from their first two bytes, not their name.

>>> import os, tempfile, numpy as np
>>> from fastdl.datasets import idx
>>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
>>> idx.write_idx(path, np.array([7, 2, 1], np.uint8))
>>> idx.read_idx(path)
array([7, 2, 1], dtype=uint8)
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from typing import Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

#: IDX type code -> element type as stored (big-endian).
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: Magic numbers of MNIST-style files: uint8 images (N, rows, cols) and uint8 labels (N,).
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

_GZIP_SIGNATURE = b"\x1f\x8b"


def read_bytes(path: PathLike) -> bytes:
    """The content of ``path``, decompressed when it is a gzip file.

    Raises ValueError, naming the file, when the gzip stream is truncated or corrupt.
    """
    with open(path, "rb") as stream:
        data = stream.read()
    if not data.startswith(_GZIP_SIGNATURE):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as error:
        raise ValueError(f"{os.fspath(path)}: corrupt or truncated gzip data ({error})") from None


def parse_idx(data: bytes, name: str = "<bytes>",
              expected_magic: int | None = None) -> np.ndarray:
    """Decodes the IDX file held in ``data`` into a new, writable array in native byte order.

    ``name`` is used in error messages. With ``expected_magic`` the magic number must be that
    one (e.g. :data:`IMAGES_MAGIC`). Raises ValueError when the magic number is not an IDX one,
    or when the length of ``data`` does not match the dimensions in its header.

    >>> parse_idx(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]))
    array([[1, 2, 3],
           [4, 5, 6]], dtype=uint8)
    """
    if len(data) < 4:
        raise ValueError(f"{name}: {len(data)} bytes, too short for an IDX header")
    (magic,) = struct.unpack(">I", data[:4])
    zeros, code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zeros != 0 or code not in TYPE_CODES:
        raise ValueError(f"{name}: bad magic number 0x{magic:08X}, not an IDX file")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"{name}: magic number 0x{magic:08X}, expected 0x{expected_magic:08X} "
            f"({_describe(expected_magic)})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name}: truncated header ({len(data)} bytes, {ndim} dimensions "
                         f"need {header})")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = TYPE_CODES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "trailing bytes"
        raise ValueError(f"{name}: {what}: {len(data)} bytes, the header's shape "
                         f"{tuple(shape)} of {dtype.name} needs {expected}")
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    # A copy, writable, in NumPy's own native dtype (np.dtype("B") is uint8's object; a
    # byte-swapped '>u1' made native would be another object of the same type).
    return array.astype(np.dtype(dtype.char))


def read_idx(path: PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Reads an IDX file, raw or gzip-compressed (see :func:`parse_idx`).

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "images-idx3-ubyte")
    >>> write_idx(path, np.zeros((2, 28, 28), np.uint8))
    >>> read_idx(path, expected_magic=IMAGES_MAGIC).shape
    (2, 28, 28)
    """
    return parse_idx(read_bytes(path), os.fspath(path), expected_magic)


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array`` (of one of the types in :data:`TYPE_CODES`)."""
    array = np.asarray(array)
    for code, dtype in TYPE_CODES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            break
    else:
        raise TypeError(f"IDX files cannot hold {array.dtype}")
    if array.ndim > 255:
        raise ValueError("IDX files hold at most 255 dimensions")
    header = struct.pack(f">I{array.ndim}I", (code << 8) | array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype).tobytes()


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Writes ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx2-ubyte")
    >>> write_idx(path, np.eye(2, dtype=np.float32))
    >>> read_idx(path)
    array([[1., 0.],
           [0., 1.]], dtype=float32)
    """
    data = encode_idx(array)
    if os.fspath(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as stream:
        stream.write(data)


def _describe(magic: int) -> str:
    dtype = TYPE_CODES.get((magic >> 8) & 0xFF)
    return f"{dtype.name if dtype is not None else '?'}, {magic & 0xFF} dimensions"
