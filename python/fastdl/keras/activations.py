"""``keras.activations``: fastdl.activations under Keras's name."""
from fastdl.activations import *  # noqa: F401,F403
from fastdl.activations import __all__  # noqa: F401
