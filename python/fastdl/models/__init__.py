"""Models: :class:`Model` (functional or subclassed) and :class:`Sequential`."""
from fastdl.models.model import Model
from fastdl.models.sequential import Sequential
from fastdl.models.training import NonFiniteLossError

__all__ = ["Model", "Sequential", "NonFiniteLossError"]
