"""Shape operations, indexing, joining and splitting: reshape, transpose and permute, squeeze,
unsqueeze and expand_dims, broadcast_to, basic and advanced indexing (repeated indices add up
their gradients, boolean masks), iteration over the first axis, concatenate, stack, split and
pad, against NumPy's.

>>> [case.name for case in CASES][:3]
['reshape', 'reshape_tuple_minus_one', 'reshape_function']
"""
import numpy as np

import fastdl
from fastdl.testing.op_cases.case import OpCase

ON_GPU = [[(3, 4, 5)]]

SHAPE_OPS = [
    OpCase("reshape", lambda a: a.reshape(6, 10), shapes=[[(3, 4, 5)]], gpu_shapes=ON_GPU),
    OpCase("reshape_tuple_minus_one", lambda a: a.reshape((5, -1)), shapes=[[(3, 4, 5)]]),
    OpCase("reshape_function", lambda a: fastdl.reshape(a, (2, 6)), lambda a: a.reshape(2, 6),
           shapes=[[(3, 4)]]),
    OpCase("flatten", lambda a: a.flatten(), shapes=[[(3, 4)]]),
    OpCase("T", lambda a: a.T, shapes=[[(3, 4)], [(2, 3, 4)]]),
    OpCase("transpose_axes", lambda a: a.transpose(1, 0, 2), shapes=[[(2, 3, 4)]]),
    OpCase("transpose_negative_axes", lambda a: a.transpose((-1, 0, 1)), shapes=[[(2, 3, 4)]]),
    OpCase("transpose_function", lambda a: fastdl.transpose(a, (2, 0, 1)),
           lambda a: np.transpose(a, (2, 0, 1)), shapes=[[(2, 3, 4)]]),
    OpCase("permute", lambda a: a.permute(2, 0, 1), lambda a: np.transpose(a, (2, 0, 1)),
           shapes=[[(2, 3, 4)]], gpu_shapes=ON_GPU),
    OpCase("permute_function", lambda a: fastdl.permute(a, (1, 2, 0)),
           lambda a: np.transpose(a, (1, 2, 0)), shapes=[[(2, 3, 4)]]),
    OpCase("squeeze_all", lambda a: a.squeeze(), shapes=[[(3, 1, 4, 1)]], gpu_shapes=ON_GPU),
    OpCase("squeeze_axis", lambda a: a.squeeze(1), shapes=[[(3, 1, 4, 1)]]),
    OpCase("squeeze_negative_axis", lambda a: fastdl.squeeze(a, -1),
           lambda a: np.squeeze(a, -1), shapes=[[(3, 1, 4, 1)]]),
    OpCase("unsqueeze_0", lambda a: a.unsqueeze(0), lambda a: np.expand_dims(a, 0),
           shapes=[[(3, 4)]], gpu_shapes=ON_GPU),
    OpCase("unsqueeze_negative", lambda a: fastdl.unsqueeze(a, -1),
           lambda a: np.expand_dims(a, -1), shapes=[[(3, 4)]]),
    OpCase("unsqueeze_middle", lambda a: a.unsqueeze(1), lambda a: a[:, None],
           shapes=[[(3, 4)]]),
    OpCase("reshape_int", lambda a: fastdl.ops.reshape(a, 12), lambda a: a.reshape(12),
           shapes=[[(3, 4)]]),
    OpCase("expand_dims", lambda a: fastdl.ops.expand_dims(a, 1),
           lambda a: np.expand_dims(a, 1), shapes=[[(3, 4)]], gpu_shapes=ON_GPU),
    OpCase("expand_dims_several", lambda a: fastdl.ops.expand_dims(a, (0, -1)),
           lambda a: np.expand_dims(a, (0, -1)), shapes=[[(3, 4)], [()]]),
    OpCase("broadcast_to", lambda a: fastdl.ops.broadcast_to(a, (2, 3, 4)),
           lambda a: np.broadcast_to(a, (2, 3, 4)), shapes=[[(3, 1)], [(4,)], [()]],
           gpu_shapes=[[(3, 1)]]),
]

ROW_MASK = np.array([True, False, True, True])
MASK = np.random.default_rng(6).random((4, 5)) > 0.4

