import numpy as np
import pytest

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
