"""Matrix products on fastdl's GEMM: matmul (NumPy's semantics: batch dimensions broadcast,
1-D operands) at awkward sizes (1, primes, around the 6x16 micro-tile and the MC=144/KC=256
cache blocks, long K), and linear (``activation(x @ w + b)`` fused) with every activation.

>>> [case.name for case in CASES][:2]
['matmul', 'matmul_operator']
"""
import math
from typing import Optional

import numpy as np

import fastdl
from fastdl.testing import reference
from fastdl.testing.op_cases.case import (FLOAT32, FLOAT64, BenchShape, OpCase, Shapes, Sums,
                                          Tolerance, fan_in_normal, normal)


def matmul_sums(shapes: Shapes) -> Sums:
    """The product sums over K; the gradient of a sums over N, that of b over M, each also over
    the batch products the operand was broadcast to."""
    a, b = shapes
    m, n = (a[-2] if len(a) > 1 else 1), (b[-1] if len(b) > 1 else 1)
    products = math.prod(np.broadcast_shapes(a[:-2], b[:-2]))
    return Sums(outputs=(a[-1],), grads=(n * products // math.prod(a[:-2]),
                                         m * products // math.prod(b[:-2])))


#: float32: rtol 1e-4 and an atol that grows like sqrt(K) (a sum of K rounded products of
#: unit-variance data); float64 likewise, scaled to its epsilon.
GEMM_TOLERANCE = {FLOAT32: Tolerance(1e-4, 1e-5), FLOAT64: Tolerance(1e-12, 1e-13)}
PRODUCT = dict(reference=reference.matmul, vjp=reference.matmul_grads, sums=matmul_sums,
               tolerance=GEMM_TOLERANCE, kernel=True, gpu_tolerance=Tolerance(1e-4, 1e-5))

# (M, K, N): 1, primes, around the micro-tile, around the cache blocks, long K.
GEMM_SIZES = [
    (1, 1, 1), (1, 7, 1), (2, 3, 5), (5, 1, 7), (6, 16, 16), (7, 17, 15), (13, 29, 31),
    (12, 5, 33), (64, 128, 10), (64, 784, 128), (97, 131, 89), (145, 257, 17),
    (150, 300, 130), (3, 4096, 19), (31, 1000, 2),
]
BATCHED = [
    [(4, 7, 9), (4, 9, 5)],          # batched
    [(4, 7, 9), (9, 5)],             # shared weight: folded into one tall product
    [(7, 9), (4, 9, 5)],             # shared left operand
    [(3, 1, 6, 8), (1, 4, 8, 2)],    # broadcast batch dimensions
    [(2, 3, 5, 4), (4, 6)],
    [(9,), (9, 5)],                  # 1-D operands, squeezed as NumPy does
    [(4, 7, 9), (9,)],
    [(9,), (9,)],
    [(64, 16, 64), (64, 64, 16)],    # many small products, one per thread
]
EMPTY = [[(0, 3), (3, 4)], [(3, 0), (0, 4)], [(3, 4), (4, 0)], [(0, 0), (0, 0)]]

#: (batch, in, hidden, out) of the MNIST MLP: Dense(784->128)-ReLU-Dense(128->10), batch 64.
MLP = (64, 784, 128, 10)


def _product_bench() -> list:
    """The benchmark's products: square sizes, the MNIST MLP's products forward and backward
    (with the transposed views autograd hands to the kernel), tall-skinny and odd shapes."""
    batch, d_in, hidden, d_out = MLP
    mlp = [  # name, m, k, n, a transposed, b transposed
        ("mlp fwd1 x@W1", batch, d_in, hidden, False, False),
        ("mlp fwd2 h@W2", batch, hidden, d_out, False, False),
        ("mlp dW1 x.T@dY", d_in, batch, hidden, True, False),
        ("mlp dW2 h.T@dY", hidden, batch, d_out, True, False),
        ("mlp dX2 dY@W2.T", batch, d_out, hidden, False, True),
        ("mlp dX1 dY@W1.T", batch, hidden, d_in, False, True),
    ]
    products = [("square", n, n, n, False, False) for n in (64, 128, 256, 512, 1024, 2048)]
    products += mlp + [("tall-skinny", 10000, 64, 64, False, False),
                       ("short-wide K", 64, 10000, 64, False, False),
                       ("odd", 97, 131, 89, False, False),
                       ("outer K=1", 1000, 1, 1000, False, False)]
    return [BenchShape(((m, k), (k, n)), name, (ta, tb)) for name, m, k, n, ta, tb in products]


def linear_sums(shapes: Shapes) -> Sums:
    """The product sums over the inputs; dx sums over the outputs, dw and db over the rows."""
    x, w = shapes[:2]
    rows = math.prod(x[:-1])
    return Sums(outputs=(1,), grads=(w[1], rows, rows))


def linear_case(activation: Optional[str], bias: bool, small: list, large: list,
                **extra) -> OpCase:
    """``linear(x, w, b, activation)`` (``b`` left out without ``bias``), with weights of
    variance 1/fan_in so that no activation saturates; gradchecked at the ``small`` shapes, its
    gradients compared with the reference's there and across three K blocks."""
    name = f"linear(activation={activation!r}{'' if bias else ', no bias'})"

    def fn(x, w, b=None):
        return fastdl.linear(x, w, b, activation)

    def ref(x, w, b=None):
        return reference.linear(x, w, b, activation)

    def vjp(grad, x, w, b=None):
        dx, dw, db = reference.linear_grads(grad, x, w, b, activation)
        return (dx, dw, db) if bias else (dx, dw)

    def inputs(shape_sets: list) -> list:
        return shape_sets if bias else [shapes[:2] for shapes in shape_sets]

    return OpCase(name, fn, ref, shapes=inputs(small + large),
                  grad_shapes=inputs(small + [THREE_K_BLOCKS]), gradcheck_shapes=inputs(small),
                  values=(normal(), fan_in_normal, normal()),
                  tolerance={FLOAT32: Tolerance(1e-4, 1e-5), FLOAT64: Tolerance(1e-12, 1e-13)},
                  sums=linear_sums, vjp=vjp, kernel=True, gpu_tolerance=Tolerance(1e-4, 1e-5),
                  **extra)


def _dense(m: int, k: int, n: int) -> Shapes:
    return ((m, k), (k, n), (n,))


# K = 600 spans three K blocks: bias and activation must be applied once, after the last.
THREE_K_BLOCKS = _dense(5, 600, 33)
LINEAR_SIZES = [_dense(64, 784, 128), _dense(64, 128, 10), THREE_K_BLOCKS, _dense(1, 3, 1)]
EPILOGUE_SIZES = [_dense(1, 3, 5), _dense(37, 53, 29), _dense(130, 300, 70)]
SMALL = _dense(5, 4, 3)

CASES = [
    OpCase("matmul", fastdl.matmul, values=normal(),
           shapes=[[(m, k), (k, n)] for m, k, n in GEMM_SIZES] + BATCHED + EMPTY
           + [[(3, 4), (4, 2)]],
           grad_shapes=BATCHED + [[(3, 4), (4, 2)]], gradcheck_shapes=[[(3, 4), (4, 2)]],
           bench=_product_bench(), **PRODUCT),
    OpCase("matmul_operator", lambda a, b: a @ b,
           shapes=[[(3, 4), (4, 5)], [(2, 3, 4), (2, 4, 5)], [(2, 1, 3, 4), (3, 4, 5)],
                   [(3, 4), (2, 4, 5)], [(2, 3, 4), (4, 5)], [(4,), (4, 5)], [(3, 4), (4,)],
                   [(4,), (4,)], [(4,), (2, 4, 5)], [(2, 3, 4), (4,)]],
           gpu_shapes=[[(5, 7), (7, 3)], [(2, 5, 7), (7, 3)], [(7,), (7, 3)]], **PRODUCT),
    linear_case(None, True, [SMALL, ((4,), (4, 3), (3,))], LINEAR_SIZES),
    linear_case("relu", True, [SMALL], [((2, 3, 8), (8, 4), (4,))] + LINEAR_SIZES
                + EPILOGUE_SIZES, gpu_shapes=[_dense(9, 6, 4)],
                bench=[BenchShape(_dense(*MLP[:3]), "linear+relu fwd1"),
                       BenchShape(_dense(MLP[0], *MLP[2:]), "linear+relu fwd2")]),
    linear_case("sigmoid", True, [SMALL], LINEAR_SIZES + EPILOGUE_SIZES),
    linear_case("tanh", True, [SMALL, ((2, 5, 4), (4, 3), (3,))], LINEAR_SIZES + EPILOGUE_SIZES,
                gpu_shapes=[((2, 9, 6), (6, 4), (4,))]),
]
CASES += [linear_case(activation, False, [SMALL], LINEAR_SIZES)
          for activation in (None, "relu", "sigmoid", "tanh")]
