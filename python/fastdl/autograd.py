"""Reverse-mode automatic differentiation.

A :class:`Function` is one differentiable operation on arrays, with one or several outputs.
``Function.apply`` runs its ``forward`` on the inputs' arrays and, when gradients are wanted,
records the inputs on the Function instance, which then serves as the node of the graph and as
the ``ctx`` its ``backward`` receives. :meth:`Tensor.backward` walks the nodes in an iterative
topological order (no recursion limit): a node runs once every consumer of its outputs has
passed its gradient on, gradients add up where a tensor is used more than once, and what the
nodes saved is freed afterwards unless asked to keep the graph (``retain_graph=True``).

>>> import fastdl
>>> x = fastdl.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from fastdl import _C
from fastdl.backend import array_module
from fastdl.tensor import Tensor


def is_grad_enabled() -> bool:
    """Whether operations record the graph for :meth:`Tensor.backward`."""
    return _C.is_grad_enabled()


class _GradMode:
    """Sets the grad mode on entering a ``with`` block and restores the previous one on exit."""

    enabled = True

    def __enter__(self) -> None:
        self._previous = _C.set_grad_enabled(self.enabled)

    def __exit__(self, *exc) -> None:
        _C.set_grad_enabled(self._previous)


class no_grad(_GradMode):
    """Context manager and decorator that turns graph recording off.

    >>> import fastdl
    >>> w = fastdl.ones(3, requires_grad=True)
    >>> with fastdl.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    >>> @fastdl.no_grad()
    ... def predict(x):
    ...     return x * w
    >>> predict(fastdl.ones(3)).requires_grad
    False
    """

    enabled = False

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradMode):
    """Turns graph recording on or off: at once when called, and back to the previous mode at
    the end of a ``with`` block when used as one.

    >>> import fastdl
    >>> with fastdl.set_grad_enabled(False):
    ...     fastdl.is_grad_enabled()
    False
    >>> fastdl.is_grad_enabled()
    True
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = bool(enabled)
        self._previous = _C.set_grad_enabled(self.enabled)

    def __enter__(self) -> None:
        pass  # the mode was set when the object was made


