"""What an operation case is: :class:`OpCase` (an operation with its arguments bound, its
float64 reference, the input shapes and values to check it at, and how closely), the
tolerances, the samplers that draw its inputs, and the benchmark shapes.

>>> import numpy as np, fastdl
>>> case = OpCase("exp", fastdl.exp, reference=np.exp, shapes=[[(3, 4)]])
>>> case.shapes, case.dtypes
((((3, 4),),), (dtype('float32'), dtype('float64')))
>>> [x.shape for x in case.inputs(case.shapes[0], np.float32)]
[(3, 4)]
>>> Tolerance(1e-4, 1e-5).scaled(100)
Tolerance(rtol=0.0001, atol=0.0001)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

Shape = tuple[int, ...]
#: The shapes of one call's inputs, one per input.
Shapes = tuple[Shape, ...]
#: Draws float64 values of a shape: ``sampler(rng, shape) -> array``.
Sampler = Callable[[np.random.Generator, Shape], np.ndarray]

FLOAT32, FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)


@dataclass(frozen=True)
class Tolerance:
    """Closeness as :func:`numpy.testing.assert_allclose` checks it:
    ``|got - want| <= atol + rtol * |want|`` elementwise."""

    rtol: float
    atol: float

    def scaled(self, length: int) -> Tolerance:
        """The tolerance of a result that sums ``length`` rounded terms: the rounding error of
        such a sum grows like ``sqrt(length)``, and so does atol."""
        return Tolerance(self.rtol, self.atol * math.sqrt(max(length, 1)))


#: float32: rtol 1e-4, atol 1e-5 (DESIGN.md); float64: what its epsilon allows.
DEFAULT_TOLERANCE: Mapping[np.dtype, Tolerance] = {
    FLOAT32: Tolerance(1e-4, 1e-5), FLOAT64: Tolerance(1e-12, 1e-14)}
#: fastdl.gradcheck's closeness of analytic and central-difference gradients (float64).
GRADCHECK_TOLERANCE = Tolerance(1e-6, 1e-7)
#: The GPU's float32 results against the CPU's on the same inputs.
GPU_TOLERANCE = Tolerance(1e-5, 1e-6)


@dataclass(frozen=True)
class Sums:
    """The lengths of the sums behind each output and behind the gradient of each input, for
    one set of input shapes: float32 rounding grows with them (see :meth:`Tolerance.scaled`)."""

    outputs: tuple[int, ...]
    grads: tuple[int, ...] = ()


@dataclass(frozen=True)
class BenchShape:
    """One shape ``python -m fastdl.bench`` times an operation at.

    ``shapes`` are the input shapes; ``name`` is the benchmark case's name where the report
    gives this shape one of its own (``'square'``, ``'cnn conv1'``); ``transposed`` marks the
    inputs handed over as the ``.T`` view of a C-ordered array, as autograd hands them to a
    product in a backward pass."""

    shapes: Shapes
    name: str = ""
    transposed: tuple[bool, ...] = ()


# --------------------------------------------------------------------------- samplers


def uniform(low: float, high: float) -> Sampler:
    """Values uniform in [low, high)."""

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        return np.asarray(rng.uniform(low, high, shape))

    return draw


def normal(scale: float = 1.0) -> Sampler:
    """Normal values with standard deviation ``scale``."""

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        return rng.standard_normal(shape) * scale

    return draw


#: Values in [0.5, 2): away from 0, for logarithms, divisors and fractional powers.
POSITIVE = uniform(0.5, 2.0)


def fan_in_normal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Normal weights with variance ``1 / shape[0]``: a product with them stays of the order of
    its other operand, as in a trained network, so that activations are not saturated."""
    return rng.standard_normal(shape) / math.sqrt(max(shape[0], 1))


