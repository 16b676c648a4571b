"""Reverse-mode automatic differentiation.

A :class:`Function` is one differentiable operation on arrays. ``Function.apply`` runs its
``forward`` on the inputs' arrays and, when gradients are wanted, records the inputs on the
Function instance, which then serves as the node of the graph and as the ``ctx`` its
``backward`` receives. :func:`backward` walks the nodes in an iterative topological order (no
recursion limit), adds up gradients where a tensor is used more than once, and frees what the
nodes saved unless asked to keep the graph.

>>> import fastdl
>>> x = fastdl.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from __future__ import annotations

import functools
from typing import Callable, Optional, Sequence

import numpy as np

from fastdl import _C
from fastdl.backend import array_module, device_of


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
    """One differentiable operation.

    Subclasses define ``forward(ctx, *args, **kwargs) -> ndarray`` on arrays (Tensor arguments
    arrive as their arrays, anything else as it is) and ``backward(ctx, grad) -> gradients``,
    one per positional argument (None where there is none), each with that argument's shape.
    ``ctx`` is the Function instance: attributes set on it in ``forward`` are there in
    ``backward``. ``ctx.requires_grad`` tells ``forward`` whether anything will be kept.
    """

    parents: Optional[tuple]
    requires_grad: bool

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Recording is done in C++ (csrc/bindings/autograd.cpp): in Python it cost more than
        # the arithmetic of an operation on a small array.
        cls.apply = _C.make_apply(cls, cls.forward, Function.apply.__doc__)

    @staticmethod
    def apply(*args, **kwargs) -> "Tensor":
        """Runs the operation on Tensors (or other values) and returns a Tensor; records the
        graph when grad mode is on and a Tensor argument requires grad. Each subclass gets its
        own ``apply``, which also serves directly as a Tensor method (``Tensor.__mul__ =
        Mul.apply``)."""
        raise TypeError("apply: call it on a subclass of Function")

    @staticmethod
    def forward(ctx, *args, **kwargs) -> np.ndarray:
        raise NotImplementedError(f"{type(ctx).__name__} must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, grad: np.ndarray):
        raise NotImplementedError(f"{type(ctx).__name__} must define backward(ctx, grad)")

    def needs_grad(self, i: int) -> bool:
        """Whether positional argument ``i`` is a Tensor that wants a gradient."""
        p = self.parents[i]
        return isinstance(p, Tensor) and p.requires_grad


def _accumulate_leaf(leaf: "Tensor", grad: np.ndarray) -> None:
    """``leaf.grad += grad`` for backward() called on a leaf itself."""
    if leaf.grad is None:
        leaf.grad = Tensor(grad.copy())  # the user may change it in place: never shared
    else:
        leaf.grad.data = leaf.grad.data + grad


def backward(root: "Tensor", grad=None, retain_graph: bool = False) -> None:
    """Accumulates d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.
    See :meth:`Tensor.backward`."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad; create its inputs with "
            "requires_grad=True (and outside fastdl.no_grad()) to differentiate it"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: a gradient can be created implicitly only for a single-element "
                f"tensor; this one has shape {root.data.shape}: pass grad= of that shape"
            )
        grad = array_module(root.data).ones(root.data.shape, root.data.dtype)
    else:
        given = grad.data if isinstance(grad, Tensor) else grad
        if device_of(given) != device_of(root.data) and not np.isscalar(given):
            raise RuntimeError(
                f"backward: grad is on {device_of(given)} but the tensor is on "
                f"{device_of(root.data)}; move it with .to('{device_of(root.data)}')")
        grad = array_module(root.data).asarray(given, dtype=root.data.dtype)
        if grad.shape != root.data.shape:
            raise ValueError(
                f"backward: grad has shape {grad.shape} but the tensor has shape "
                f"{root.data.shape}"
            )
    if root._node is None:
        _accumulate_leaf(root, grad)
        return
    # Kahn's order from the root, in C++ (csrc/bindings/autograd.cpp): a node runs once every
    # consumer of its output has passed its gradient on.
    _C.run_backward(root._node, grad, retain_graph)


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


from fastdl.tensor import Tensor  # noqa: E402  (tensor.py imports this module first)

_C.register_tensor_type(Tensor)
