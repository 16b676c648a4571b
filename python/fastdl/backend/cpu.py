"""CPU kernels on NumPy arrays: thin wrappers over ``fastdl._C``.

Each function checks what NumPy semantics need (promotion, broadcasting, 1-D operands) and lets
the native entry point validate shapes and dtypes; every result is a new array that shares no
memory with the inputs.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from fastdl import _C
from fastdl.backend.geometry import matmul_batch, pair, resolve_padding

_FLOATS = (np.float32, np.float64)


def as_float_arrays(op: str, *arrays):
    """NumPy arrays with one floating dtype: float32 stays float32, anything mixed with float64
    becomes float64. Non-floating inputs raise TypeError naming `op`."""
    out = [a if isinstance(a, np.ndarray) else np.asarray(a) for a in arrays]
    dtypes = {a.dtype for a in out}
    for a in out:
        if a.dtype.type not in _FLOATS:
            shapes = ", ".join(str(x.shape) for x in out)
            raise TypeError(
                f"{op}: unsupported dtype {a.dtype} (operand shapes {shapes}); "
                "expected float32 or float64"
            )
    if len(dtypes) > 1:
        out = [a.astype(np.float64, copy=False) for a in out]
    return out


def matmul(a, b) -> np.ndarray:
    """Matrix product with NumPy's ``matmul`` semantics (batch dimensions broadcast, 1-D
    operands promoted and squeezed), computed by fastdl's GEMM.

    >>> import numpy as np, fastdl
    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> fastdl.matmul(a, np.ones((3, 2), np.float32))
    array([[ 3.,  3.],
           [12., 12.]], dtype=float32)
    """
    if (type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2
            and a.dtype == b.dtype):
        # The common case goes straight to the kernel, which checks the dtype itself.
        return _C.gemm(a, b, None, "none", 1.0, 0.0, "matmul")
    a, b = as_float_arrays("matmul", a, b)
    if a.ndim == 2 and b.ndim == 2:
        return _C.gemm(a, b, None, "none", 1.0, 0.0, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: operands must have at least 1 dimension; a has shape {a.shape}, "
            f"b has shape {b.shape}"
        )
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    batch = matmul_batch(a.shape, b.shape, a2.shape[-1], b2.shape[-2], a2.shape[:-2],
                         b2.shape[:-2])
    m, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    if b2.ndim == 2:
        # One weight matrix for every row of every batch item: a single tall GEMM.
        out = _C.gemm(a2.reshape(-1, k), b2, None, "none", 1.0, 0.0, "matmul")
    else:
        a3 = np.broadcast_to(a2, batch + (m, k)).reshape(-1, m, k)
        b3 = np.broadcast_to(b2, batch + (k, n)).reshape(-1, k, n)
        out = _C.gemm(a3, b3, None, "none", 1.0, 0.0, "matmul")
    out = out.reshape(batch + (m, n))
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


_LINEAR_ACTIVATIONS = ("none", "relu", "sigmoid", "tanh")


def linear(x, w, b=None, activation: Optional[str] = None) -> np.ndarray:
    """Dense layer forward in one fused kernel: ``activation(x @ w + b)``.

    ``x`` has shape ``(..., in)``, ``w`` is ``(in, out)`` (Keras layout), ``b`` is ``(out,)`` or
    None; ``activation`` is None, ``'relu'``, ``'sigmoid'`` or ``'tanh'``. The bias and the
    activation are applied as each tile of the product leaves the registers.

    >>> import numpy as np, fastdl
    >>> x = np.array([[1.0, -2.0]], np.float32)
    >>> fastdl.linear(x, np.eye(2, dtype=np.float32), np.zeros(2, np.float32), "relu")
    array([[1., 0.]], dtype=float32)
    """
    act = "none" if activation is None else activation
    if (type(x) is np.ndarray and type(w) is np.ndarray and x.ndim == 2 and w.ndim == 2
            and x.shape[1] == w.shape[0] and x.dtype == w.dtype
            and (b is None or (type(b) is np.ndarray and b.dtype == x.dtype))
            and act in _LINEAR_ACTIVATIONS):
        # The common case goes straight to the kernel, which validates dtypes and shapes.
        return _C.gemm(x, w, b, act, 1.0, 0.0, "linear")
    if act not in _LINEAR_ACTIVATIONS:
        raise ValueError(
            f"linear: unknown activation {activation!r}; expected None, 'relu', 'sigmoid' or 'tanh'"
        )
    arrays = as_float_arrays("linear", x, w) if b is None else as_float_arrays("linear", x, w, b)
    x, w = arrays[0], arrays[1]
    b = arrays[2] if b is not None else None
    if w.ndim != 2:
        raise ValueError(f"linear: w must be 2-D (in, out); got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"linear: x has shape {x.shape} but w has shape {w.shape}; "
            f"expected x of shape (..., {w.shape[0]})"
        )
    if x.ndim == 2:
        return _C.gemm(x, w, b, act, 1.0, 0.0, "linear")
    out = _C.gemm(x.reshape(-1, w.shape[0]), w, b, act, 1.0, 0.0, "linear")
    return out.reshape(x.shape[:-1] + (w.shape[1],))


def linear_backward(grad, x, w, out, activation: str, need_x: bool, need_w: bool,
                    need_b: bool) -> tuple:
    """The gradients ``(dx, dw, db)`` of ``activation(x @ w + b)`` for 2-D ``grad`` and ``x``
    of one dtype, each None unless asked for. ``out`` is the forward output, read when there is
    an activation (relu, sigmoid and tanh differentiate from it)."""
    return _C.linear_backward(grad, x, w, out, activation, need_x, need_w, need_b)


# ---------------------------------------------------------------- activations

def _activation(op: str, name: str, x, alpha: float = 0.0) -> np.ndarray:
    (x,) = as_float_arrays(op, x)
    return _C.activation_forward(name, x, float(alpha))


def activation_forward(name: str, x, alpha: float = 0.0) -> np.ndarray:
    """The activation ``name`` (as :func:`activation_backward` names them) elementwise.

    >>> import numpy as np, fastdl
    >>> fastdl.backend.cpu.activation_forward("leaky_relu", np.array([-1.0, 2.0]), 0.1)
    array([-0.1,  2. ])
    """
    return _activation(name, name, x, alpha)


def relu(x) -> np.ndarray:
    """``max(x, 0)`` elementwise. NaN stays NaN.

    >>> import numpy as np, fastdl
    >>> fastdl.relu(np.array([-1.0, 0.0, 2.0], np.float32))
    array([0., 0., 2.], dtype=float32)
    """
    return _activation("relu", "relu", x)


def leaky_relu(x, alpha: float = 0.2) -> np.ndarray:
    """``x`` where ``x > 0``, else ``alpha * x`` (Keras's default slope 0.2).

    >>> import numpy as np, fastdl
    >>> fastdl.leaky_relu(np.array([-1.0, 2.0]), alpha=0.1)
    array([-0.1,  2. ])
    """
    return _activation("leaky_relu", "leaky_relu", x, alpha)


def sigmoid(x) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-x))`` elementwise.

    >>> import numpy as np, fastdl
    >>> fastdl.sigmoid(np.array([0.0, 100.0, -100.0], np.float32))
    array([0.5, 1. , 0. ], dtype=float32)
    """
    return _activation("sigmoid", "sigmoid", x)


def tanh(x) -> np.ndarray:
    """Hyperbolic tangent elementwise.

    >>> import numpy as np, fastdl
    >>> fastdl.tanh(np.array([0.0, 30.0], np.float32))
    array([0., 1.], dtype=float32)
    """
    return _activation("tanh", "tanh", x)


def step(x) -> np.ndarray:
    """Heaviside step: 1 where ``x > 0``, else 0 (NaN stays NaN). Its gradient is 0.

    >>> import numpy as np, fastdl
    >>> fastdl.step(np.array([-2.0, 0.0, 3.0], np.float32))
    array([0., 0., 1.], dtype=float32)
    """
    return _activation("step", "step", x)


def gelu(x, approximate: bool = False) -> np.ndarray:
    """Gaussian error linear unit ``x * Phi(x)``, Phi the standard normal CDF (erf-based); with
    ``approximate=True`` the tanh approximation
    ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``.

    >>> import numpy as np, fastdl
    >>> np.round(fastdl.gelu(np.array([-1.0, 0.0, 1.0])), 6)
    array([-0.158655,  0.      ,  0.841345])
    >>> np.round(fastdl.gelu(np.array([1.0]), approximate=True), 6)
    array([0.841192])
    """
    return _activation("gelu", "gelu_tanh" if approximate else "gelu", x)


def activation_backward(name: str, grad, saved, alpha: float = 0.0) -> np.ndarray:
    """Gradient of the activation ``name`` with respect to its input: ``grad * act'(.)``.

    ``saved`` is what the forward pass keeps: its output for ``'sigmoid'`` and ``'tanh'``, its
    input for every other activation (``'relu'`` accepts either). ``alpha`` is leaky_relu's
    slope. At the kinks the derivative is the left one: relu and step give 0 at 0. ``grad`` and
    ``saved`` must have the same shape.

    >>> import numpy as np, fastdl
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> fastdl.backend.cpu.activation_backward("relu", np.ones(3), x)
    array([0., 0., 1.])
    >>> y = fastdl.sigmoid(np.zeros(1))
    >>> fastdl.backend.cpu.activation_backward("sigmoid", np.ones(1), y)
    array([0.25])
    """
    grad, saved = as_float_arrays(f"{name}_backward", grad, saved)
    return _C.activation_backward(name, grad, saved, float(alpha))


# ---------------------------------------------------------------- softmax family


def _last_axis(op: str, ndim: int, axis: int) -> int:
    """`axis` as a non-negative index into `ndim` dimensions; ValueError naming `op` otherwise."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if ndim == 0:
        raise ValueError(f"{op}: input must have at least 1 dimension; got shape ()")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for an array of {ndim} dimensions")
    return int(axis) % ndim


def _along_axis(op: str, kernel, arrays, axis: int) -> np.ndarray:
    """Runs `kernel` (which works along the last axis) along `axis` of every array."""
    ax = _last_axis(op, arrays[0].ndim, axis)
    if ax == arrays[0].ndim - 1:
        return kernel(*arrays)
    out = kernel(*(np.moveaxis(a, ax, -1) for a in arrays))
    return np.moveaxis(out, -1, ax)


def softmax(x, axis: int = -1) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` along ``axis``, with the maximum subtracted first so that any
    finite input gives a finite result.

    >>> import numpy as np, fastdl
    >>> np.round(fastdl.softmax(np.array([[1.0, 2.0, 3.0]])), 4)
    array([[0.09  , 0.2447, 0.6652]])
    >>> fastdl.softmax(np.array([1e4, -1e4], np.float32))
    array([1., 0.], dtype=float32)
    """
    (x,) = as_float_arrays("softmax", x)
    return _along_axis("softmax", lambda a: _C.softmax(a, False), (x,), axis)


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """``x - log(sum(exp(x)))`` along ``axis``, computed without overflow.

    >>> import numpy as np, fastdl
    >>> np.round(fastdl.log_softmax(np.array([0.0, 0.0])), 4)
    array([-0.6931, -0.6931])
    """
    (x,) = as_float_arrays("log_softmax", x)
    return _along_axis("log_softmax", lambda a: _C.softmax(a, True), (x,), axis)


def softmax_backward(grad, y, axis: int = -1) -> np.ndarray:
    """Gradient of :func:`softmax` with respect to its input, from the upstream gradient and
    the forward output ``y``: ``y * (grad - sum(grad * y))`` along ``axis``.

    >>> import numpy as np, fastdl
    >>> y = fastdl.softmax(np.zeros(2))
    >>> fastdl.backend.cpu.softmax_backward(np.array([1.0, 0.0]), y)
    array([ 0.25, -0.25])
    """
    return _softmax_family_backward("softmax_backward", False, grad, y, axis)


def log_softmax_backward(grad, y, axis: int = -1) -> np.ndarray:
    """Gradient of :func:`log_softmax` with respect to its input, from the upstream gradient
    and the forward output ``y``: ``grad - exp(y) * sum(grad)`` along ``axis``.

    >>> import numpy as np, fastdl
    >>> y = fastdl.log_softmax(np.zeros(2))
    >>> fastdl.backend.cpu.log_softmax_backward(np.array([1.0, 0.0]), y)
    array([ 0.5, -0.5])
    """
    return _softmax_family_backward("log_softmax_backward", True, grad, y, axis)


def _softmax_family_backward(op: str, log: bool, grad, y, axis: int) -> np.ndarray:
    grad, y = as_float_arrays(op, grad, y)
    return _along_axis(op, lambda g, s: _C.softmax_backward(g, s, log), (grad, y), axis)


def _cross_entropy(logits, labels, with_grad: bool):
    if type(logits) is np.ndarray and type(labels) is np.ndarray:
        # The common case goes straight to the kernel, which validates dtypes and shapes.
        return _C.softmax_cross_entropy(logits, labels, with_grad)
    (logits,) = as_float_arrays("softmax_cross_entropy", logits)
    labels = labels if isinstance(labels, np.ndarray) else np.asarray(labels)
    return _C.softmax_cross_entropy(logits, labels, with_grad)


def softmax_cross_entropy(logits, labels) -> float:
    """Mean cross-entropy of ``softmax(logits)`` (last axis) against integer class labels:
    ``mean(-log_softmax(logits)[..., label])``. ``labels`` has shape ``logits.shape[:-1]`` and
    values in ``[0, logits.shape[-1])``; the probabilities are never materialized.

    >>> import numpy as np, fastdl
    >>> round(fastdl.softmax_cross_entropy(np.zeros((2, 4), np.float32), [0, 3]), 6)
    1.386294
    """
    loss, _ = _cross_entropy(logits, labels, False)
    return loss


def softmax_cross_entropy_with_grad(logits, labels) -> tuple[float, np.ndarray]:
    """:func:`softmax_cross_entropy` and its gradient with respect to ``logits``,
    ``(softmax(logits) - onehot(labels)) / rows``, from one pass over each row.

    >>> import numpy as np, fastdl
    >>> loss, dlogits = fastdl.backend.cpu.softmax_cross_entropy_with_grad(np.zeros((1, 2)), [1])
    >>> round(loss, 6), dlogits
    (0.693147, array([[ 0.5, -0.5]]))
    """
    return _cross_entropy(logits, labels, True)


# ---------------------------------------------------------------- image layouts

_NCHW_TO_NHWC = (0, 2, 3, 1)
_NHWC_TO_NCHW = (0, 3, 1, 2)


def channels_first(op: str, data_format: str) -> bool:
    """Whether ``data_format`` is NCHW (``'channels_first'``); NHWC is ``'channels_last'``."""
    if data_format == "channels_last":
        return False
    if data_format == "channels_first":
        return True
    raise ValueError(
        f"{op}: data_format must be 'channels_last' or 'channels_first'; got {data_format!r}"
    )


def channels_first_image(op: str, data_format: str, ndim: int) -> bool:
    """:func:`channels_first` for image operations, whose channels_first input must be 4-D
    (the kernels check channels_last input themselves)."""
    first = channels_first(op, data_format)
    if first and ndim != 4:
        raise ValueError(f"{op}: x must be 4-D (batch, channels, height, width) with "
                         f"data_format='channels_first'; got {ndim}-D input")
    return first


def in_nhwc(op: str, data_format: str, x: np.ndarray, fn) -> np.ndarray:
    """``fn(x)`` computed on NHWC data: channels_first ``x`` is transposed on the way in and the
    result on the way out."""
    first = channels_first_image(op, data_format, x.ndim)
    y = fn(x.transpose(_NCHW_TO_NHWC) if first else x)
    return y.transpose(_NHWC_TO_NCHW) if first else y


# ---------------------------------------------------------------- convolution

_CONV_ACTIVATIONS = _LINEAR_ACTIVATIONS


def conv2d_geometry(x_shape: tuple, w_shape: tuple, strides, padding, dilation,
                    op: str = "conv2d") -> tuple:
    """(strides, (top, bottom, left, right), dilation) for NHWC ``x_shape`` and HWIO
    ``w_shape``. Shapes of the wrong rank are left to the kernel entry point to report."""
    strides, dilation = pair("strides", strides, op), pair("dilation", dilation, op)
    if len(x_shape) != 4 or len(w_shape) != 4:
        return strides, (0, 0, 0, 0), dilation
    return strides, resolve_padding(padding, x_shape[1:3], w_shape[:2], strides, dilation,
                                    op), dilation


def conv2d_nhwc(x: np.ndarray, w: np.ndarray, b, strides: tuple, padding: tuple,
                dilation: tuple, activation: Optional[str] = None) -> np.ndarray:
    """:func:`conv2d` on NHWC ``x`` with the geometry already resolved (see
    :func:`conv2d_geometry`): the kernel call itself."""
    act = "none" if activation is None else activation
    if act not in _CONV_ACTIVATIONS:
        raise ValueError(
            f"conv2d: unknown activation {activation!r}; expected None, 'relu', 'sigmoid' or 'tanh'"
        )
    return _C.conv2d_forward(x, w, b, strides, padding, dilation, act)


def conv2d_backward(grad: np.ndarray, x: np.ndarray, w: np.ndarray, strides: tuple,
                    padding: tuple, dilation: tuple, need_x: bool = True, need_w: bool = True,
                    need_b: bool = True, activation: Optional[str] = None,
                    out: Optional[np.ndarray] = None) -> tuple:
    """(dx, dw, db) of :func:`conv2d_nhwc`, given the gradient of its output ``out`` (which
    is read when there is an activation); an entry is None when not needed."""
    if activation and (need_x or not need_w):
        # dx (or db alone) needs the activation's derivative applied once, up front; the
        # weight gradient alone applies it itself, row by row.
        grad, activation = activation_backward(activation, grad, out), None
    dx = _C.conv2d_backward_input(grad, w, x.shape, strides, padding, dilation) if need_x else None
    dw = db = None
    if need_w:
        dw, db = _C.conv2d_backward_weight(x, grad, w.shape[:2], strides, padding, dilation, need_b,
                                           activation or "none", out)
    elif need_b:
        db = grad.sum(axis=(0, 1, 2))
    return dx, dw, db


def conv2d_max_pool2d(x: np.ndarray, w: np.ndarray, b, strides: tuple, padding: tuple,
                      dilation: tuple, activation: Optional[str], pool_size, pool_strides=None,
                      pool_padding: str = "valid") -> tuple[np.ndarray, np.ndarray]:
    """``max_pool2d(conv2d_nhwc(x, w, b, ...), pool_size, pool_strides, pool_padding)`` and
    its argmax (see :func:`max_pool2d_with_argmax`), equal to the two calls in sequence. With
    one input channel the convolution's output is pooled while it is in cache, never stored.

    >>> import numpy as np, fastdl
    >>> from fastdl.backend import cpu
    >>> x, w = np.ones((1, 6, 6, 1), np.float32), np.ones((3, 3, 1, 2), np.float32)
    >>> geometry = cpu.conv2d_geometry(x.shape, w.shape, 1, "valid", 1)
    >>> y, argmax = cpu.conv2d_max_pool2d(x, w, None, *geometry, "relu", 2)
    >>> y.shape, float(y[0, 0, 0, 0])
    ((1, 2, 2, 2), 9.0)
    """
    act = "none" if activation is None else activation
    return _C.conv2d_max_pool2d_forward(x, w, b, strides, padding, dilation, act, pool_size,
                                        pool_strides, pool_padding)


def conv2d_max_pool2d_backward(grad: np.ndarray, x: np.ndarray, w: np.ndarray,
                               pooled: np.ndarray, argmax: np.ndarray, strides: tuple,
                               padding: tuple, dilation: tuple, activation: Optional[str],
                               pool_size, pool_strides=None, pool_padding: str = "valid",
                               need_x: bool = True, need_w: bool = True,
                               need_b: bool = True) -> tuple:
    """(dx, dw, db) of :func:`conv2d_max_pool2d` given the gradient of its output ``pooled``
    and its ``argmax``; an entry is None when not needed. A first layer (no dx) with one input
    channel builds the convolution's output gradient row by row inside the weight gradient."""
    act = "none" if activation is None else activation
    return _C.conv2d_max_pool2d_backward(grad, x, w, pooled, argmax, strides, padding, dilation,
                                         act, pool_size, pool_strides, pool_padding, need_x,
                                         need_w, need_b)


def conv2d(x, w, b=None, strides=1, padding="valid", dilation=1,
           activation: Optional[str] = None, data_format: str = "channels_last") -> np.ndarray:
    """2-D convolution (cross-correlation, as in Keras and PyTorch):
    ``activation(conv(x, w) + b)``.

    ``x`` is (batch, height, width, in_channels) — or (batch, in_channels, height, width) with
    ``data_format='channels_first'`` — and ``w`` is (kernel_h, kernel_w, in_channels,
    out_channels) in either case; ``b`` is (out_channels,) or None. ``strides`` and
    ``dilation`` are an int or a (height, width) pair; ``padding`` is ``'valid'`` (none),
    ``'same'`` (Keras: ``ceil(size / stride)`` outputs, an odd total padding puts the extra row
    or column after), an int, a (height, width) pair or ((top, bottom), (left, right)).
    ``activation`` is None, ``'relu'``, ``'sigmoid'`` or ``'tanh'``, applied in the kernel.

    >>> import numpy as np, fastdl
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> w = np.ones((2, 2, 1, 1), np.float32)
    >>> fastdl.conv2d(x, w, strides=2)[..., 0]
    array([[[10., 18.],
            [42., 50.]]], dtype=float32)
    >>> fastdl.conv2d(x, w, padding="same").shape
    (1, 4, 4, 1)
    """
    arrays = as_float_arrays("conv2d", x, w) if b is None else as_float_arrays("conv2d", x, w, b)
    x, w = arrays[0], arrays[1]
    b = arrays[2] if b is not None else None
    return in_nhwc("conv2d", data_format, x, lambda v: conv2d_nhwc(
        v, w, b, *conv2d_geometry(v.shape, w.shape, strides, padding, dilation), activation))


def conv1d_geometry(x_shape: tuple, w_shape: tuple, strides, padding, dilation,
                    op: str = "conv1d") -> tuple:
    """The :func:`conv2d_geometry` of a 1-D convolution run as a 2-D one of height 1: ``x``
    (batch, steps, channels) becomes (batch, 1, steps, channels), ``w`` (kernel, in, out)
    becomes (1, kernel, in, out). ``padding`` is ``'valid'``, ``'same'``, ``'causal'`` (all of
    it before the sequence, so that no output sees a later step), an int or (before, after)."""
    def scalar(name, v):
        if hasattr(v, "__index__"):
            return int(v)
        raise ValueError(f"{op}: {name} must be an int, got {v!r}")

    stride, rate = scalar("strides", strides), scalar("dilation", dilation)
    if len(x_shape) != 3 or len(w_shape) != 3:
        return (1, stride), (0, 0, 0, 0), (1, rate)
    if isinstance(padding, str) and padding.lower() == "causal":
        before, after = (w_shape[0] - 1) * rate, 0
    elif isinstance(padding, str):
        _, _, before, after = resolve_padding(padding, (1, x_shape[1]), (1, w_shape[0]),
                                              (1, stride), (1, rate), op)
    elif hasattr(padding, "__index__"):
        before = after = int(padding)
    else:
        try:
            before, after = (int(p) for p in padding)
        except (TypeError, ValueError):
            raise ValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or "
                             f"(before, after); got {padding!r}") from None
    return (1, stride), (0, 0, before, after), (1, rate)


