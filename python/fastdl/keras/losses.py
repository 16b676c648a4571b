"""``keras.losses``: fastdl.losses under Keras's name."""
from fastdl.losses import *  # noqa: F401,F403
from fastdl.losses import __all__  # noqa: F401
