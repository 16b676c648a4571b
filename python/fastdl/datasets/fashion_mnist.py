"""Fashion-MNIST: 70,000 28x28 grayscale images of clothes in 10 classes, as Keras returns them.

Zalando Research's drop-in replacement for MNIST (same sizes and file format), under the MIT
licence. :func:`load_data` looks for the four IDX files (or a Keras-style
``fashion-mnist.npz``) in ``path=``, then in the cache (``$FASTDL_DATA/fashion-mnist`` or
``~/.fastdl/datasets/fashion-mnist``), then in :data:`DEBIAN_DIR`, where Debian's package
``dataset-fashion-mnist`` installs them, then downloads them into the cache from
:data:`MIRRORS`, checking each file against the SHA-256 pinned in :data:`FILES`.
``FASTDL_DATASETS_MIRROR=<base URL>`` in the environment replaces the mirrors.

:func:`load_sample` needs none of that: it reads 6,000 real images shipped inside fastdl.
"""
from __future__ import annotations

from pathlib import Path

from fastdl.datasets import sample
from fastdl.datasets._loader import Arrays, Dataset, PathLike, load
from fastdl.datasets.storage import FileSpec

#: Base URLs serving the IDX .gz files, tried in order: Zalando's own, then the one Keras uses.
MIRRORS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)

#: Where Debian's package dataset-fashion-mnist puts the .gz files (searched after the cache).
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

#: The files, with the SHA-256 of the .gz as Zalando's mirror serves it (as published in
#: TensorFlow Datasets' url_checksums/fashion_mnist.txt; Zalando publishes MD5s only) and of
#: the decompressed IDX file (computed from Debian's copies, whose content matches the
#: MD5s of the decompressed official files; Debian recompressed the .gz, so those differ).
FILES: tuple[FileSpec, ...] = (
    FileSpec("train-images-idx3-ubyte.gz",
             "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
             "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    FileSpec("train-labels-idx1-ubyte.gz",
             "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
             "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    FileSpec("t10k-images-idx3-ubyte.gz",
             "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
             "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    FileSpec("t10k-labels-idx1-ubyte.gz",
             "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
             "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
)

#: The names of labels 0 to 9.
CLASS_NAMES: tuple[str, ...] = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_data(path: PathLike | None = None, download: bool = True) -> Arrays:
    """Loads Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``, like Keras.

    ``x_train`` is uint8 of shape (60000, 28, 28), ``y_train`` uint8 of shape (60000,), the
    test arrays (10000, 28, 28) and (10000,). Labels 0 to 9 name :data:`CLASS_NAMES`.

    Looks in order in ``path`` (a directory holding ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``,
    each raw or ``.gz``, or a Keras-style ``fashion-mnist.npz``; or the path of a ``.npz``),
    the cache directory, :data:`DEBIAN_DIR`, then (``download=True``) downloads into the
    cache. Errors as for :func:`fastdl.datasets.mnist.load_data`.

    >>> from fastdl.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, _) = fashion_mnist.load_data(path=fashion_mnist.SAMPLE_PATH)
    >>> x_train.shape, x_test.shape, fashion_mnist.CLASS_NAMES[y_train[0]]
    ((5000, 28, 28), (1000, 28, 28), 'Ankle boot')
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    dataset = Dataset("Fashion-MNIST", "fashion-mnist", "fashion-mnist.npz", FILES, MIRRORS,
                      (("Debian package dataset-fashion-mnist", DEBIAN_DIR),))
    return load(dataset, path, download)


#: The packaged sample, a Keras-style .npz (see :func:`load_sample`).
SAMPLE_PATH = sample.SAMPLE_PATH


def load_sample() -> Arrays:
    """A real subset of Fashion-MNIST shipped with fastdl, for examples that must run offline.

    The first 500 training images of each class (5,000, in their original order) and the
    first 100 test images of each class (1,000), with the same structure and dtypes as
    :func:`load_data`. See ``fastdl/datasets/data/README.md`` for how it was made.

    >>> import numpy as np
    >>> from fastdl.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_sample()
    >>> x_train.shape, y_train.shape, x_test.shape, y_test.shape, x_train.dtype, y_train.dtype
    ((5000, 28, 28), (5000,), (1000, 28, 28), (1000,), dtype('uint8'), dtype('uint8'))
    >>> np.bincount(y_test).tolist()
    [100, 100, 100, 100, 100, 100, 100, 100, 100, 100]
    """
    return sample.load_sample()
