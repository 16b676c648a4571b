"""Finding a dataset (``path=``, the cache, system directories, then a download) and reading it."""
from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Union

import numpy as np

from fastdl.datasets import idx
from fastdl.datasets.storage import (
    DATA_ENV,
    DatasetNotFoundError,
    FileSpec,
    data_home,
    fetch,
    mirrors,
)

Split = tuple[np.ndarray, np.ndarray]
Arrays = tuple[Split, Split]
PathLike = Union[str, "os.PathLike[str]"]

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


class Dataset(NamedTuple):
    """What :func:`load` needs to know about a dataset."""

    title: str  # for messages: "MNIST"
    subdir: str  # the cache subdirectory: "mnist"
    npz_name: str  # a Keras-style archive also accepted in each directory: "mnist.npz"
    files: Sequence[FileSpec]  # train images, train labels, test images, test labels
    mirrors: Sequence[str]  # base URLs, tried in order
    system_dirs: Sequence[tuple[str, Path]] = ()  # (what it is, directory), after the cache


def load(dataset: Dataset, path: PathLike | None = None, download: bool = True) -> Arrays:
    """Loads ``dataset`` from the first place that has it; see ``mnist.load_data``."""
    searched: list[str] = []
    if path is not None:
        path = Path(path).expanduser()
        if path.is_file():
            return read_npz(path)
        found = _load_from(dataset, path, "path=", searched)
        if found is not None:
            return found
    cache = data_home() / dataset.subdir
    for label, directory in [("cache", cache), *dataset.system_dirs]:
        found = _load_from(dataset, Path(directory), label, searched)
        if found is not None:
            return found
    failures: list[str] = []
    if download:
        missing = [spec for spec in dataset.files if _find(cache, spec) is None]
        failures = fetch(missing, mirrors(dataset.mirrors), cache)
        if not failures:
            return read_idx_set([_find(cache, spec) for spec in dataset.files])
    raise DatasetNotFoundError(_not_found_message(dataset, cache, searched, failures))


def _find(directory: Path, spec: FileSpec) -> Path | None:
    """The file of ``spec`` in ``directory``, compressed or not; None when neither is there."""
    for name in (spec.name, spec.raw_name):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _load_from(dataset: Dataset, directory: Path, label: str,
               searched: list[str]) -> Arrays | None:
    """The dataset read from ``directory``, or None after noting in ``searched`` why not."""
    if not directory.is_dir():
        searched.append(f"{directory} ({label}): no such directory")
        return None
    paths = [_find(directory, spec) for spec in dataset.files]
    if all(p is not None for p in paths):
        return read_idx_set(paths)
    archive = directory / dataset.npz_name
    if archive.is_file():
        return read_npz(archive)
    absent = [spec.raw_name + "[.gz]" for spec, p in zip(dataset.files, paths) if p is None]
    searched.append(f"{directory} ({label}): no {', '.join(absent)}")
    return None


def read_idx_set(paths: Sequence[Path]) -> Arrays:
    """Reads the four IDX files (train images, train labels, test images, test labels)."""
    arrays = [idx.read_idx(p, idx.IMAGES_MAGIC if i % 2 == 0 else idx.LABELS_MAGIC)
              for i, p in enumerate(paths)]
    for images, labels, image_path, label_path in zip(arrays[::2], arrays[1::2],
                                                      paths[::2], paths[1::2]):
        if len(images) != len(labels):
            raise ValueError(f"{image_path} holds {len(images)} images but {label_path} "
                             f"holds {len(labels)} labels")
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def read_npz(path: PathLike) -> Arrays:
    """Reads a Keras-style ``.npz`` (uint8 ``x_train``, ``y_train``, ``x_test``, ``y_test``)."""
    name = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not hasattr(archive, "files"):  # a single .npy array
            raise ValueError("an .npy array, not an .npz archive")
        with archive:
            absent = [key for key in NPZ_KEYS if key not in archive.files]
            if absent:
                raise ValueError(f"no array {', '.join(absent)} (it holds "
                                 f"{', '.join(archive.files) or 'none'})")
            x_train, y_train, x_test, y_test = (archive[key] for key in NPZ_KEYS)
    except (FileNotFoundError, PermissionError):
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"{name}: not a readable Keras-style .npz file: {error}") from None
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.dtype != np.uint8 or x.ndim != 3:
            raise ValueError(f"{name}: x_{split} is {x.dtype} of shape {x.shape}, "
                             "expected uint8 images (count, rows, columns)")
        if y.dtype != np.uint8 or y.ndim != 1 or len(y) != len(x):
            raise ValueError(f"{name}: y_{split} is {y.dtype} of shape {y.shape}, "
                             f"expected {len(x)} uint8 labels")
    return (x_train, y_train), (x_test, y_test)


def _not_found_message(dataset: Dataset, cache: Path, searched: Sequence[str],
                       failures: Sequence[str]) -> str:
    names = ", ".join(spec.name for spec in dataset.files)
    lines = [
        f"{dataset.title} is not on this machine and was not downloaded.",
        (f"It needs the files {names} (gzip-compressed or not), or a Keras-style "
         f"{dataset.npz_name} with x_train, y_train, x_test, y_test."),
        "Searched:",
        *(f"  {line}" for line in searched),
        *(["Download failed:", *(f"  {line}" for line in failures)] if failures
          else ["Download: disabled (download=False)."]),
        (f"Put the files in {cache} (the cache: subdirectory {dataset.subdir}/ of "
         f"${DATA_ENV} if that is set, else of ~/.fastdl/datasets), or pass load_data(path=...) "
         "a directory holding them or a .npz file, or call load_data(download=True) where "
         "the mirrors can be reached."),
    ]
    return "\n".join(lines)
