"""``keras.callbacks``: fastdl.callbacks under Keras's name."""
from fastdl.callbacks import *  # noqa: F401,F403
from fastdl.callbacks import __all__  # noqa: F401
