"""``keras.utils``: fastdl.utils under Keras's name."""
from fastdl.utils import *  # noqa: F401,F403
from fastdl.utils import __all__  # noqa: F401