INDEXING = [
    OpCase("slices", lambda a: a[1:3, ::2], shapes=[[(4, 5)]], gpu_shapes=ON_GPU),
    OpCase("negative_steps", lambda a: a[::-1, -1:0:-2], shapes=[[(4, 5)]]),
    OpCase("integer", lambda a: a[1], shapes=[[(4, 5)]]),
    OpCase("ellipsis_negative", lambda a: a[..., -1], shapes=[[(4, 5)]]),
    OpCase("newaxis", lambda a: a[None, :, 2], shapes=[[(4, 5)]]),
    OpCase("int_array_repeated_rows", lambda a: a[np.array([0, 2, 0, 0])], shapes=[[(4, 5)]],
           gpu_shapes=ON_GPU),
    OpCase("int_arrays_repeated_elements",
           lambda a: a[np.array([0, 0, 3, 0]), np.array([1, 1, 4, 1])], shapes=[[(4, 5)]]),
    OpCase("list_with_slice", lambda a: a[1:, [4, 4, 0]], shapes=[[(4, 5)]]),
    OpCase("tensor_index", lambda a: a[fastdl.tensor([3, 3, 1])], lambda a: a[[3, 3, 1]],
           shapes=[[(4, 5)]]),
    OpCase("boolean_mask", lambda a: a[MASK], shapes=[[(4, 5)]]),
    OpCase("boolean_row_mask", lambda a: a[ROW_MASK], shapes=[[(4, 5)]]),
    OpCase("boolean_mask_tensor", lambda a: a[fastdl.tensor(MASK)], lambda a: a[MASK],
           shapes=[[(4, 5)]]),
    OpCase("iteration", lambda a: tuple(a), lambda a: tuple(a), shapes=[[(3, 4)], [(2, 3, 2)]],
           gpu_shapes=ON_GPU),
]

JOINING = [
    OpCase("concatenate_axis0", lambda *t: fastdl.concatenate(t),
           lambda *a: np.concatenate(a), shapes=[[(2, 3), (4, 3), (1, 3)]]),
    OpCase("concatenate_axis_-1", lambda *t: fastdl.concatenate(t, axis=-1),
           lambda *a: np.concatenate(a, axis=-1), shapes=[[(2, 1), (2, 3)]],
           gpu_shapes=[[(3, 4, 5), (3, 4, 5)]]),
    OpCase("stack_axis0", lambda *t: fastdl.stack(t), lambda *a: np.stack(a),
           shapes=[[(2, 3), (2, 3), (2, 3)]], gpu_shapes=[[(3, 4, 5), (3, 4, 5)]]),
    OpCase("stack_axis_-1", lambda *t: fastdl.stack(t, axis=-1),
           lambda *a: np.stack(a, axis=-1), shapes=[[(2, 3), (2, 3)]]),
    OpCase("stack_axis1", lambda *t: fastdl.stack(t, axis=1), lambda *a: np.stack(a, axis=1),
           shapes=[[(2, 3), (2, 3)]]),
    OpCase("split_sections", lambda a: tuple(fastdl.ops.split(a, 2, axis=1)),
           lambda a: tuple(np.split(a, 2, axis=1)), shapes=[[(3, 4)], [(2, 6, 1)]],
           gpu_shapes=ON_GPU),
    OpCase("split_indices", lambda a: tuple(fastdl.ops.split(a, [1, 3], axis=-1)),
           lambda a: tuple(np.split(a, [1, 3], axis=-1)), shapes=[[(3, 5)], [(2, 3)]]),
    OpCase("split_with_empty_pieces", lambda a: tuple(fastdl.ops.split(a, [0, 2, 2])),
           lambda a: tuple(np.split(a, [0, 2, 2])), shapes=[[(3, 2)]]),
    OpCase("pad_per_axis", lambda a: fastdl.pad(a, ((1, 2), (0, 1))),
           lambda a: np.pad(a, ((1, 2), (0, 1))), shapes=[[(2, 3)]]),
    OpCase("pad_per_axis_3d", lambda a: fastdl.pad(a, ((1, 0), (0, 2), (1, 1))),
           lambda a: np.pad(a, ((1, 0), (0, 2), (1, 1))), shapes=[[(3, 4, 5)]],
           gpu_shapes=ON_GPU),
    OpCase("pad_int_value", lambda a: fastdl.pad(a, 2, value=1.5),
           lambda a: np.pad(a, 2, constant_values=1.5), shapes=[[(2, 3)]]),
    OpCase("pad_pair", lambda a: fastdl.pad(a, (1, 0)), lambda a: np.pad(a, (1, 0)),
           shapes=[[(2, 3, 2)]]),
]

CASES = SHAPE_OPS + INDEXING + JOINING
