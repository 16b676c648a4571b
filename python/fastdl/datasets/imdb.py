"""IMDB: 50,000 movie reviews labelled by sentiment, as ``keras.datasets.imdb`` returns them.

25,000 reviews for training and 25,000 for testing (Maas et al., 2011), each a sequence of
word indices; a word's index is its frequency rank in the training reviews (1 is the most
frequent word), and the label is 1 for a positive review, 0 for a negative one.

:func:`load_data` reads ``imdb.npz`` and :func:`get_word_index` ``imdb_word_index.json`` from
the cache (``$FASTDL_DATA/imdb`` or ``~/.fastdl/datasets/imdb``; ``path=`` names another
file there, or any file when absolute), downloading them there first from :data:`MIRRORS`
when they are absent, each checked against the hash pinned in :data:`DATA_FILE` and
:data:`WORD_INDEX_FILE`. ``FASTDL_DATASETS_MIRROR=<base URL>`` in the environment replaces
the mirrors (see :mod:`fastdl.datasets.storage`).

The archive holds object arrays of lists, which ``.npy`` can only store as pickles; it is
read by :func:`fastdl.datasets.safe_npz.load_npz`, which builds NumPy arrays and plain
Python values only, never anything else a tampered file might ask for.

>>> import os, tempfile, numpy as np
>>> from fastdl.datasets import imdb
>>> def reviews(*lists):
...     array = np.empty(len(lists), dtype=object)
...     array[:] = [list(words) for words in lists]
...     return array
>>> path = os.path.join(tempfile.mkdtemp(), "imdb.npz")  # a made-up set of three reviews
>>> np.savez(path, x_train=reviews([1, 2, 7], [4, 1]), y_train=np.array([1, 0]),
...          x_test=reviews([3, 5, 1, 1]), y_test=np.array([1]))
>>> (x_train, y_train), (x_test, y_test) = imdb.load_data(path, seed=None)
>>> x_test[0], y_test  # start_char 1, then each index + index_from (3)
([1, 6, 8, 4, 4], array([1]))
>>> (x_train, y_train), (x_test, y_test) = imdb.load_data(path, num_words=6, seed=None)
>>> x_test[0]  # indices of 6 and above are out of the vocabulary: oov_char (2)
[1, 2, 2, 4, 4]
>>> (x_train, y_train), (x_test, y_test) = imdb.load_data()  # doctest: +SKIP
>>> len(x_train), len(x_test)  # doctest: +SKIP
(25000, 25000)
"""
from __future__ import annotations

import json
import numbers
import os
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from fastdl.datasets import safe_npz
from fastdl.datasets.storage import (
    DATA_ENV,
    DatasetNotFoundError,
    FileSpec,
    data_home,
    fetch_file,
    mirrors,
)

PathLike = Union[str, "os.PathLike[str]"]
Split = tuple[np.ndarray, np.ndarray]

#: Base URLs serving ``imdb.npz`` and ``imdb_word_index.json``: the one Keras uses.
MIRRORS: tuple[str, ...] = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",)

#: The reviews, with the SHA-256 Keras pins for them.
DATA_FILE = FileSpec("imdb.npz",
                     "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")

#: The word index. Keras pins only an MD5 for it, so the MD5 is what a download is checked
#: against; no SHA-256 of it is published.
WORD_INDEX_FILE = FileSpec("imdb_word_index.json", "", md5="bfafd718b763782e994055a2d397834f")

#: The cache subdirectory both files go to.
SUBDIR = "imdb"

