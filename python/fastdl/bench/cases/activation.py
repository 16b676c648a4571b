"""Element-wise activations, forward and forward+backward, against straightforward NumPy: the
activations and sizes the table of operation cases gives (fastdl.testing.op_cases.activation).

Backward follows ``fastdl.backend.cpu.activation_backward(name, grad, saved, alpha)``: ``saved``
is the output ``y`` for sigmoid and tanh (their derivatives are cheapest from it) and the input
``x`` otherwise. Memory-bound, so the rate is GB/s: bytes read plus written, each array once.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

import fastdl.backend.cpu as cpu
from fastdl.bench.harness import Case, Context, Impls, Skip, require
from fastdl.testing import op_cases

FAMILY = "activation"
ALPHA = 0.2  # leaky_relu slope, fastdl's default
QUICK_MAX = 10**6  # --quick keeps sizes up to this
_F32 = 4  # bytes per element

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# NumPy references, written as a NumPy user would, but in the fast spelling where two are common:
# a slow reference would flatter us. x*x*x, not x**3 (the power ufunc has no fast path for cubes);
# masks multiplied in, not np.where, whose per-element branch mispredicts on random signs and
# runs about ten times slower here.

_LEAKY_GAP = np.float32(1.0 - ALPHA)


def _leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, ALPHA * x)  # the same as np.where(x > 0, x, ALPHA * x) for 0 < ALPHA < 1


def _leaky_relu_grad(g: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return g * (_LEAKY_GAP * (x > 0) + np.float32(ALPHA))


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))))


def _gelu_tanh_grad(g: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x)))
    du = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * (x * x))
    return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)


def _gelu_erf(x: np.ndarray, erf: Callable) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x * _INV_SQRT_2))


def _gelu_erf_grad(g: np.ndarray, x: np.ndarray, y: np.ndarray, erf: Callable) -> np.ndarray:
    return g * (0.5 * (1.0 + erf(x * _INV_SQRT_2)) + x * np.exp(-0.5 * (x * x)) * _INV_SQRT_2PI)


@dataclass(frozen=True)
class Implementations:
    """How NumPy and PyTorch compute an activation and its gradient, and how fastdl's backward
    kernel takes it."""

    backward_name: str  # name passed to activation_backward
    saves_output: bool  # backward takes y (True) or x (False)
    numpy_fwd: Callable  # (x) -> y, or (x, erf) -> y when needs_erf
    numpy_bwd: Callable  # (g, x, y) -> dx, likewise with erf
    torch_fwd: Callable  # (torch, x) -> y
    torch_bwd: Callable  # (torch, g, x, y) -> dx, torch's own backward kernel
    needs_erf: bool = False


#: The table's activation cases (fastdl.testing.op_cases.activation) by name -> their NumPy and
#: PyTorch implementations.
IMPLEMENTATIONS = {
    "relu": Implementations(
        "relu", False,
        lambda x: np.maximum(x, 0),
        lambda g, x, y: g * (x > 0),
        lambda t, x: t.relu(x),
        lambda t, g, x, y: t.ops.aten.threshold_backward(g, x, 0.0),
    ),
    "leaky_relu": Implementations(
        "leaky_relu", False,
        _leaky_relu,
        _leaky_relu_grad,
        lambda t, x: t.nn.functional.leaky_relu(x, ALPHA),
        lambda t, g, x, y: t.ops.aten.leaky_relu_backward(g, x, ALPHA, False),
    ),
    "sigmoid": Implementations(
        "sigmoid", True,
        lambda x: 1.0 / (1.0 + np.exp(-x)),
        lambda g, x, y: g * y * (1.0 - y),
        lambda t, x: t.sigmoid(x),
        lambda t, g, x, y: t.ops.aten.sigmoid_backward(g, y),
    ),
    "tanh": Implementations(
        "tanh", True,
        np.tanh,
        lambda g, x, y: g * (1.0 - y * y),
        lambda t, x: t.tanh(x),
        lambda t, g, x, y: t.ops.aten.tanh_backward(g, y),
    ),
    "step": Implementations(
        "step", False,
        lambda x: (x > 0).astype(np.float32),
        lambda g, x, y: np.zeros_like(g),  # the Heaviside step has gradient 0
        lambda t, x: t.heaviside(x, t.zeros((), dtype=x.dtype)),
        lambda t, g, x, y: t.zeros_like(g),
    ),
    "gelu(approximate=True)": Implementations(
        "gelu_tanh", False,
        _gelu_tanh,
        _gelu_tanh_grad,
        lambda t, x: t.nn.functional.gelu(x, approximate="tanh"),
        lambda t, g, x, y: t.ops.aten.gelu_backward(g, x, approximate="tanh"),
    ),
    "gelu": Implementations(
        "gelu", False,
        _gelu_erf,
        _gelu_erf_grad,
        lambda t, x: t.nn.functional.gelu(x),
        lambda t, g, x, y: t.ops.aten.gelu_backward(g, x),
        needs_erf=True,
    ),
}


@dataclass(frozen=True)
class Activation:
    """One activation as the benchmark times it: its name in the report, fastdl's operation,
    the sizes the table gives it, and the other implementations."""

    label: str
    op: Callable  # (x) -> y, fastdl's activation with its arguments bound
    sizes: tuple[int, ...]
    impl: Implementations


def activations() -> list[Activation]:
    """The table's benchmarked activations, in its order."""
    return [Activation(case.bench[0].name, case.fn,
                       tuple(bench.shapes[0][0] for bench in case.bench),
                       IMPLEMENTATIONS[case.name])
            for case in op_cases.FAMILIES["activation"] if case.bench]