def _require_rank(op: str, name: str, a: np.ndarray, rank: int, layout: str) -> None:
    if a.ndim != rank:
        raise ValueError(f"{op}: {name} has shape {a.shape}; expected {rank} dimensions {layout}")


def conv1d(x, w, b=None, strides=1, padding="valid", dilation=1,
           activation: Optional[str] = None, data_format: str = "channels_last") -> np.ndarray:
    """1-D convolution over sequences, by the :func:`conv2d` kernels: ``x`` is (batch, steps,
    channels) — (batch, channels, steps) with ``data_format='channels_first'`` — and ``w``
    (kernel, in_channels, out_channels). ``padding`` may also be ``'causal'``.

    >>> import numpy as np, fastdl
    >>> x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    >>> fastdl.conv1d(x, np.ones((2, 1, 1), np.float32))[0, :, 0]
    array([1., 3., 5., 7.], dtype=float32)
    >>> fastdl.conv1d(x, np.ones((2, 1, 1), np.float32), padding="causal")[0, :, 0]
    array([0., 1., 3., 5., 7.], dtype=float32)
    """
    arrays = as_float_arrays("conv1d", x, w) if b is None else as_float_arrays("conv1d", x, w, b)
    x, w = arrays[0], arrays[1]
    b = arrays[2] if b is not None else None
    nct = channels_first("conv1d", data_format)
    _require_rank("conv1d", "x", x, 3, "(batch, steps, channels)")
    _require_rank("conv1d", "w", w, 3, "(kernel, in_channels, out_channels)")
    if nct:
        x = x.transpose(0, 2, 1)
    geometry = conv1d_geometry(x.shape, w.shape, strides, padding, dilation)
    y = conv2d_nhwc(x[:, None], w[None], b, *geometry, activation)[:, 0]
    return y.transpose(0, 2, 1) if nct else y


