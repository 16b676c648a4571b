"""Keras's gathering operations: take (flattened and along an axis, negative and repeated
indices, an index array of several axes), take_along_axis (indices and values broadcasting
against each other), repeat (one count, a count per element, zero counts) and tile (repeats
shorter and longer than the input's rank), against NumPy's.

>>> [case.name for case in CASES][:2]
['take', 'take_axis=1']
"""
import numpy as np

from fastdl import ops
from fastdl.testing.op_cases.case import OpCase

ON_GPU = [[(4, 5)]]

#: Indices into a (4, 5) input: repeated, negative, of two axes.
FLAT = np.array([[0, 19, 7], [7, -1, 3]])
COLUMNS = np.array([4, -5, 2, 2])
ALONG_ROWS = np.array([[2, 0, 1, 3, 3]])          # one row of indices, broadcast over columns
ALONG_COLUMNS = np.array([[4], [0], [0], [-1]])  # one index per row

TAKE = [
    OpCase("take", lambda a: ops.take(a, FLAT), lambda a: np.take(a, FLAT),
           shapes=[[(4, 5)]], gpu_shapes=ON_GPU),
    OpCase("take_axis=1", lambda a: ops.take(a, COLUMNS, axis=1),
           lambda a: np.take(a, COLUMNS, axis=1), shapes=[[(4, 5)], [(2, 5, 3)]],
           gpu_shapes=ON_GPU),
    OpCase("take_scalar_index", lambda a: ops.take(a, -2, axis=0),
           lambda a: np.take(a, -2, axis=0), shapes=[[(4, 5)]]),
    OpCase("take_along_axis_rows", lambda a: ops.take_along_axis(a, ALONG_ROWS, axis=0),
           lambda a: np.take_along_axis(a, ALONG_ROWS, axis=0), shapes=[[(4, 5)], [(4, 1)]],
           gpu_shapes=ON_GPU),
    OpCase("take_along_axis_columns", lambda a: ops.take_along_axis(a, ALONG_COLUMNS, axis=-1),
           lambda a: np.take_along_axis(a, ALONG_COLUMNS, axis=-1), shapes=[[(4, 5)]],
           gpu_shapes=ON_GPU),
    OpCase("take_along_axis_flattened",
           lambda a: ops.take_along_axis(a, FLAT.reshape(-1), axis=None),
           lambda a: np.take_along_axis(a.reshape(-1), FLAT.reshape(-1), axis=0),
           shapes=[[(4, 5)]]),
]

REPEAT_COUNTS = np.array([2, 0, 1, 3])

REPEAT_TILE = [
    OpCase("repeat", lambda a: ops.repeat(a, 2), lambda a: np.repeat(a, 2),
           shapes=[[(4, 5)], [()], [(0,)]], gpu_shapes=ON_GPU),
    OpCase("repeat_axis=1", lambda a: ops.repeat(a, 3, axis=1),
           lambda a: np.repeat(a, 3, axis=1), shapes=[[(4, 5)], [(2, 1, 3)]],
           gpu_shapes=ON_GPU),
    OpCase("repeat_zero_times", lambda a: ops.repeat(a, 0, axis=-1),
           lambda a: np.repeat(a, 0, axis=-1), shapes=[[(4, 5)]]),
    OpCase("repeat_counts", lambda a: ops.repeat(a, REPEAT_COUNTS, axis=0),
           lambda a: np.repeat(a, REPEAT_COUNTS, axis=0), shapes=[[(4, 5)], [(4,)]],
           gpu_shapes=ON_GPU),
    OpCase("tile", lambda a: ops.tile(a, (2, 3)), lambda a: np.tile(a, (2, 3)),
           shapes=[[(4, 5)], [(1, 1)]], gpu_shapes=ON_GPU),
    OpCase("tile_int", lambda a: ops.tile(a, 2), lambda a: np.tile(a, 2),
           shapes=[[(4, 5)], [(3,)]]),
    OpCase("tile_fewer_repeats", lambda a: ops.tile(a, [3]), lambda a: np.tile(a, [3]),
           shapes=[[(2, 3, 4)]]),
    OpCase("tile_more_repeats", lambda a: ops.tile(a, (2, 1, 3)), lambda a: np.tile(a, (2, 1, 3)),
           shapes=[[(4, 5)], [(3,)]], gpu_shapes=ON_GPU),
]

CASES = TAKE + REPEAT_TILE
