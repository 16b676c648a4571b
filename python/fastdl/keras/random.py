"""``keras.random``: fastdl's counter-based random operations and SeedGenerator under Keras's
names (:mod:`fastdl.ops.sampling`, :mod:`fastdl.random`)."""
from fastdl.ops.sampling import dropout, normal, randint, shuffle, truncated_normal, uniform
from fastdl.random import SeedGenerator

__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "dropout",
           "shuffle"]