# ---------------------------------------------------------------- pooling
#
# Images are NHWC (batch, height, width, channels), Keras's default; data_format=
# "channels_first" (NCHW) is served by transposing at the edge. pool_size and strides are an
# int or a pair, strides=None meaning pool_size; padding is "valid" or "same" with Keras's
# rules. The native entry points check all of it and name the operation in their errors.

def _array(x) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.asarray(x)


def max_pool2d(x, pool_size=2, strides=None, padding: str = "valid",
               data_format: str = "channels_last") -> np.ndarray:
    """2-D max pooling: the largest value of each ``pool_size`` window, moved by ``strides``
    (``None``: ``pool_size``). ``padding="same"`` pads so that the output has
    ``ceil(size / stride)`` rows and columns (Keras's rule: the smaller half of the padding
    before the image); padded positions never win. ``x`` is (batch, height, width, channels),
    or (batch, channels, height, width) with ``data_format="channels_first"``.

    The gradient of each window goes to one element: its maximum, and among equal maxima the
    first in window scan order (row by row, left to right). A NaN in a window gives NaN.

    >>> import numpy as np, fastdl
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> fastdl.max_pool2d(x, 2)[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    >>> fastdl.max_pool2d(x, 3, strides=2, padding="same")[0, :, :, 0]
    array([[10., 11.],
           [14., 15.]], dtype=float32)
    """
    return in_nhwc("max_pool2d", data_format, _array(x),
                   lambda v: _C.max_pool2d_forward(v, pool_size, strides, padding, False)[0])


