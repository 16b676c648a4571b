"""Weights files: a NumPy ``.npz`` archive of plain arrays (never pickled objects).

Each array is stored under ``"<position>/<layer name>/<weight name>"``; loading matches
weights by position, so a model rebuilt with the same architecture (whatever its layers are
named) reads them back bit for bit.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from fastdl.backend import to_device


def _named_weights(model: Any) -> list[tuple[str, str, Any]]:
    """(layer name, weight name, variable) for every weight, in saving order."""
    return [(layer.name, v.name, v) for layer in model._walk_layers()
            for v in layer._own_weights]


def save_weights(model: Any, filepath: Any) -> None:
    if not model.built:
        raise ValueError(f"save_weights: model {model.name!r} has no weights yet; build it "
                         f"(give the first layer an input_shape, or call it on data) first")
    path = os.fspath(filepath)
    arrays = {f"{i:04d}/{layer}/{weight}": to_device(v.data, "cpu")
              for i, (layer, weight, v) in enumerate(_named_weights(model))}
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".weights-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_weights(model: Any, filepath: Any) -> None:
    path = os.fspath(filepath)
    if not model.built:
        raise ValueError(f"load_weights: build model {model.name!r} before loading weights "
                         f"into it (input_shape= on the first layer, or call it on data)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            stored = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise ValueError(f"load_weights: {path} is not a fastdl weights file ({e})") from None
    keys = sorted(stored, key=lambda k: int(k.split("/", 1)[0]))
    mine = _named_weights(model)
    if len(keys) != len(mine):
        raise ValueError(f"load_weights: {path} holds {len(keys)} weights but model "
                         f"{model.name!r} has {len(mine)}")
    for key, (layer, weight, v) in zip(keys, mine):
        value = stored[key]
        if value.shape != v.data.shape or value.dtype != v.data.dtype:
            raise ValueError(f"load_weights: layer {layer!r}, weight {weight!r}: expected "
                             f"shape {v.data.shape} ({v.data.dtype}), received "
                             f"{value.shape} ({value.dtype}) from {key!r} in {path}")
    for key, (_, _, v) in zip(keys, mine):
        v.assign(stored[key])  # onto the weight's device
