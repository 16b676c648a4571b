"""``keras.optimizers``: fastdl.optimizers under Keras's name."""
from fastdl.optimizers import *  # noqa: F401,F403
from fastdl.optimizers import __all__  # noqa: F401