def max_pool2d_with_argmax(x, pool_size=2, strides=None,
                           padding: str = "valid") -> tuple[np.ndarray, np.ndarray]:
    """:func:`max_pool2d` of an NHWC array and, per output element, the position
    ``h * width + w`` of the winning input element in its image (int32), as
    :func:`max_pool2d_backward` takes it.

    >>> import numpy as np, fastdl
    >>> x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    >>> y, argmax = fastdl.backend.cpu.max_pool2d_with_argmax(x, 2)
    >>> y.ravel(), argmax.ravel()
    (array([3.]), array([1], dtype=int32))
    """
    return _C.max_pool2d_forward(_array(x), pool_size, strides, padding, True)


def max_pool2d_backward(grad, argmax, x_shape, pool_size=2, strides=None,
                        padding: str = "valid") -> np.ndarray:
    """Gradient of :func:`max_pool2d` (NHWC) with respect to its input of shape ``x_shape``:
    each window's ``grad`` goes to the element ``argmax`` names; where windows overlap
    (``strides < pool_size``) the contributions add up.

    >>> import numpy as np, fastdl
    >>> x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    >>> y, argmax = fastdl.backend.cpu.max_pool2d_with_argmax(x, 2)
    >>> fastdl.backend.cpu.max_pool2d_backward(np.ones_like(y), argmax, x.shape, 2)[0, :, :, 0]
    array([[0., 1.],
           [0., 0.]])
    """
    return _C.max_pool2d_backward(_array(grad), _array(argmax), tuple(x_shape), pool_size,
                                  strides, padding)


