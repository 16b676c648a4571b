"""Rebuilds python/fastdl/datasets/data/fashion_mnist_sample.npz from the full Fashion-MNIST.

The sample is the first 500 training images of each class and the first 100 test images of
each class, kept in their original order: 5,000 + 1,000 images with 10 balanced classes.
The source files are checked against the SHA-256 pinned in fastdl.datasets.fashion_mnist
before anything is taken from them, and the archive is written with fixed timestamps, so
the same source gives the same bytes.

    PYTHONPATH=python python3 tools/make_fashion_mnist_sample.py [--source DIR] [--out FILE]

DIR defaults to /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist);
any directory holding the four IDX files, raw or .gz, works.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
from fastdl.datasets import fashion_mnist, idx

TRAIN_PER_CLASS = 500
TEST_PER_CLASS = 100
DEFAULT_OUT = (Path(__file__).resolve().parents[1]
               / "python" / "fastdl" / "datasets" / "data" / "fashion_mnist_sample.npz")


def read_verified(directory: Path) -> list[np.ndarray]:
    """The four arrays of Fashion-MNIST, each file's content checked against its pinned hash."""
    arrays = []
    for i, spec in enumerate(fashion_mnist.FILES):
        path = next((directory / name for name in (spec.name, spec.raw_name)
                     if (directory / name).is_file()), None)
        if path is None:
            raise SystemExit(f"{directory}: no {spec.raw_name}[.gz]")
        data = idx.read_bytes(path)
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.raw_sha256:
            raise SystemExit(f"{path}: decompressed SHA-256 {digest}, expected {spec.raw_sha256}")
        magic = idx.IMAGES_MAGIC if i % 2 == 0 else idx.LABELS_MAGIC
        arrays.append(idx.parse_idx(data, str(path), magic))
    return arrays


def first_per_class(labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of the first ``count`` examples of each class, in ascending order."""
    chosen = [np.flatnonzero(labels == c)[:count] for c in range(10)]
    return np.sort(np.concatenate(chosen)).astype(np.int32)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed, but with fixed timestamps and permissions: reproducible bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=fashion_mnist.DEBIAN_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    x_train, y_train, x_test, y_test = read_verified(args.source)
    train_index = first_per_class(y_train, TRAIN_PER_CLASS)
    test_index = first_per_class(y_test, TEST_PER_CLASS)
    write_npz(args.out, {
        "x_train": x_train[train_index], "y_train": y_train[train_index],
        "x_test": x_test[test_index], "y_test": y_test[test_index],
        "train_index": train_index, "test_index": test_index,
    })
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out}: {args.out.stat().st_size} bytes, SHA-256 {digest}")
    print(f"train: {len(train_index)} images (last index {train_index[-1]}), "
          f"test: {len(test_index)} images (last index {test_index[-1]})")


if __name__ == "__main__":
    main()
