"""Every example in the public docstrings runs and prints what it says."""
import doctest
import importlib

import pytest

MODULES = ["fastdl", "fastdl._config", "fastdl.tensor", "fastdl.autograd",
           "fastdl.creation", "fastdl.random", "fastdl.backend.geometry",
           "fastdl.backend.cpu.activation", "fastdl.backend.cpu.conv", "fastdl.backend.cpu.gemm",
           "fastdl.backend.cpu.glue", "fastdl.backend.cpu.pool", "fastdl.backend.cpu.softmax",
           "fastdl.ops", "fastdl.ops.activation", "fastdl.ops.arithmetic", "fastdl.ops.common",
           "fastdl.ops.conv", "fastdl.ops.conversion", "fastdl.ops.dropout",
           "fastdl.ops.elementwise", "fastdl.ops.matmul", "fastdl.ops.normalization",
           "fastdl.ops.pool", "fastdl.ops.reduction", "fastdl.ops.shape", "fastdl.ops.softmax",
           "fastdl.ops.tensor_methods",
           "fastdl.datasets", "fastdl.datasets.idx", "fastdl.datasets.storage",
           "fastdl.datasets.mnist", "fastdl.datasets.fashion_mnist", "fastdl.datasets.sample",
           "fastdl.optimizers", "fastdl.optimizers.base", "fastdl.optimizers.sgd",
           "fastdl.optimizers.adam", "fastdl.optimizers.rmsprop", "fastdl.optimizers.schedules",
           "fastdl.initializers", "fastdl.activations", "fastdl.layers", "fastdl.layers.base",
           "fastdl.layers.core", "fastdl.layers.convolutional", "fastdl.layers.pooling",
           "fastdl.layers.normalization", "fastdl.layers.symbolic", "fastdl.layers.calling",
           "fastdl.layers.masking", "fastdl.layers.merge", "fastdl.layers.nested",
           "fastdl.layers.signature", "fastdl.losses",
           "fastdl.metrics", "fastdl.callbacks", "fastdl.models.model",
           "fastdl.models.sequential", "fastdl.utils", "fastdl.keras",
           "fastdl.testing", "fastdl.testing.reference", "fastdl.testing.checks",
           "fastdl.testing.op_cases", "fastdl.testing.op_cases.case",
           "fastdl.testing.op_cases.arithmetic", "fastdl.testing.op_cases.elementwise",
           "fastdl.testing.op_cases.reduction", "fastdl.testing.op_cases.shape",
           "fastdl.testing.op_cases.matmul", "fastdl.testing.op_cases.activation",
           "fastdl.testing.op_cases.softmax", "fastdl.testing.op_cases.conv",
           "fastdl.testing.op_cases.pool", "fastdl.testing.op_cases.dropout",
           "fastdl.testing.op_cases.normalization", "fastdl.testing.op_cases.losses"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
