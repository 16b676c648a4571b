"""Elementwise activations on fastdl's kernels (relu, leaky_relu, sigmoid, tanh, step, gelu
and its tanh approximation, silu and softplus on the sigmoid kernel) and elu: sizes around the
vector width, empty and large, values spread wide enough to reach the saturated tails, with the
kink at 0 (and -0) among them.

>>> [case.name for case in CASES][:3]
['relu', 'leaky_relu', 'sigmoid']
"""
from typing import Callable

import numpy as np

import fastdl
from fastdl.testing import reference
from fastdl.testing.op_cases.case import (DEFAULT_TOLERANCE, FLOAT32, FLOAT64, BenchShape,
                                          OpCase, Shape, Tolerance, normal, uniform)


def with_kinks(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Normal values with standard deviation 4 (into sigmoid's, tanh's and gelu's flat tails),
    the first two of them set to 0 and -0, where relu, leaky_relu and step have their kink."""
    x = rng.standard_normal(shape) * 4
    x.reshape(-1)[:2] = [0.0, -0.0][:x.size]
    return x


# 1, 7, 9, 15, 17 and 4099 are not multiples of the vector width; 1000003 spreads over threads.
SIZES = [[(n,)] for n in (0, 1, 7, 8, 9, 15, 17, 4099, 1000003)]
SMALL = [[(3, 7)]]
# The sizes the gradients are compared with the reference's at.
GRAD_SIZES = [[(n,)] for n in (1, 9, 17, 4099)] + SMALL
ON_GPU = [[(8, 9)]]
BENCH_SIZES = (10**6, 10**7)

#: float64 gradients of sigmoid and tanh come from their rounded output (1 - y^2, y (1 - y)).
FROM_OUTPUT = {FLOAT32: Tolerance(1e-4, 1e-5), FLOAT64: Tolerance(1e-10, 1e-14)}
#: leaky_relu is one rounded product: float32 within 1e-6.
ONE_PRODUCT = {FLOAT32: Tolerance(1e-6, 0.0), FLOAT64: Tolerance(1e-12, 1e-14)}


def activation_case(name: str, fn: Callable, kernel_name: str, alpha: float = 0.0,
                    shapes: list = SMALL, gradcheck_shapes: list = SMALL,
                    bench_name: str = "", **extra) -> OpCase:
    """``fn(x)``, fastdl's activation ``kernel_name`` (leaky_relu's slope ``alpha``), benchmarked
    as ``bench_name`` where one is given; its gradient is gradchecked away from the kinks."""
    return OpCase(
        name, fn, lambda x: reference.activation(kernel_name, x, alpha),
        vjp=lambda grad, x: (grad * reference.activation_grad(kernel_name, x, alpha),),
        shapes=shapes, values=with_kinks,
        tolerance=ONE_PRODUCT if kernel_name == "leaky_relu" else DEFAULT_TOLERANCE,
        grad_tolerance=FROM_OUTPUT if kernel_name in ("sigmoid", "tanh") else None,
        gradcheck_shapes=gradcheck_shapes, gradcheck_values=uniform(-6.0, 6.0),
        gradcheck_tolerance=Tolerance(1e-6, 1e-8), kernel=True,
        bench=[BenchShape(((n,),), bench_name) for n in BENCH_SIZES] if bench_name else [],
        **extra)


def kernel_case(name: str, fn: Callable, kernel_name: str, alpha: float = 0.0,
                bench_name: str = "", **extra) -> OpCase:
    """An activation at every size, gradchecked at (3, 7) and (257,), and benchmarked."""
    return activation_case(name, fn, kernel_name, alpha, shapes=SIZES + SMALL,
                           grad_shapes=GRAD_SIZES, gradcheck_shapes=SMALL + [[(257,)]],
                           bench_name=bench_name or name, **extra)


CASES = [
    kernel_case("relu", fastdl.relu, "relu", gpu_shapes=ON_GPU),
    kernel_case("leaky_relu", fastdl.leaky_relu, "leaky_relu", 0.2, gpu_shapes=ON_GPU),
    kernel_case("sigmoid", fastdl.sigmoid, "sigmoid", gpu_shapes=ON_GPU),
    kernel_case("tanh", fastdl.tanh, "tanh", gpu_shapes=ON_GPU),
    kernel_case("step", fastdl.step, "step"),
    kernel_case("gelu(approximate=True)", lambda x: fastdl.gelu(x, approximate=True),
                "gelu_tanh", bench_name="gelu tanh-approx"),
    kernel_case("gelu", fastdl.gelu, "gelu", bench_name="gelu exact", gpu_shapes=ON_GPU),
    activation_case("x.relu()", lambda x: x.relu(), "relu"),
    activation_case("leaky_relu(negative_slope=0.05)", lambda x: fastdl.leaky_relu(x, 0.05),
                    "leaky_relu", 0.05),
    activation_case("leaky_relu(negative_slope=0.1)",
                    lambda x: fastdl.leaky_relu(x, negative_slope=0.1),
                    "leaky_relu", 0.1),
    activation_case("x.sigmoid()", lambda x: x.sigmoid(), "sigmoid"),
    activation_case("x.tanh()", lambda x: x.tanh(), "tanh"),
]

GLUE_SIZES = [[(n,)] for n in (0, 1, 9, 17, 4099)] + SMALL
CASES += [
    OpCase("silu", fastdl.ops.silu, reference.silu,
           vjp=lambda grad, x: (grad * reference.silu_grad(x),), shapes=GLUE_SIZES,
           values=with_kinks, gradcheck_shapes=SMALL, gradcheck_values=uniform(-6.0, 6.0),
           kernel=True, gpu_shapes=ON_GPU),
    OpCase("softplus", fastdl.ops.softplus, reference.softplus,
           vjp=lambda grad, x: (grad * reference.activation("sigmoid", x),),
           shapes=GLUE_SIZES, values=normal(30.0), gradcheck_shapes=SMALL,
           gradcheck_values=uniform(-6.0, 6.0), kernel=True, gpu_shapes=ON_GPU),
    *[OpCase(name, fn, lambda x, a=alpha: reference.elu(x, a),
             vjp=lambda grad, x, a=alpha: (grad * reference.elu_grad(x, a),),
             shapes=GLUE_SIZES, values=with_kinks, gradcheck_shapes=SMALL,
             gradcheck_values=uniform(-6.0, 6.0), gpu_shapes=ON_GPU if alpha == 1.0 else [])
      for name, fn, alpha in [("elu", fastdl.ops.elu, 1.0),
                              ("elu(alpha=0.5)", lambda x: fastdl.ops.elu(x, alpha=0.5), 0.5)]],
]