class Function:
    """One differentiable operation: subclass it to add one.

    ``forward(ctx, *args, **kwargs)`` works on arrays (Tensor arguments arrive as their arrays,
    anything else as it is) and returns an array, or a tuple of arrays for several outputs;
    ``apply`` then returns a Tensor, or a tuple of Tensors. Outputs that are not floating
    (indices, masks) are plain tensors outside the graph.

    ``backward(ctx, *grads)`` receives one gradient per output and returns one gradient per
    positional argument of ``forward`` (None where there is none, or for an argument that needs
    none: see :meth:`needs_grad`), each with that argument's shape. An output that did not reach
    the loss gets zeros of its shape and dtype, so that ``backward`` can always compute; a
    Function that can skip the work instead sets ``materialize_grads = False`` and receives None
    for it. A node whose outputs received nothing at all is not run.

    ``ctx`` is the Function instance: attributes set on it in ``forward`` are there in
    ``backward``. ``ctx.requires_grad`` tells ``forward`` whether anything will be kept.

    A custom operation with two outputs, the sine and the cosine, used once each:

    >>> import numpy as np, fastdl
    >>> class SinCos(fastdl.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.x = x
    ...         return np.sin(x), np.cos(x)
    ...     @staticmethod
    ...     def backward(ctx, grad_sin, grad_cos):
    ...         return grad_sin * np.cos(ctx.x) - grad_cos * np.sin(ctx.x)
    >>> x = fastdl.tensor([0.0, 1.0], dtype="float64", requires_grad=True)
    >>> s, c = SinCos.apply(x)
    >>> (s * 2).sum().backward()     # c does not reach the loss: grad_cos arrives as zeros
    >>> x.grad.numpy().round(6)
    array([2.      , 1.080605])
    """

    parents: Optional[tuple]
    requires_grad: bool
    #: Whether outputs that did not reach the loss get zeros (True) or None in ``backward``.
    materialize_grads = True
    #: For a node with several outputs, their (shape, dtype); set by ``apply``.
    _outputs: Optional[tuple] = None
    #: While ``backward`` runs for :func:`grad`: per positional argument, whether its gradient
    #: is wanted (some asked-for tensor lies behind it); None when every one is.
    _grad_mask: Optional[tuple] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Recording is done in C++ (csrc/autograd/autograd.cpp): in Python it cost more than
        # the arithmetic of an operation on a small array.
        cls.apply = _C.make_apply(cls, cls.forward, Function.apply.__doc__)

    @staticmethod
    def apply(*args, **kwargs) -> "Tensor":
        """Runs the operation on Tensors (or other values) and returns a Tensor (a tuple of
        them for several outputs); records the graph when grad mode is on and a Tensor argument
        requires grad. Each subclass gets its own ``apply``, which also serves directly as a
        Tensor method (``Tensor.__mul__ = Mul.apply``)."""
        raise TypeError("apply: call it on a subclass of Function")

    @staticmethod
    def forward(ctx, *args, **kwargs) -> np.ndarray:
        raise NotImplementedError(f"{type(ctx).__name__} must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads: np.ndarray):
        raise NotImplementedError(f"{type(ctx).__name__} must define backward(ctx, *grads)")

    def needs_grad(self, i: int) -> bool:
        """Whether positional argument ``i`` is a Tensor that wants a gradient: one that
        requires grad and, under :func:`grad`, through which an asked-for tensor is reached
        (``backward`` may skip the work for the others)."""
        p = self.parents[i]
        mask = self._grad_mask
        return isinstance(p, Tensor) and p.requires_grad and (mask is None or mask[i])


def backward(root: Tensor, grad=None, retain_graph: bool = False) -> None:
    """Accumulates d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad: the
    same as ``root.backward(grad, retain_graph)`` (see :meth:`Tensor.backward`)."""
    root.backward(grad, retain_graph)


def grad(outputs: Union[Tensor, Sequence[Tensor]], inputs: Union[Tensor, Sequence[Tensor]],
         grad_outputs: Any = None, retain_graph: bool = False) -> tuple:
    """The gradients of ``outputs`` (a Tensor, or several whose gradients add up) with respect
    to each of ``inputs``, as a tuple of Tensors in the order of ``inputs``: None for an input
    the outputs do not depend on. Nothing is accumulated into any ``.grad``.

    ``grad_outputs`` gives the gradient at each output (it may be omitted for one-element
    outputs, as in :meth:`Tensor.backward`). Inputs may be leaves or intermediate results. The
    graph is freed afterwards unless ``retain_graph=True``.

    >>> import fastdl
    >>> x = fastdl.tensor([1.0, 2.0], requires_grad=True)
    >>> y = x * x
    >>> fastdl.grad(y.sum(), [x, y])
    (tensor([2., 4.]), tensor([1., 1.]))
    >>> x.grad is None
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if isinstance(outputs, Tensor) and grad_outputs is None and outputs._node is not None:
        # The usual call (one output of a graph, from 1): one pass, a step of every custom
        # training loop.
        seed = (outputs._node, outputs._output_index, outputs._seed_gradient(None))
        return _C.run_grad([seed], inputs, retain_graph)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    seeds_given = [None] * len(outputs) if grad_outputs is None else (
        [grad_outputs] if len(outputs) == 1 and not isinstance(grad_outputs, (list, tuple))
        else list(grad_outputs))
    if len(seeds_given) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(seeds_given)} grad_outputs")
    if not any(out.requires_grad for out in outputs):
        raise RuntimeError("grad: no output requires grad; create the inputs with "
                           "requires_grad=True (and outside fastdl.no_grad()) to differentiate")
    seeds, direct = [], [None] * len(inputs)
    for out, given in zip(outputs, seeds_given):
        if not out.requires_grad:
            continue
        seed = out._seed_gradient(given)
        if out._node is not None:
            seeds.append((out._node, out._output_index, seed))
            continue
        for i, t in enumerate(inputs):  # a leaf output asked for itself
            if t is out:
                direct[i] = seed.copy() if direct[i] is None else direct[i] + seed
    # Also with no seed: the engine checks that every input is a Tensor.
    found = _C.run_grad(seeds, inputs, retain_graph)
    return tuple(through if itself is None else Tensor(itself) if through is None
                 else Tensor(through.data + itself) for through, itself in zip(found, direct))


def gradcheck(fn: Callable[..., "Tensor"], inputs: Sequence["Tensor"], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Compares the gradients of ``fn(*inputs)`` from :meth:`Tensor.backward` with central
    differences, in float64. Returns True, or raises ``GradcheckError`` naming the input, the
    element and both values.

    A non-scalar output is reduced to ``sum(output * v)`` with a fixed random ``v``, so every
    element of it is checked. Inputs that are not float64 are converted (a copy).

    >>> import fastdl
    >>> x = fastdl.randn(3, 4, dtype="float64", requires_grad=True)
    >>> fastdl.gradcheck(lambda t: (t * t).sum(axis=1), [x])
    True
    """
    tensors = [t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in inputs]
    # C order: the perturbation below goes through a flat view of each input.
    tensors = [Tensor(t.data.astype(np.float64, order="C"), requires_grad=t.requires_grad)
               for t in tensors]
    probe: list = []

    def scalar(*args) -> "Tensor":
        out = fn(*args)
        if not probe:
            probe.append(np.random.default_rng(0).standard_normal(out.data.shape))
        return (out * probe[0]).sum()

    with set_grad_enabled(True):
        scalar(*tensors).backward()
    with no_grad():
        for i, t in enumerate(tensors):
            if not t.requires_grad:
                continue
            analytic = t.grad.data if t.grad is not None else np.zeros_like(t.data)
            flat = t.data.reshape(-1)  # a view: perturbing it perturbs the input
            for j in range(flat.size):
                old = flat[j]
                flat[j] = old + eps
                plus = float(scalar(*tensors).data)
                flat[j] = old - eps
                minus = float(scalar(*tensors).data)
                flat[j] = old
                numeric = (plus - minus) / (2 * eps)
                a = float(analytic.reshape(-1)[j])
                if not abs(a - numeric) <= atol + rtol * abs(numeric):
                    raise GradcheckError(
                        f"gradcheck: input {i} (shape {t.data.shape}), element "
                        f"{tuple(int(k) for k in np.unravel_index(j, t.data.shape))}: "
                        f"analytic {a!r} vs numeric "
                        f"{numeric!r} (atol {atol}, rtol {rtol})"
                    )
    return True


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with central differences."""


def _zeros(shape: tuple, dtype: np.dtype, like) -> object:
    """Zeros of ``shape`` and ``dtype`` on the device of the array ``like``: the gradient of an
    output that did not reach the loss."""
    return array_module(like).zeros(shape, dtype)


_C.register_zeros_factory(_zeros)