_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data(path: PathLike = "imdb.npz", num_words: Optional[int] = None, skip_top: int = 0,
              maxlen: Optional[int] = None, seed: Optional[int] = 113,
              start_char: Optional[int] = 1, oov_char: Optional[int] = 2,
              index_from: int = 3, *, download: bool = True) -> tuple[Split, Split]:
    """Loads IMDB as ``((x_train, y_train), (x_test, y_test))``, with Keras's arguments.

    ``x_train`` and ``x_test`` are 1-D object arrays of reviews, each a list of ``int`` word
    indices; ``y_train`` and ``y_test`` integer arrays of labels (1 positive, 0 negative).
    The steps, in Keras's order:

    1. The training reviews are shuffled by ``np.random.RandomState(seed)``, then the test
       reviews by the same generator (``seed=None`` shuffles differently each time); a
       review keeps its label.
    2. Every index is raised by ``index_from``, and each review starts with ``start_char``
       (none when it is None). 0 is left for padding.
    3. With ``maxlen``, only the reviews shorter than ``maxlen`` (``start_char`` included)
       are kept; ValueError when none of the training or none of the test reviews is.
    4. An index below ``skip_top`` or not below ``num_words`` becomes ``oov_char``, or is
       dropped when ``oov_char`` is None. When ``num_words`` is None (or 0), Keras takes the
       largest index present instead, so that index too counts as out of range; this is
       kept for identical results.

    ``path`` is the archive's file name in the cache directory (an absolute path names any
    file); when it is not there it is downloaded there, unless ``download=False``.

    Raises :class:`~fastdl.datasets.DatasetNotFoundError` when the file is absent and the
    download failed or was disabled, :class:`~fastdl.datasets.ChecksumError` when a mirror
    served a file whose SHA-256 is not the pinned one, ValueError (naming the file) for a
    file that is not a valid archive, and TypeError or ValueError naming ``imdb.load_data``
    for a bad argument. See the module's example.
    """
    num_words = _int_argument("num_words", num_words, allow_none=True, minimum=0)
    skip_top = _int_argument("skip_top", skip_top, minimum=0)
    maxlen = _int_argument("maxlen", maxlen, allow_none=True, minimum=0)
    seed = _int_argument("seed", seed, allow_none=True, minimum=0, maximum=2**32 - 1)
    start_char = _int_argument("start_char", start_char, allow_none=True)
    oov_char = _int_argument("oov_char", oov_char, allow_none=True)
    index_from = _int_argument("index_from", index_from, minimum=0)
    file = _locate(path, DATA_FILE, download, "the IMDB reviews")
    (x_train, y_train), (x_test, y_test) = read_archive(file)

    rng = np.random.RandomState(seed)
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, y_train = x_train[order], y_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, y_test = x_test[order], y_test[order]

    (train_words, train_lengths), (test_words, test_lengths) = (
        _flatten(x_train, file, "x_train"), _flatten(x_test, file, "x_test"))
    words = np.concatenate([train_words, test_words]) + index_from
    lengths = np.concatenate([train_lengths, test_lengths])
    if start_char is not None:
        words = np.insert(words, _starts(lengths), start_char)
        lengths += 1
    n_train = len(x_train)
    if maxlen:
        keep = lengths < maxlen
        for split, kept in (("training", keep[:n_train]), ("test", keep[n_train:])):
            if not kept.any():
                raise ValueError(f"imdb.load_data: no {split} review is shorter than "
                                 f"maxlen={maxlen} (start_char included); raise maxlen")
        words = words[np.repeat(keep, lengths)]
        lengths = lengths[keep]
        labels = np.concatenate([y_train, y_test])[keep]
        n_train = int(keep[:n_train].sum())
    else:
        labels = np.concatenate([y_train, y_test])
    if not num_words:
        num_words = int(words.max()) if words.size else 0
    in_vocabulary = (words >= skip_top) & (words < num_words)
    if oov_char is not None:
        words = np.where(in_vocabulary, words, oov_char)
    else:
        review = np.repeat(np.arange(len(lengths)), lengths)
        lengths = np.bincount(review[in_vocabulary], minlength=len(lengths))
        words = words[in_vocabulary]

    x = _as_reviews(words, lengths)
    return (x[:n_train], labels[:n_train]), (x[n_train:], labels[n_train:])


def get_word_index(path: PathLike = "imdb_word_index.json", *,
                   download: bool = True) -> dict[str, int]:
    """The words of the IMDB reviews and their indices, ``{"the": 1, "and": 2, ...}``.

    The indices are those of the archive, before :func:`load_data` adds ``index_from``: the
    word of index ``i`` in a review loaded with the default ``index_from=3`` is the key whose
    value is ``i - 3``. ``path`` and ``download`` work as in :func:`load_data`.

    >>> from fastdl.datasets import imdb
    >>> index = imdb.get_word_index()  # doctest: +SKIP
    >>> words = {i + 3: word for word, i in index.items()}  # doctest: +SKIP
    >>> words.update({0: "[PAD]", 1: "[START]", 2: "[OOV]"})  # doctest: +SKIP
    >>> (x_train, _), _ = imdb.load_data()  # doctest: +SKIP
    >>> " ".join(words[i] for i in x_train[0][:5])  # doctest: +SKIP
    """
    file = _locate(path, WORD_INDEX_FILE, download, "the IMDB word index")
    try:
        with open(file, encoding="utf-8") as stream:
            index = json.load(stream)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file}: not a JSON word index: {error}") from None
    if not isinstance(index, dict) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in index.values()):
        raise ValueError(f"{file}: expected a JSON object mapping words to integer indices")
    return index