def avg_pool2d(x, pool_size=2, strides=None, padding: str = "valid",
               data_format: str = "channels_last") -> np.ndarray:
    """2-D average pooling, with the arguments of :func:`max_pool2d`. With
    ``padding="same"`` each window averages only its positions inside the image (padding is not
    counted), as in TensorFlow/Keras.

    >>> import numpy as np, fastdl
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> fastdl.avg_pool2d(x, 2, strides=1)[0, :, :, 0]
    array([[2., 3.],
           [5., 6.]], dtype=float32)
    >>> fastdl.avg_pool2d(x, 2, padding="same")[0, :, :, 0]
    array([[2. , 3.5],
           [6.5, 8. ]], dtype=float32)
    """
    return in_nhwc("avg_pool2d", data_format, _array(x),
                   lambda v: _C.avg_pool2d_forward(v, pool_size, strides, padding))


def avg_pool2d_backward(grad, x_shape, pool_size=2, strides=None,
                        padding: str = "valid") -> np.ndarray:
    """Gradient of :func:`avg_pool2d` (NHWC) with respect to its input of shape ``x_shape``:
    each window's ``grad``, divided by the number of input positions it averaged, goes to each
    of them.

    >>> import numpy as np, fastdl
    >>> g = np.ones((1, 1, 1, 1))
    >>> fastdl.backend.cpu.avg_pool2d_backward(g, (1, 2, 3, 1), 2)[0, :, :, 0]
    array([[0.25, 0.25, 0.  ],
           [0.25, 0.25, 0.  ]])
    """
    return _C.avg_pool2d_backward(_array(grad), tuple(x_shape), pool_size, strides, padding)


