"""Datasets as ``keras.datasets`` returns them: MNIST, Fashion-MNIST and IMDB; and a text.

``mnist.load_data()`` and ``fashion_mnist.load_data()`` return
``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, reading local copies (``path=``,
the cache ``$FASTDL_DATA`` or ``~/.fastdl/datasets``, Debian's dataset-fashion-mnist) or
downloading them with their SHA-256 checked. ``fashion_mnist.load_sample()`` reads 6,000
real Fashion-MNIST images shipped inside fastdl, and :func:`load_first_available` picks the
best of these that this machine has, so examples run anywhere. ``imdb.load_data()`` returns
movie reviews as lists of word indices, with Keras's arguments, from the cache or a checked
download. ``shakespeare.load_data()`` returns about 1 MB of Shakespeare's plays, shipped inside
fastdl, as one string.

>>> from fastdl.datasets import fashion_mnist
>>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_sample()
>>> x_train.shape, int(y_train.max())
((5000, 28, 28), 9)
"""
from __future__ import annotations

from fastdl.datasets import fashion_mnist, imdb, mnist, shakespeare
from fastdl.datasets._loader import Arrays
from fastdl.datasets.storage import ChecksumError, DatasetNotFoundError

__all__ = ["ChecksumError", "DatasetNotFoundError", "fashion_mnist", "imdb",
           "load_first_available", "mnist", "shakespeare"]


def load_first_available(download: bool = False) -> tuple[str, Arrays]:
    """The first of MNIST, Fashion-MNIST and the packaged sample that can be had.

    Returns ``(name, ((x_train, y_train), (x_test, y_test)))`` with ``name`` one of
    ``'mnist'``, ``'fashion_mnist'`` and ``'fashion_mnist_sample'``: MNIST when a copy is
    on this machine, else Fashion-MNIST when one is, else (with ``download=True``) MNIST,
    then Fashion-MNIST, downloaded, else :func:`fashion_mnist.load_sample`. All are uint8
    28x28 images with labels 0 to 9, so a script written for one runs on the others. Files
    that are found but broken, and downloads that fail their hash check, raise as in
    ``load_data``: they are not skipped.

    >>> from fastdl import datasets
    >>> name, ((x_train, y_train), (x_test, y_test)) = datasets.load_first_available()
    >>> name in ("mnist", "fashion_mnist", "fashion_mnist_sample")
    True
    >>> x_train.dtype, x_train.shape[1:], y_train.dtype, int(y_train.max())
    (dtype('uint8'), (28, 28), dtype('uint8'), 9)
    """
    candidates = [("mnist", mnist.load_data), ("fashion_mnist", fashion_mnist.load_data)]
    for may_download in (False, True) if download else (False,):
        for name, load_data in candidates:
            try:
                return name, load_data(download=may_download)
            except DatasetNotFoundError:
                continue
    return "fashion_mnist_sample", fashion_mnist.load_sample()
