"""Every example in the public docstrings runs and prints what it says."""
import doctest
import importlib

import pytest

MODULES = ["fastdl", "fastdl._config", "fastdl.backend.cpu", "fastdl.tensor", "fastdl.autograd",
           "fastdl.creation", "fastdl.random", "fastdl.functional", "fastdl.backend.geometry",
           "fastdl.datasets", "fastdl.datasets.idx", "fastdl.datasets.storage",
           "fastdl.datasets.mnist", "fastdl.datasets.fashion_mnist", "fastdl.datasets.sample",
           "fastdl.optimizers", "fastdl.optimizers.base", "fastdl.optimizers.sgd",
           "fastdl.optimizers.adam", "fastdl.optimizers.rmsprop", "fastdl.optimizers.schedules",
           "fastdl.initializers", "fastdl.activations", "fastdl.layers", "fastdl.layers.base",
           "fastdl.layers.core", "fastdl.layers.convolutional", "fastdl.layers.pooling",
           "fastdl.layers.normalization", "fastdl.layers.symbolic", "fastdl.losses",
           "fastdl.metrics", "fastdl.callbacks", "fastdl.models.model",
           "fastdl.models.sequential", "fastdl.utils", "fastdl.keras"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