def _global_pool_axes(op: str, x: np.ndarray, data_format: str) -> tuple[int, int]:
    """The (height, width) axes of a 4-D image batch; ValueError naming ``op`` otherwise."""
    first = channels_first_image(op, data_format, x.ndim)
    if x.ndim != 4:
        hint = (" (for a single image add a batch axis: x[None])" if x.ndim == 3 else "")
        raise ValueError(f"{op}: x must be 4-D (batch, height, width, channels); got shape "
                         f"{x.shape}{hint}")
    return (2, 3) if first else (1, 2)


def global_avg_pool2d(x, keepdims: bool = False,
                      data_format: str = "channels_last") -> np.ndarray:
    """The mean of each channel over the whole image: (batch, channels), or (batch, 1, 1,
    channels) with ``keepdims`` (channels_first: (batch, channels, 1, 1)).

    >>> import numpy as np, fastdl
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    >>> fastdl.global_avg_pool2d(x)
    array([[3., 4.]], dtype=float32)
    """
    (x,) = as_float_arrays("global_avg_pool2d", x)
    axes = _global_pool_axes("global_avg_pool2d", x, data_format)
    return x.mean(axis=axes, keepdims=keepdims)


def global_max_pool2d(x, keepdims: bool = False,
                      data_format: str = "channels_last") -> np.ndarray:
    """The maximum of each channel over the whole image, shaped as in
    :func:`global_avg_pool2d`. Its gradient goes to the first maximum in row-major order, as
    with :func:`max_pool2d`.

    >>> import numpy as np, fastdl
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    >>> fastdl.global_max_pool2d(x, keepdims=True).shape
    (1, 1, 1, 2)
    >>> fastdl.global_max_pool2d(x)
    array([[6., 7.]], dtype=float32)
    """
    (x,) = as_float_arrays("global_max_pool2d", x)
    axes = _global_pool_axes("global_max_pool2d", x, data_format)
    return x.max(axis=axes, keepdims=keepdims)


# ---------------------------------------------------------------- dropout and indexing

def dropout_forward(x, p: float, seed: int) -> tuple:
    """``(y, keep)``: inverted dropout of ``x`` with drop probability ``p``; ``keep`` is the
    uint8 mask, drawn from a counter-based stream keyed by ``seed``."""
    return _C.dropout_forward(x, p, seed)


def dropout_backward(grad, keep, p: float) -> np.ndarray:
    """The gradient of :func:`dropout_forward` given its mask."""
    return _C.dropout_backward(grad, keep, p)


def index_add(out: np.ndarray, index, values) -> None:
    """``out[index] += values`` in place, with repeated indices adding up."""
    np.add.at(out, index, values)


# ---------------------------------------------------------------- optimizer steps
# One call updates every parameter of a model (see fastdl/optim.h for the formulas); the
# optimizers call them through the backend of their parameters' device.
sgd_step = _C.sgd_step
adam_step = _C.adam_step
rmsprop_step = _C.rmsprop_step
