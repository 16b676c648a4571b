"""``keras.metrics``: fastdl.metrics under Keras's name."""
from fastdl.metrics import *  # noqa: F401,F403
from fastdl.metrics import __all__  # noqa: F401
