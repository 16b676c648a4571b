"""Arithmetic with NumPy's broadcasting: the Tensor operators (``+ - * / ** -x``), with Tensors
and Python numbers on either side, and the functions of fastdl.ops. The operators' reference is
the same expression on float64 NumPy arrays, the functions' NumPy's functions.

>>> [case.name for case in CASES][:3]
['add', 'add_python_scalar', 'radd_python_scalar']
"""
import numpy as np

from fastdl import ops
from fastdl.testing.op_cases.case import POSITIVE, OpCase

CASES = [
    OpCase("add", lambda a, b: a + b,
           shapes=[[(3, 4), (3, 4)], [(3, 1), (1, 4)], [(4,), (2, 3, 4)], [(2, 3, 4), (4,)],
                   [(3, 4), ()]],
           gpu_shapes=[[(3, 4), (4,)], [(7, 3), (7, 3)], [(4, 4), (4, 4)]]),
    OpCase("add_python_scalar", lambda a: a + 1.5, shapes=[[(3, 4)]], gpu_shapes=[[(5,)]]),
    OpCase("radd_python_scalar", lambda a: 1.5 + a, shapes=[[(3, 4)]]),
    OpCase("sub", lambda a, b: a - b,
           shapes=[[(3, 4), (3, 4)], [(3, 1), (1, 4)], [(4,), (2, 3, 4)]],
           gpu_shapes=[[(3, 1), (1, 5)]]),
    OpCase("rsub_python_scalar", lambda a: 2 - a, shapes=[[(3, 4)]]),
    OpCase("mul", lambda a, b: a * b,
           shapes=[[(3, 4), (3, 4)], [(3, 1), (1, 4)], [(2, 3, 4), (4,)], [(), ()]],
           gpu_shapes=[[(2, 3, 4), (3, 1)]]),
    OpCase("mul_self", lambda a: a * a, shapes=[[(3, 4)]], gpu_shapes=[[(5,)]]),
    OpCase("mul_python_scalar", lambda a: a * 2, shapes=[[(3, 4)]], gpu_shapes=[[(4, 4)]]),
    OpCase("rmul_python_scalar", lambda a: 3 * a, shapes=[[(3, 4)]]),
    OpCase("div", lambda a, b: a / b, values=POSITIVE,
           shapes=[[(3, 4), (3, 4)], [(3, 1), (1, 4)], [(4,), (2, 3, 4)]],
           gpu_shapes=[[(5,), (5,)]]),
    OpCase("div_python_scalar", lambda a: a / 4, shapes=[[(3, 4)]]),
    OpCase("rdiv_python_scalar", lambda a: 1 / a, values=POSITIVE, shapes=[[(3, 4)]]),
    OpCase("pow_int_exponent", lambda a: a ** 3, shapes=[[(3, 4)]]),
    OpCase("pow_float_exponent", lambda a: a ** 2.5, values=POSITIVE, shapes=[[(3, 4)]],
           gpu_shapes=[[(5, 7)]]),
    OpCase("pow_tensor_tensor", lambda a, b: a ** b, values=POSITIVE,
           shapes=[[(3, 4), (3, 4)], [(3, 1), (4,)]]),
    OpCase("rpow_python_scalar", lambda a: 2.0 ** a, shapes=[[(3, 4)]]),
    OpCase("neg", lambda a: -a, shapes=[[(3, 4)]], gpu_shapes=[[(7, 3)]]),
    OpCase("add_function", ops.add, np.add, shapes=[[(3, 4), (4,)]]),
    OpCase("subtract_function", ops.subtract, np.subtract, shapes=[[(3, 1), (1, 4)]]),
    OpCase("multiply_function", ops.multiply, np.multiply, shapes=[[(2, 3, 4), (3, 1)]]),
    OpCase("divide_function", ops.divide, np.divide, values=POSITIVE, shapes=[[(3, 4), (4,)]]),
    OpCase("power_function", ops.power, np.power, values=POSITIVE, shapes=[[(3, 4), (3, 4)]]),
    OpCase("negative_function", ops.negative, np.negative, shapes=[[(3, 4)]]),
]
