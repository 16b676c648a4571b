"""The Tensor: one NumPy array, plus what reverse-mode autograd needs.

Arithmetic follows NumPy (broadcasting, dtype promotion with Python scalars kept weak);
operations that are differentiable record the graph when an input requires grad.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl import _C
from fastdl import autograd as _autograd
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

    __slots__ = ("data", "grad", "requires_grad", "_node", "__weakref__")
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

    @property
    def T(self) -> "Tensor":
        return _ops.Transpose.apply(self, axes=None)

    def __len__(self) -> int:
        return len(self.data)

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

    def to(self, device: str) -> "Tensor":
        """This tensor on ``device`` (``'cpu'`` or ``'cuda'``): itself when it is there
        already, else a copy that gradients flow back through.

        >>> import fastdl
        >>> fastdl.ones(2).to("cpu").device
        'cpu'
        """
        device = _backend.parse_device("to", device)
        if device == self.device:
            return self
        return _ops.ToDevice.apply(self, device=device)

    def cuda(self) -> "Tensor":
        """``self.to('cuda')``."""
        return self.to("cuda")

    def cpu(self) -> "Tensor":
        """``self.to('cpu')``."""
        return self.to("cpu")

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

    def astype(self, dtype) -> "Tensor":
        """A copy with another dtype; differentiable between floating dtypes."""
        return _ops.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    # ------------------------------------------------------------------ autograd
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulates the gradient of this tensor into ``.grad`` of every leaf it depends on.

        ``grad`` is the gradient of some scalar with respect to this tensor; it may be omitted
        for a one-element tensor. The graph's saved arrays are freed afterwards unless
        ``retain_graph=True``.
        """
        _autograd.backward(self, grad, retain_graph)

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

    # ------------------------------------------------------------------ arithmetic
    # The forward operators (+ - * / ** @, unary -, abs, exp, log, sqrt) are the Functions'
    # apply methods themselves, bound at the end of this module: no wrapper frame per call.
    def __radd__(self, other):
        return _ops.Add.apply(other, self)

    def __rsub__(self, other):
        return _ops.Sub.apply(other, self)

    def __rmul__(self, other):
        return _ops.Mul.apply(other, self)

    def __rtruediv__(self, other):
        return _ops.Div.apply(other, self)

    def __rpow__(self, other):
        return _ops.Pow.apply(other, self)

    def __rmatmul__(self, other):
        return _ops.MatMul.apply(other, self)

    def __pos__(self):
        return self

    def __getitem__(self, index):
        return _ops.GetItem.apply(self, index=_ops.as_index(index))

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

    # ------------------------------------------------------------------ methods
    def clip(self, min=None, max=None):
        return _ops.Clip.apply(self, lo=min, hi=max)

    def sum(self, axis=None, keepdims=False):
        return _ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _ops.Var.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _ops.Reshape.apply(self, shape=tuple(shape))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return _ops.Transpose.apply(self, axes=tuple(axes) if axes else None)

    def permute(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return _ops.Transpose.apply(self, axes=tuple(axes))

    def squeeze(self, axis=None):
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis):
        return _ops.unsqueeze(self, axis)

    def flatten(self):
        return _ops.Reshape.apply(self, shape=(-1,))

    def relu(self):
        return _ops.relu(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def tanh(self):
        return _ops.tanh(self)

    def softmax(self, axis=-1):
        return _ops.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return _ops.log_softmax(self, axis)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


from fastdl import ops as _ops  # noqa: E402  (ops.py needs Tensor defined)

Tensor.__add__ = _ops.Add.apply
Tensor.__sub__ = _ops.Sub.apply
Tensor.__mul__ = _ops.Mul.apply
Tensor.__truediv__ = _ops.Div.apply
Tensor.__pow__ = _ops.Pow.apply
Tensor.__matmul__ = _ops.MatMul.apply
Tensor.__neg__ = _ops.Neg.apply
Tensor.__abs__ = Tensor.abs = _ops.Abs.apply
Tensor.exp = _ops.Exp.apply
Tensor.log = _ops.Log.apply
Tensor.sqrt = _ops.Sqrt.apply