def distinct(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Values 0.1 apart, in a random order: no ties anywhere (every maximum is unique), and no
    two within a central difference of each other."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 3.0


# --------------------------------------------------------------------------- the case


def _shape_sets(shapes: Sequence[Sequence[Sequence[int]]]) -> tuple[Shapes, ...]:
    return tuple(tuple(tuple(int(n) for n in shape) for shape in call) for call in shapes)


def _as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a case is one row
class OpCase:
    """One row of the operation table: an operation with its arguments bound, and everything
    needed to check it and time it.

    ``fn(*inputs)`` calls the operation under test on Tensors (or, for glue operations that
    NumPy shares, on arrays) and returns a Tensor or a tuple of Tensors. ``reference`` computes
    the same in float64 NumPy (None: ``fn`` itself on float64 arrays, for the operators and
    methods NumPy arrays share). ``shapes`` lists the input shapes to check values at, in every
    dtype of ``dtypes``, with inputs drawn by ``values`` (one sampler, or one per input) from a
    generator seeded with 0: a failure reproduces from the row alone.

    Outputs must match the reference within ``tolerance[dtype]``, each atol scaled by the
    lengths of the sums behind it where ``sums`` states them. The case is differentiable with
    respect to the inputs ``grad_wrt`` (None: all; ``()``: none). Where ``vjp(grad, *inputs)``
    gives the float64 input gradients for the output cotangent ``grad`` (a tuple of them for an
    operation with several outputs), the gradients are checked in every dtype too at
    ``grad_shapes`` (default: ``shapes``), within ``grad_tolerance`` (default ``tolerance``),
    also with only the inputs of each subset in ``partial_grads`` requiring them (kernels skip
    the work for the others).

    ``gradcheck_shapes`` (default: ``shapes``) are checked by :func:`fastdl.gradcheck` in
    float64 within ``gradcheck_tolerance``, with inputs drawn by ``gradcheck_values`` where
    central differences need other values (no ties, away from kinks). A ``kernel`` case runs its
    value checks on every CPU kernel set (ISA) the machine has, and at each of ``threads``
    (empty: the default thread count). ``gpu_shapes`` are checked on the GPU against the CPU in
    float32 within ``gpu_tolerance``. ``bench`` lists the shapes ``python -m fastdl.bench``
    times the operation at.
    """

    name: str
    fn: Callable[..., Any]
    reference: Optional[Callable[..., Any]] = None
    shapes: tuple[Shapes, ...] = ()
    values: Union[Sampler, tuple[Sampler, ...]] = uniform(-2.0, 2.0)
    dtypes: tuple[np.dtype, ...] = (FLOAT32, FLOAT64)
    tolerance: Mapping[np.dtype, Tolerance] = field(default_factory=lambda: DEFAULT_TOLERANCE)
    grad_tolerance: Optional[Mapping[np.dtype, Tolerance]] = None
    sums: Optional[Callable[[Shapes], Sums]] = None
    grad_wrt: Optional[tuple[int, ...]] = None
    vjp: Optional[Callable[..., tuple]] = None
    grad_shapes: Optional[tuple[Shapes, ...]] = None
    partial_grads: tuple[tuple[int, ...], ...] = ()
    gradcheck_shapes: Optional[tuple[Shapes, ...]] = None
    gradcheck_values: Optional[Union[Sampler, tuple[Sampler, ...]]] = None
    gradcheck_tolerance: Tolerance = GRADCHECK_TOLERANCE
    kernel: bool = False
    threads: tuple[int, ...] = ()
    gpu_shapes: tuple[Shapes, ...] = ()
    gpu_tolerance: Tolerance = GPU_TOLERANCE
    bench: tuple[BenchShape, ...] = ()

    def __post_init__(self) -> None:
        # Rows are written with lists for brevity; they are kept as tuples.
        normalized = {
            "shapes": _shape_sets(self.shapes),
            "gpu_shapes": _shape_sets(self.gpu_shapes),
            "grad_shapes": _shape_sets(self.shapes if self.grad_shapes is None
                                       else self.grad_shapes),
            "gradcheck_shapes": (None if self.gradcheck_shapes is None
                                 else _shape_sets(self.gradcheck_shapes)),
            "dtypes": tuple(np.dtype(d) for d in self.dtypes),
            "bench": tuple(self.bench),
        }
        for name, value in normalized.items():
            object.__setattr__(self, name, value)
        if not set(self.grad_shapes) <= set(self.shapes):
            raise ValueError(f"{self.name}: grad_shapes must be among shapes (the value checks "
                             f"take the gradients)")

    @property
    def shapes_to_gradcheck(self) -> tuple[Shapes, ...]:
        """The input shapes :func:`fastdl.gradcheck` runs at; none when not differentiable."""
        if self.grad_wrt == ():
            return ()
        return self.shapes if self.gradcheck_shapes is None else self.gradcheck_shapes

    def differentiable_inputs(self, count: int) -> tuple[int, ...]:
        """The positions of the inputs gradients are taken for, among ``count`` inputs."""
        return tuple(range(count)) if self.grad_wrt is None else self.grad_wrt

    def inputs(self, shapes: Shapes, dtype: Any, gradcheck: bool = False) -> list[np.ndarray]:
        """The inputs of one call, drawn for ``shapes`` from a generator seeded with 0, in
        ``dtype`` (with ``gradcheck``, by ``gradcheck_values`` where the case has them)."""
        samplers = self.gradcheck_values if gradcheck and self.gradcheck_values else self.values
        samplers = samplers if isinstance(samplers, tuple) else (samplers,) * len(shapes)
        rng = np.random.default_rng(0)
        return [np.asarray(draw(rng, shape), np.float64).astype(dtype)
                for draw, shape in zip(samplers, shapes)]

    def expected(self, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        """The reference outputs for ``inputs``, in float64, as a tuple."""
        arrays = [np.asarray(a, np.float64) for a in inputs]
        outputs = (self.reference or self.fn)(*arrays)
        return tuple(np.asarray(out, np.float64) for out in _as_tuple(outputs))

    def expected_grads(self, cotangents: Sequence[np.ndarray],
                       inputs: Sequence[np.ndarray]) -> tuple[Optional[np.ndarray], ...]:
        """The reference input gradients (``vjp``) for the output cotangents, in float64."""
        if self.vjp is None:
            raise ValueError(f"{self.name}: the case has no reference gradients (vjp)")
        grad = cotangents[0] if len(cotangents) == 1 else tuple(cotangents)
        grads = self.vjp(grad, *[np.asarray(a, np.float64) for a in inputs])
        return tuple(None if g is None else np.asarray(g, np.float64) for g in grads)

    def output_tolerance(self, shapes: Shapes, dtype: Any, index: int) -> Tolerance:
        """How closely output ``index`` must match the reference for inputs of ``shapes``."""
        tolerance = self.tolerance[np.dtype(dtype)]
        return tolerance.scaled(self.sums(shapes).outputs[index]) if self.sums else tolerance

    def input_grad_tolerance(self, shapes: Shapes, dtype: Any, index: int) -> Tolerance:
        """How closely the gradient of input ``index`` must match the reference."""
        tolerance = (self.grad_tolerance or self.tolerance)[np.dtype(dtype)]
        return tolerance.scaled(self.sums(shapes).grads[index]) if self.sums else tolerance


def as_pair(value: Any) -> tuple:
    """An int or a pair of ints (a window or stride argument) as a (height, width) pair.

    >>> as_pair(2), as_pair((3, 1))
    ((2, 2), (3, 1))
    """
    return (value, value) if isinstance(value, int) else tuple(value)


def shapes_id(shapes: Shapes) -> str:
    """A short test id for a set of input shapes: ``'3x4,4'``, ``'()'`` for a 0-d input.

    >>> shapes_id(((3, 4), (4,), ()))
    '3x4,4,()'
    """
    return ",".join("x".join(map(str, shape)) if shape else "()" for shape in shapes)
