"""The float64 references, which live in fastdl.testing.reference (the operation cases and the
benchmark use them too); the tests keep importing them from here."""
from fastdl.testing.reference import *  # noqa: F401,F403
