"""Every example in the docstrings of every module of the package runs and prints what it says,
and every module of the public API has at least one: a new module is checked without being
listed here."""
import doctest
import importlib
import pkgutil

import pytest

import fastdl

MODULES = ["fastdl"] + sorted(
    info.name for info in pkgutil.walk_packages(fastdl.__path__, "fastdl.")
    if not info.name.endswith("__main__"))  # running it is the command line tool

# Modules with nothing to show in an example of their own: the native extensions, the GPU
# backend (its examples would need a GPU), the benchmark tool, the keras namespace (re-exports
# of documented modules), packages that only gather their modules, and the machinery behind
# documented entry points (Model.fit, save_weights, summary, the dataset loaders).
MODULES_WITHOUT_EXAMPLES = ("fastdl._C", "fastdl._cuda", "fastdl.backend.cuda", "fastdl.bench",
                            "fastdl.backend", "fastdl.backend.cpu", "fastdl.backend.cpu.dropout",
                            "fastdl.backend.cpu.optim", "fastdl.datasets._loader",
                            "fastdl.models", "fastdl.models.data", "fastdl.models.saving",
                            "fastdl.models.summary", "fastdl.models.training")
# ... and every module inside these packages (the keras package itself has examples).
PACKAGES_WITHOUT_EXAMPLES = ("fastdl.backend.cuda", "fastdl.bench", "fastdl.keras")


def _may_lack_examples(name: str) -> bool:
    return name in MODULES_WITHOUT_EXAMPLES or any(
        name.startswith(package + ".") for package in PACKAGES_WITHOUT_EXAMPLES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0 or _may_lack_examples(name), f"{name} has no example"


def test_the_modules_found_include_the_public_ones():
    for name in ("fastdl.tensor", "fastdl.ops.products", "fastdl.layers.merge",
                 "fastdl.testing.op_cases.conv", "fastdl.backend.cpu.gemm", "fastdl.keras"):
        assert name in MODULES and not _may_lack_examples(name)
