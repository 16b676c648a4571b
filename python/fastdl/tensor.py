"""The Tensor: one array (NumPy's on the CPU, CuPy's on the GPU), plus what reverse-mode
autograd needs.

This module imports nothing above the array backends: the operators and methods that are
operations (``+``, ``@``, ``sum``, ``reshape``, ``to``, ...) are bound to the class by
:mod:`fastdl.ops`, which defines them. Arithmetic follows NumPy (broadcasting, dtype promotion
with Python scalars kept weak); operations that are differentiable record the graph when an
input requires grad.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl import _C
from fastdl import backend as _backend


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    ``t.data`` is the NumPy array; ``t.grad`` the accumulated gradient (a Tensor, for leaves
    that require grad, after :meth:`backward`).

    >>> import fastdl
    >>> w = fastdl.tensor([[1.0, 2.0]], requires_grad=True)
    >>> loss = (w @ fastdl.tensor([[3.0], [4.0]])).sum()
    >>> loss.backward()
    >>> w.grad
    tensor([[3., 4.]])
    """

    # _node: the recorded operation that made the tensor (None for a leaf); _output_index: which
    # of that operation's outputs it is; _keras_mask: the mask Keras layers attach to it.
    __slots__ = ("data", "grad", "requires_grad", "_node", "_output_index", "_keras_mask",
                 "__weakref__")
    # ndarray (op) Tensor must defer to Tensor's reflected operators.
    __array_priority__ = 1000
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if not isinstance(data, np.ndarray) and not _backend.is_gpu_array(data):
            data = np.asarray(data)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating tensors can require grad; got dtype {data.dtype}"
            )
        self.data = data
        self.grad: Optional[Tensor] = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self._output_index = 0
        self._keras_mask = None

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements (NumPy's meaning)."""
        return self.data.size

    @property
    def device(self) -> str:
        """``'cpu'`` (the data is a NumPy array) or ``'cuda'`` (a CuPy array)."""
        return "cpu" if isinstance(self.data, np.ndarray) else "cuda"

    @property
    def is_cuda(self) -> bool:
        return not isinstance(self.data, np.ndarray)

    @property
    def __cuda_array_interface__(self) -> dict:
        """The GPU array's interface, so that CuPy, PyTorch and Numba read a GPU tensor
        without a copy; absent (AttributeError) on the CPU."""
        if isinstance(self.data, np.ndarray):
            raise AttributeError("__cuda_array_interface__: the tensor is on the CPU")
        return self.data.__cuda_array_interface__

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self._node is None

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        """The truth of a one-element tensor (NumPy's rule: others are ambiguous)."""
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.data.shape} is "
                             f"ambiguous; use .any() or .all() on its array")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __format__(self, spec: str) -> str:
        """A one-element tensor formats as its value (``f"{loss:.4f}"``); others as their
        repr."""
        if spec and self.data.size == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        host = self.data if isinstance(self.data, np.ndarray) else self.data.get()
        body = np.array2string(host, separator=", ", prefix="tensor(")
        extras = "" if isinstance(self.data, np.ndarray) else ", device='cuda'"
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras += f", dtype={self.data.dtype}"
        if self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied). A GPU tensor must be copied to the
        CPU first, with :meth:`cpu`."""
        if not isinstance(self.data, np.ndarray):
            raise TypeError("numpy: the tensor is on cuda; copy it to the CPU first with "
                            ".cpu().numpy()")
        return self.data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python scalar."""
        if self.data.size != 1:
            raise ValueError(
                f"item: only one-element tensors can be converted; this one has shape "
                f"{self.data.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        data = self.numpy()  # a GPU tensor is refused: nothing moves implicitly
        return data if dtype is None else data.astype(dtype)

    def __dlpack__(self, *args, **kwargs):
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple:
        return self.data.__dlpack_device__()

    # ------------------------------------------------------------------ autograd
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulates the gradient of this tensor into ``.grad`` of every leaf it depends on.

        ``grad`` is the gradient of some scalar with respect to this tensor; it may be omitted
        for a one-element tensor. The graph's saved arrays are freed afterwards unless
        ``retain_graph=True``. :mod:`fastdl.autograd` documents how the graph is walked.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: the tensor does not require grad; create its inputs with "
                "requires_grad=True (and outside fastdl.no_grad()) to differentiate it"
            )
        grad = self._seed_gradient(grad)
        if self._node is None:
            self._accumulate(grad)
            return
        # Kahn's order from this tensor's node, in C++ (csrc/autograd/autograd.cpp): a node
        # runs once every consumer of its outputs has passed its gradient on.
        _C.run_backward(self._node, self._output_index, grad, retain_graph)

    def _seed_gradient(self, grad: Any) -> Any:
        """The gradient a backward pass starts from, as an array of this tensor's shape,
        dtype and device (ones for a one-element tensor when ``grad`` is None)."""
        data = self.data
        if grad is None:
            if data.size != 1:
                raise RuntimeError(
                    f"backward: a gradient can be created implicitly only for a single-element "
                    f"tensor; this one has shape {data.shape}: pass grad= of that shape"
                )
            return _backend.array_module(data).ones(data.shape, data.dtype)
        given = grad.data if isinstance(grad, Tensor) else grad
        if _backend.device_of(given) != self.device and not np.isscalar(given):
            raise RuntimeError(
                f"backward: grad is on {_backend.device_of(given)} but the tensor is on "
                f"{self.device}; move it with .to('{self.device}')")
        grad = _backend.array_module(data).asarray(given, dtype=data.dtype)
        if grad.shape != data.shape:
            raise ValueError(
                f"backward: grad has shape {grad.shape} but the tensor has shape {data.shape}"
            )
        return grad

    def _accumulate(self, grad: Any) -> None:
        """``self.grad += grad`` for backward() called on a leaf itself."""
        if self.grad is None:
            self.grad = Tensor(grad.copy())  # the user may change it in place: never shared
        else:
            self.grad.data = self.grad.data + grad

    def detach(self) -> "Tensor":
        """The same data (shared), cut off from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Sets ``requires_grad`` in place (leaves only) and returns self."""
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad_: only leaf tensors can change requires_grad; use detach() first"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad_: only floating tensors can require grad; got dtype "
                f"{self.data.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def add_(self, other: Any, alpha: float = 1.0) -> "Tensor":
        """``self += alpha * other`` in place, in one pass (the SGD step is
        ``p.add_(p.grad, alpha=-lr)``). Not recorded: a tensor that requires grad can be
        updated only under :class:`fastdl.no_grad`.

        >>> import fastdl
        >>> w = fastdl.ones(3, requires_grad=True)
        >>> with fastdl.no_grad():
        ...     _ = w.add_(fastdl.full(3, 2.0), alpha=-0.5)
        >>> w
        tensor([0., 0., 0.], requires_grad=True)
        """
        if self.requires_grad and _C.is_grad_enabled():
            raise RuntimeError(
                "add_: a tensor that requires grad cannot be changed in place while the graph "
                "is recorded; update it under fastdl.no_grad()"
            )
        x = other.data if isinstance(other, Tensor) else other
        if isinstance(x, np.ndarray) or _backend.is_gpu_array(x):
            other_device = _backend.device_of(x)
            if other_device != self.device:
                raise RuntimeError(
                    f"add_: the tensor is on {self.device} but other is on {other_device}; "
                    f"move it with .to('{self.device}') first")
        if self.device == "cuda":
            self.data += alpha * x
            return self
        x = x if isinstance(x, np.ndarray) else np.asarray(x, self.data.dtype)
        try:
            _C.axpy(alpha, x, self.data)  # one pass: same shape and floating dtype
        except (TypeError, ValueError):
            self.data += alpha * x  # anything else: NumPy's broadcasting and casting rules
        return self

    def zero_grad(self) -> None:
        """Drops the accumulated gradient."""
        self.grad = None

    # ------------------------------------------------------------------ comparisons
    # Comparisons give boolean tensors and have no gradient.
    def __lt__(self, other):
        return Tensor(self.data < _data(other))

    def __le__(self, other):
        return Tensor(self.data <= _data(other))

    def __gt__(self, other):
        return Tensor(self.data > _data(other))

    def __ge__(self, other):
        return Tensor(self.data >= _data(other))

    def __eq__(self, other):  # type: ignore[override]
        return Tensor(self.data == _data(other))

    def __ne__(self, other):  # type: ignore[override]
        return Tensor(self.data != _data(other))

    __hash__ = object.__hash__


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


# The autograd core (csrc/autograd/autograd.cpp) makes the Tensors that operations return.
_C.register_tensor_type(Tensor)
