"""``keras.initializers``: fastdl.initializers under Keras's name."""
from fastdl.initializers import *  # noqa: F401,F403
from fastdl.initializers import __all__  # noqa: F401
