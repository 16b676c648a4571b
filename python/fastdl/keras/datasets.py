"""``keras.datasets``: ``mnist`` and ``fashion_mnist`` with ``load_data()``."""
from fastdl.datasets import fashion_mnist, mnist

__all__ = ["mnist", "fashion_mnist"]
