"""The Fashion-MNIST sample shipped inside fastdl (``data/fashion_mnist_sample.npz``).

It is small and real, so examples and tests run on a fresh machine without a download;
``data/README.md`` says what it holds and ``tools/make_fashion_mnist_sample.py`` (in the
source tree) rebuilds it.

>>> from fastdl.datasets import sample
>>> (x_train, y_train), (x_test, y_test) = sample.load_sample()
>>> len(x_train), len(x_test)
(5000, 1000)
"""
from __future__ import annotations

from pathlib import Path

from fastdl.datasets._loader import Arrays, read_npz

#: The sample: a Keras-style .npz (x_train, y_train, x_test, y_test, all uint8), plus the
#: positions of its images in the full dataset (train_index, test_index).
SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "fashion_mnist_sample.npz"


def load_sample() -> Arrays:
    """The sample as ``((x_train, y_train), (x_test, y_test))``.

    See :func:`fastdl.datasets.fashion_mnist.load_sample`.
    """
    return read_npz(SAMPLE_PATH)
