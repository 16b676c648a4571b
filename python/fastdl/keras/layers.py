"""``keras.layers``: fastdl.layers under Keras's name."""
from fastdl.layers import *  # noqa: F401,F403
from fastdl.layers import __all__  # noqa: F401
