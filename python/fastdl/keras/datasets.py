"""``keras.datasets``: ``mnist``, ``fashion_mnist`` and ``imdb`` with ``load_data()``."""
from fastdl.datasets import fashion_mnist, imdb, mnist

__all__ = ["mnist", "fashion_mnist", "imdb"]
