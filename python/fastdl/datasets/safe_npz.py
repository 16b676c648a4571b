"""Reading ``.npz`` archives whose arrays may hold Python objects, without running pickles.

Datasets of token sequences (IMDB's reviews) store each split as a NumPy object array of
lists, which ``.npy`` can only keep as a pickle, and ``np.load(allow_pickle=True)`` would
run whatever a tampered file's pickle asks for. :func:`load_npz` reads numeric arrays with
pickles disabled and unpickles object arrays with only the few NumPy names that rebuilding
an array needs; lists, tuples, numbers and strings are built in by the pickle format
itself, so they need no name at all. Anything else is refused with
:class:`RefusedPickleError`.

>>> import os, tempfile, numpy as np
>>> from fastdl.datasets import safe_npz
>>> ragged = np.empty(2, dtype=object)
>>> ragged[0], ragged[1] = [1, 14, 22], [1, 194]
>>> path = os.path.join(tempfile.mkdtemp(), "tokens.npz")
>>> np.savez(path, x=ragged, y=np.array([1, 0]))
>>> arrays = safe_npz.load_npz(path)
>>> arrays["x"][0], arrays["y"]
([1, 14, 22], array([1, 0]))
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
import zlib
from typing import Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

#: The (module, name) pairs an object array's pickle may refer to: the array and dtype
#: types, the function that rebuilds an array, and the one that rebuilds a NumPy scalar
#: (items saved as np.int32 rather than int); under the module names of NumPy 1 and 2.
ALLOWED_GLOBALS = frozenset(
    (module, name)
    for module, names in (("numpy", ("ndarray", "dtype")),
                          ("numpy.core.multiarray", ("_reconstruct", "scalar")),
                          ("numpy._core.multiarray", ("_reconstruct", "scalar")))
    for name in names)


class RefusedPickleError(pickle.UnpicklingError):
    """An object array's pickle refers to something other than NumPy's array machinery."""


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names in :data:`ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in ALLOWED_GLOBALS:
            raise RefusedPickleError(
                f"load_npz: refusing to load {module}.{name} from an object array (only NumPy "
                "arrays of plain Python values are read)")
        return super().find_class(module, name)


def read_npy(stream: io.BytesIO) -> np.ndarray:
    """One ``.npy`` array from ``stream``: numeric ones as NumPy reads them with pickles
    disabled, object ones through the restricted unpickler."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version in ((2, 0), (3, 0)):
        # Version 3 differs from 2 only in the header's text encoding (UTF-8, not latin-1),
        # which is plain ASCII in practice; the layout up to the data is the same.
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    array = _ArraysOnlyUnpickler(stream).load()
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise ValueError(f"the pickled object is {type(array).__name__}, not the array of "
                         f"shape {tuple(shape)} its header announces")
    return array


def load_npz(path: PathLike) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` archive at ``path``, by name (the member without ``.npy``).

    Raises ValueError naming the file when it is not a readable archive (corrupt, truncated,
    not a zip file), and :class:`RefusedPickleError` when an object array refers to anything
    but NumPy's array machinery.
    """
    name = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    data = archive.read(member)
                    arrays[member[:-len(".npy")]] = read_npy(io.BytesIO(data))
    except (FileNotFoundError, PermissionError):
        raise
    except RefusedPickleError as error:
        raise RefusedPickleError(f"{name}: {error}") from None
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            zipfile.BadZipFile, zlib.error, pickle.UnpicklingError) as error:
        raise ValueError(f"{name}: not a readable .npz archive: {error}") from None
    return arrays
