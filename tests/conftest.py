import numpy as np
import pytest

import fastdl
from fastdl import _C

ISAS = [name for name in ("avx512", "avx2", "generic") if _C.isa_available(name)]


@pytest.fixture(params=ISAS)
def isa(request):
    """Runs a test once per kernel set available here (AVX-512, AVX2, the portable fallback)."""
    previous = _C.active_isa()
    _C.set_isa(request.param)
    yield request.param
    _C.set_isa(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def set_threads():
    """fastdl.set_num_threads for the rest of the test: the count in use before is restored
    when the test ends, whatever it does."""
    previous = fastdl.get_num_threads()
    yield fastdl.set_num_threads
    fastdl.set_num_threads(previous)
