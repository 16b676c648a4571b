"""``keras.models``: fastdl.models under Keras's name."""
from fastdl.models import *  # noqa: F401,F403
from fastdl.models import __all__  # noqa: F401