def read_archive(path: PathLike) -> tuple[Split, Split]:
    """The four arrays of an ``imdb.npz``-style archive, checked: ``x_*`` 1-D arrays of
    reviews (lists of word indices), ``y_*`` 1-D integer arrays as long."""
    name = os.fspath(path)
    arrays = safe_npz.load_npz(path)
    absent = [key for key in _KEYS if key not in arrays]
    if absent:
        raise ValueError(f"{name}: no array {', '.join(absent)} (it holds "
                         f"{', '.join(arrays) or 'none'})")
    for split in ("train", "test"):
        x, y = arrays["x_" + split], arrays["y_" + split]
        if x.ndim != 1 and not (x.ndim == 2 and x.dtype.kind in "iu"):
            raise ValueError(f"{name}: x_{split} has shape {x.shape}, expected one review "
                             "(a list of word indices) per row")
        if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
            raise ValueError(f"{name}: y_{split} is {y.dtype} of shape {y.shape}, expected "
                             f"{len(x)} integer labels")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _locate(path: PathLike, spec: FileSpec, download: bool, what: str) -> Path:
    """The file ``path`` names (in the cache unless absolute), downloaded there if absent."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"imdb: path must be a file name or path, received {path!r} "
                        f"({type(path).__name__})")
    cache = data_home() / SUBDIR
    file = cache / Path(path).expanduser()
    if file.is_file():
        return file
    if download:
        failures = fetch_file(spec, mirrors(MIRRORS), file.parent, file.name)
        if not failures:
            return file
    lines = [f"{what} ({spec.name}) is not at {file} and was not downloaded.",
             *(["Download failed:", *(f"  {line}" for line in failures)] if download
               else ["Download: disabled (download=False)."]),
             (f"Put the file there (the cache: subdirectory {SUBDIR}/ of ${DATA_ENV} if that "
              "is set, else of ~/.fastdl/datasets), pass its path as path=, or allow the "
              "download where the mirrors can be reached.")]
    raise DatasetNotFoundError("\n".join(lines))


def _int_argument(name: str, value: Any, allow_none: bool = False,
                  minimum: Optional[int] = None, maximum: Optional[int] = None
                  ) -> Optional[int]:
    """``value`` as an int after checking it, naming the argument in the error."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an int or None" if allow_none else "an int"
        raise TypeError(f"imdb.load_data: {name} must be {expected}, received {value!r} "
                        f"({type(value).__name__})")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"imdb.load_data: {name} must be {bounds}, received {value}")
    return value


def _flatten(reviews: np.ndarray, source: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
    """All word indices of ``reviews`` in one int64 array, and each review's length."""
    if reviews.dtype.kind in "iu":  # a rectangular integer array: one review per row
        return (reviews.astype(np.int64).ravel(),
                np.full(len(reviews), reviews.shape[1], dtype=np.int64))
    parts = [np.asarray(review) for review in reviews]
    for position, part in enumerate(parts):
        if part.size and (part.ndim != 1 or part.dtype.kind not in "iu"):
            raise ValueError(f"{source}: {key}[{position}] is {part.dtype} of shape "
                             f"{part.shape}, expected a list of integer word indices")
    lengths = np.array([part.size for part in parts], dtype=np.int64)
    words = np.concatenate([part.astype(np.int64).ravel() for part in parts] or
                           [np.zeros(0, np.int64)])
    return words, lengths


def _starts(lengths: np.ndarray) -> np.ndarray:
    """The position where each review begins in the flat array of all words."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def _as_reviews(words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 1-D object array holding each review as a list of ``int``."""
    values = words.tolist()
    reviews = np.empty(len(lengths), dtype=object)
    end = 0
    for position, length in enumerate(lengths.tolist()):
        reviews[position] = values[end:end + length]
        end += length
    return reviews
