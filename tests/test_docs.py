"""Every example in the public docstrings runs and prints what it says."""
import doctest
import importlib

import pytest

MODULES = ["fastdl", "fastdl._config", "fastdl.backend.cpu", "fastdl.tensor", "fastdl.autograd",
           "fastdl.creation", "fastdl.random", "fastdl.functional", "fastdl.backend.geometry",
           "fastdl.optimizers", "fastdl.optimizers.base", "fastdl.optimizers.sgd",
           "fastdl.optimizers.adam", "fastdl.optimizers.rmsprop", "fastdl.optimizers.schedules"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
