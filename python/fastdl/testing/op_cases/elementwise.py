"""Elementwise functions: exp, log, log1p, sqrt, square, abs, sign, erf, clip, maximum, minimum
and where, as functions, methods and operators, against NumPy's (erf against the C library's).

>>> [case.name for case in CASES][:3]
['exp', 'exp_method', 'log']
"""
import numpy as np

import fastdl
from fastdl.testing import reference
from fastdl.testing.op_cases.case import POSITIVE, OpCase, uniform

#: The fixed condition of the where cases with a given one.
CONDITION = np.random.default_rng(5).random((3, 4)) > 0.5

CASES = [
    OpCase("exp", fastdl.exp, np.exp, shapes=[[(3, 4)]]),
    OpCase("exp_method", lambda a: a.exp(), np.exp, shapes=[[(3, 4)]],
           gpu_shapes=[[(5, 7)]]),
    OpCase("log", fastdl.log, np.log, values=POSITIVE, shapes=[[(3, 4)]],
           gpu_shapes=[[(5, 7)]]),
    OpCase("log1p", fastdl.ops.log1p, np.log1p, vjp=lambda g, x: (g / (1 + x),),
           values=uniform(-0.5, 2.0), shapes=[[(3, 4)], [(1,)], [(0,)]], gpu_shapes=[[(5, 7)]]),
    OpCase("sqrt", fastdl.sqrt, np.sqrt, values=POSITIVE, shapes=[[(3, 4)]],
           gpu_shapes=[[(5, 7)]]),
    OpCase("square", fastdl.ops.square, np.square, vjp=lambda g, x: (2 * g * x,),
           shapes=[[(3, 4)], [(17,)]], gpu_shapes=[[(5, 7)]]),
    OpCase("sign", fastdl.ops.sign, np.sign, vjp=lambda g, x: (np.zeros_like(x),),
           shapes=[[(3, 4)], [(0,)]], gpu_shapes=[[(5, 7)]]),
    # Both of erf's formulas (|x| below and above 2), and their seam.
    OpCase("erf", fastdl.ops.erf, reference.erf,
           vjp=lambda g, x: (g * reference.erf_grad(x),), values=uniform(-5.0, 5.0),
           shapes=[[(3, 4)], [(257,)], [(1,)], [(0,)]], gpu_shapes=[[(9, 33)]]),
    OpCase("erf_near_the_seam", fastdl.ops.erf, reference.erf, values=uniform(1.99, 2.01),
           shapes=[[(64,)]]),
    OpCase("abs", abs, shapes=[[(3, 4)]], gpu_shapes=[[(7, 3)]]),
    OpCase("abs_function", fastdl.abs, np.abs, shapes=[[(3, 4)]]),
    OpCase("clip", lambda a: a.clip(-0.5, 0.7), shapes=[[(3, 4)]], gpu_shapes=[[(7, 3)]]),
    OpCase("clip_lower_only", lambda a: fastdl.clip(a, x_min=-0.5),
           lambda a: np.clip(a, -0.5, None), shapes=[[(3, 4)]]),
    OpCase("clip_upper_only", lambda a: fastdl.clip(a, x_max=0.5),
           lambda a: np.clip(a, None, 0.5), shapes=[[(3, 4)]]),
    OpCase("maximum", fastdl.maximum, np.maximum, shapes=[[(3, 4), (3, 4)], [(3, 1), (1, 4)]],
           gpu_shapes=[[(4, 4), (4, 4)]]),
    OpCase("minimum", fastdl.minimum, np.minimum,
           shapes=[[(3, 4), (3, 4)], [(4,), (2, 3, 4)]], gpu_shapes=[[(4, 4), (4, 4)]]),
    OpCase("where", lambda a, b: fastdl.where(CONDITION, a, b),
           lambda a, b: np.where(CONDITION, a, b), shapes=[[(3, 4), (3, 4)], [(3, 1), (4,)]]),
    OpCase("where_tensor_condition", lambda a: fastdl.where(fastdl.tensor(CONDITION), a, 0.5),
           lambda a: np.where(CONDITION, a, 0.5), shapes=[[(3, 4)]]),
    OpCase("where_computed_condition", lambda a: fastdl.where(a > 0, a, a * a),
           lambda a: np.where(a > 0, a, a * a), shapes=[[(3, 4)]]),
    OpCase("where_computed_condition_of_two", lambda a, b: fastdl.where(a > 0, a, b),
           lambda a, b: np.where(a > 0, a, b), shapes=[[(6,), (6,)]],
           gpu_shapes=[[(6,), (6,)]]),
]
