"""MNIST: 70,000 handwritten digits, 28x28 grayscale, as ``keras.datasets.mnist`` returns them.

:func:`load_data` looks for the four IDX files (or a Keras-style ``mnist.npz``) in ``path=``,
then in the cache (``$FASTDL_DATA/mnist`` or ``~/.fastdl/datasets/mnist``), then downloads
them into the cache from :data:`MIRRORS`, tried in order, checking each file against the
SHA-256 pinned in :data:`FILES`. ``FASTDL_DATASETS_MIRROR=<base URL>`` in the environment
replaces the mirrors (see :mod:`fastdl.datasets.storage`).
"""
from __future__ import annotations

from fastdl.datasets._loader import Arrays, Dataset, PathLike, load
from fastdl.datasets.storage import FileSpec

#: Base URLs serving the IDX .gz files, tried in order: PyTorch's mirror, then Google's
#: (the one TensorFlow Datasets uses). LeCun's own site no longer serves them reliably.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: The files, with the SHA-256 of the .gz as the mirrors serve it (as published in
#: TensorFlow Datasets' url_checksums/mnist.txt) and of the decompressed IDX file.
FILES: tuple[FileSpec, ...] = (
    FileSpec("train-images-idx3-ubyte.gz",
             "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
             "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    FileSpec("train-labels-idx1-ubyte.gz",
             "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
             "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    FileSpec("t10k-images-idx3-ubyte.gz",
             "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
             "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    FileSpec("t10k-labels-idx1-ubyte.gz",
             "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
             "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
)


def load_data(path: PathLike | None = None, download: bool = True) -> Arrays:
    """Loads MNIST as ``((x_train, y_train), (x_test, y_test))``, like Keras.

    ``x_train`` is uint8 of shape (60000, 28, 28), ``y_train`` uint8 of shape (60000,), the
    test arrays (10000, 28, 28) and (10000,). Labels are the digits 0 to 9.

    Looks in order in ``path`` (a directory holding ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``,
    each raw or ``.gz``, or a Keras-style ``mnist.npz``; or the path of such a ``.npz``),
    then in the cache directory, then (``download=True``) downloads into the cache.

    Raises :class:`~fastdl.datasets.DatasetNotFoundError` when the data is nowhere and the
    download failed or was disabled, :class:`~fastdl.datasets.storage.ChecksumError` when a
    mirror served a file whose SHA-256 is not the pinned one, and ValueError, naming the
    file, when a file found is not a valid IDX (or .npz) file.

    Any directory of files in the standard layout works (here a tiny made-up set):

    >>> import tempfile, numpy as np
    >>> from fastdl.datasets import idx, mnist
    >>> folder = tempfile.mkdtemp()
    >>> for split, n in (("train", 3), ("t10k", 2)):
    ...     images, labels = np.zeros((n, 28, 28), np.uint8), np.arange(n, dtype=np.uint8)
    ...     idx.write_idx(f"{folder}/{split}-images-idx3-ubyte.gz", images)
    ...     idx.write_idx(f"{folder}/{split}-labels-idx1-ubyte", labels)
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data(path=folder)
    >>> x_train.shape, x_train.dtype, y_train, x_test.shape
    ((3, 28, 28), dtype('uint8'), array([0, 1, 2], dtype=uint8), (2, 28, 28))
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP
    >>> x_train.shape  # doctest: +SKIP
    (60000, 28, 28)
    """
    dataset = Dataset("MNIST", "mnist", "mnist.npz", FILES, MIRRORS)
    return load(dataset, path, download)