def _numpy_fns(act: Activation, ctx: Context) -> tuple[Callable, Callable]:
    """The NumPy forward and backward of ``act``, with SciPy's erf bound in where needed."""
    impl = act.impl
    if not impl.needs_erf:
        return impl.numpy_fwd, impl.numpy_bwd
    if ctx.scipy_special is None:
        raise Skip(f"{act.label}: SciPy is not importable, so there is no NumPy reference (erf)")
    erf = ctx.scipy_special.erf
    return functools.partial(impl.numpy_fwd, erf=erf), functools.partial(impl.numpy_bwd, erf=erf)


def forward_case(act: Activation, n: int, quick: bool) -> Case:
    """``y = act(x)`` on ``n`` float32 elements."""

    def setup(ctx: Context) -> Impls:
        np_fwd, _ = _numpy_fns(act, ctx)
        # Spread of 3 so that sigmoid/tanh/gelu are exercised well into their tails.
        x = ctx.rng.standard_normal(n, dtype=np.float32) * np.float32(3)
        impls: Impls = {"fastdl": lambda: act.op(x), "numpy": lambda: np_fwd(x)}
        torch = ctx.torch
        if torch is not None:
            tx = torch.from_numpy(x)
            impls["torch"] = lambda: act.impl.torch_fwd(torch, tx)
        return impls

    return Case(FAMILY, f"{act.label} fwd", f"n={n:,}", setup, nbytes=2.0 * n * _F32, quick=quick)


def forward_backward_case(act: Activation, n: int, quick: bool) -> Case:
    """``y = act(x)`` then ``dx = grad * act'(x)``, as one training step computes them."""

    def setup(ctx: Context) -> Impls:
        impl = act.impl
        ours_fwd = act.op
        ours_bwd = require(cpu, "activation_backward")
        alpha = ALPHA if impl.backward_name == "leaky_relu" else 0.0
        np_fwd, np_bwd = _numpy_fns(act, ctx)
        x = ctx.rng.standard_normal(n, dtype=np.float32) * np.float32(3)
        g = ctx.rng.standard_normal(n, dtype=np.float32)

        def fastdl_step():
            y = ours_fwd(x)
            return y, ours_bwd(impl.backward_name, g, y if impl.saves_output else x, alpha)

        def numpy_step():
            y = np_fwd(x)
            return y, np_bwd(g, x, y)

        impls: Impls = {"fastdl": fastdl_step, "numpy": numpy_step}
        torch = ctx.torch
        if torch is not None:
            tx, tg = torch.from_numpy(x), torch.from_numpy(g)

            def torch_step():
                y = impl.torch_fwd(torch, tx)
                return y, impl.torch_bwd(torch, tg, tx, y)

            impls["torch"] = torch_step
        return impls

    # Forward reads x and writes y; backward reads grad and x or y, and writes dx.
    return Case(FAMILY, f"{act.label} fwd+bwd", f"n={n:,}", setup, nbytes=5.0 * n * _F32,
                quick=quick)


def cases(sizes: Optional[Sequence[int]] = None) -> list[Case]:
    """Every activation case, in report order, at the table's sizes (or ``sizes``);
    ``--quick`` drops sizes above ``QUICK_MAX``."""
    out: list[Case] = []
    for act in activations():
        for make_case in (forward_case, forward_backward_case):
            out += [make_case(act, n, quick=n <= QUICK_MAX) for n in sizes or act.sizes]
    return out
