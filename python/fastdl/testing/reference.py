"""Independent float64 NumPy references for fastdl's operations: direct formulas and loops,
written for clarity rather than speed, that the operation cases (:mod:`fastdl.testing.op_cases`)
and the tests compare fastdl's kernels with. Products go through einsum's own loops rather than
BLAS, whose threads keep spinning for a while after a call and would slow down the kernel under
test that runs next.

>>> import numpy as np
>>> from fastdl.testing import reference
>>> reference.softmax(np.zeros(4))
array([0.25, 0.25, 0.25, 0.25])
>>> reference.linear([[1.0, -2.0]], np.eye(2), activation="relu")
array([[1., 0.]])
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = [
    "f64", "matmul", "matmul_grads", "linear", "linear_grads", "normal_cdf", "normal_pdf",
    "activation", "activation_grad", "ACTIVATIONS", "log_softmax", "softmax",
    "softmax_backward", "log_softmax_backward", "softmax_grad", "softmax_cross_entropy",
    "numeric_gradient", "conv2d", "conv2d_grads", "pool_geometry", "max_pool2d",
    "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "batch_norm",
    "EPSILON", "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy",
    "erf", "erf_grad", "silu", "silu_grad", "elu", "elu_grad", "softplus", "logsumexp",
    "logsumexp_grad", "top_k", "tensordot", "norm", "recurrent",
]

Array = np.ndarray


def f64(x: Any) -> Array:
    """``x`` as a float64 NumPy array."""
    return np.asarray(x, np.float64)


def _sum_to(grad: Array, shape: tuple) -> Array:
    """``grad`` summed over the axes that broadcasting added or stretched to reach it from
    ``shape``."""
    lead = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(lead))) if lead else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def matmul(a: Any, b: Any) -> Array:
    """``a @ b`` in float64, with NumPy's matmul semantics (by einsum)."""
    a, b = f64(a), f64(b)
    product = np.einsum("...ij,...jk->...ik", a[np.newaxis] if a.ndim == 1 else a,
                        b[:, np.newaxis] if b.ndim == 1 else b)
    product = product[..., 0, :] if a.ndim == 1 else product
    return product[..., 0] if b.ndim == 1 else product


def matmul_grads(grad: Any, a: Any, b: Any) -> tuple[Array, Array]:
    """(da, db) of ``sum(grad * (a @ b))``: 1-D operands promoted as matmul promotes them, and
    the gradients of broadcast batch dimensions summed."""
    a, b, grad = f64(a), f64(b), f64(grad)
    a2 = a[np.newaxis] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    g = grad[..., np.newaxis] if b.ndim == 1 else grad
    g = g[..., np.newaxis, :] if a.ndim == 1 else g
    da = _sum_to(matmul(g, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
    db = _sum_to(matmul(np.swapaxes(a2, -1, -2), g), b2.shape).reshape(b.shape)
    return da, db


def linear(x: Any, w: Any, b: Any = None, activation: Optional[str] = None) -> Array:
    """``activation(x @ w + b)`` in float64."""
    y = matmul(x, w)
    if b is not None:
        y = y + f64(b)
    return ACTIVATIONS[activation or "none"](y)


def linear_grads(grad: Any, x: Any, w: Any, b: Any = None,
                 activation: Optional[str] = None) -> tuple[Array, Array, Optional[Array]]:
    """(dx, dw, db) of ``sum(grad * linear(x, w, b, activation))``; db is None without b.
    Leading batch dimensions of x are flattened into the rows of the product."""
    x, w = f64(x), f64(w)
    z = linear(x, w, b)
    dz = (f64(grad) * activation_grad(activation or "none", z)).reshape(-1, w.shape[1])
    rows = x.reshape(-1, w.shape[0])
    db = None if b is None else dz.sum(axis=0)
    return matmul(dz, w.T).reshape(x.shape), matmul(rows.T, dz), db


# ---------------------------------------------------------------- activations

_erfc = np.frompyfunc(math.erfc, 1, 1)
_GELU_C = math.sqrt(2.0 / math.pi)


def normal_cdf(x: Any) -> Array:
    """Phi(x) through erfc, accurate in both tails."""
    return 0.5 * np.asarray(_erfc(-f64(x) / math.sqrt(2.0)), np.float64)


def normal_pdf(x: Any) -> Array:
    """The standard normal density."""
    x = f64(x)
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: Any) -> Array:
    """The error function, elementwise, by the C library's ``erf``."""
    return np.asarray(_erf(f64(x)), np.float64)


def erf_grad(x: Any) -> Array:
    """d erf / dx = 2 / sqrt(pi) * exp(-x^2)."""
    x = f64(x)
    return 2.0 / math.sqrt(math.pi) * np.exp(-x * x)


def silu(x: Any) -> Array:
    """``x * sigmoid(x)``."""
    return f64(x) * _sigmoid(x)


def silu_grad(x: Any) -> Array:
    """d silu / dx = sigmoid(x) * (1 + x * (1 - sigmoid(x)))."""
    s = _sigmoid(x)
    return s * (1.0 + f64(x) * (1.0 - s))


def elu(x: Any, alpha: float = 1.0) -> Array:
    """``x`` for positive ``x``, else ``alpha * (exp(x) - 1)``."""
    x = f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x: Any, alpha: float = 1.0) -> Array:
    """d elu / dx: 1 for positive ``x``, else ``alpha * exp(x)``."""
    x = f64(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def softplus(x: Any) -> Array:
    """``log(1 + exp(x))``, by NumPy's overflow-free ``logaddexp``."""
    return np.logaddexp(0.0, f64(x))


def _sigmoid(x: Any) -> Array:
    x = f64(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _gelu_tanh(x: Any) -> Array:
    x = f64(x)
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def _gelu_tanh_grad(x: Any) -> Array:
    x = f64(x)
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)


def activation(name: str, x: Any, alpha: float = 0.0) -> Array:
    """act(x) in float64, by fastdl's kernel name (``alpha`` is leaky_relu's slope)."""
    x = f64(x)
    if name == "leaky_relu":
        return np.where(x > 0, x, alpha * x)
    return ACTIVATIONS[name](x)


def activation_grad(name: str, x: Any, alpha: float = 0.0) -> Array:
    """act'(x) in float64, as a function of the input x; left derivative at the kinks."""
    x = f64(x)
    return {
        "none": lambda: np.ones_like(x),
        "relu": lambda: (x > 0).astype(np.float64),
        "leaky_relu": lambda: np.where(x > 0, 1.0, alpha),
        "sigmoid": lambda: _sigmoid(x) * (1.0 - _sigmoid(x)),
        "tanh": lambda: 1.0 - np.tanh(x) ** 2,
        "step": lambda: np.zeros_like(x),
        "gelu": lambda: normal_cdf(x) + x * normal_pdf(x),
        "gelu_tanh": lambda: _gelu_tanh_grad(x),
    }[name]()


#: Activation by kernel name -> its float64 function (leaky_relu, which takes a slope, is
#: :func:`activation`'s).
ACTIVATIONS: dict[str, Callable[[Any], Array]] = {
    "none": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "step": lambda x: (f64(x) > 0).astype(np.float64),
    "gelu": lambda x: f64(x) * normal_cdf(x),
    "gelu_tanh": _gelu_tanh,
}


# ---------------------------------------------------------------- softmax family


def log_softmax(x: Any, axis: int = -1) -> Array:
    """``x - log(sum(exp(x)))`` along ``axis``, the maximum subtracted first."""
    x = f64(x)
    shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # rows of length 0
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x: Any, axis: int = -1) -> Array:
    """``exp(x) / sum(exp(x))`` along ``axis``."""
    return np.exp(log_softmax(x, axis))


def softmax_backward(grad: Any, y: Any) -> Array:
    """The input gradient of softmax along the last axis, from its output ``y``."""
    grad, y = f64(grad), f64(y)
    return y * (grad - np.sum(grad * y, axis=-1, keepdims=True))


def log_softmax_backward(grad: Any, y: Any) -> Array:
    """The input gradient of log_softmax along the last axis, from its output ``y``."""
    grad, y = f64(grad), f64(y)
    return grad - np.exp(y) * np.sum(grad, axis=-1, keepdims=True)


def softmax_grad(grad: Any, x: Any, axis: int = -1, log: bool = False) -> Array:
    """The input gradient of softmax (log_softmax with ``log``) along ``axis``, from the input
    ``x`` (the output recomputed here in float64)."""
    backward = log_softmax_backward if log else softmax_backward
    y = (log_softmax if log else softmax)(x, axis)
    moved = backward(np.moveaxis(f64(grad), axis, -1), np.moveaxis(y, axis, -1))
    return np.moveaxis(moved, -1, axis)


def softmax_cross_entropy(logits: Any, labels: Any) -> tuple[float, Array]:
    """(mean loss, gradient of the mean loss with respect to logits)."""
    logp = log_softmax(logits)
    cols = logp.shape[-1]
    logp2 = logp.reshape(-1, cols)
    labels = np.asarray(labels).reshape(-1)
    rows = logp2.shape[0]
    loss = -np.mean(logp2[np.arange(rows), labels]) if rows else float("nan")
    grad = np.exp(logp2)
    grad[np.arange(rows), labels] -= 1.0
    return loss, (grad / max(rows, 1)).reshape(logp.shape)


def numeric_gradient(f: Callable[[Array], float], x: Array, h: float = 1e-6) -> Array:
    """Central differences of the scalar function f at the float64 array x, one element at a
    time: an independent check of an analytic gradient."""
    grad = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        grad[idx] = (f(xp) - f(xm)) / (2 * h)
    return grad


# ---------------------------------------------------------------- convolution

def _tap_views(x: Array, w_shape: tuple, strides: tuple, padding: tuple,
               dilation: tuple) -> tuple[Array, list]:
    """The zero-padded NHWC image, and for each kernel tap (kh, kw) the view of it that the tap
    reads at every output position: ``(kh, kw, index)``. padding is (top, bottom, left,
    right)."""
    (sh, sw), (dh, dw), (pt, pb, pl, pr) = strides, dilation, padding
    kernel_h, kernel_w = w_shape[:2]
    padded = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out_h = (padded.shape[1] - dh * (kernel_h - 1) - 1) // sh + 1
    out_w = (padded.shape[2] - dw * (kernel_w - 1) - 1) // sw + 1
    views = [(kh, kw, (slice(None), slice(kh * dh, kh * dh + sh * (out_h - 1) + 1, sh),
                       slice(kw * dw, kw * dw + sw * (out_w - 1) + 1, sw)))
             for kh in range(kernel_h) for kw in range(kernel_w)]
    return padded, views


def conv2d(x: Any, w: Any, b: Any = None, strides: tuple = (1, 1),
           padding: tuple = (0, 0, 0, 0), dilation: tuple = (1, 1)) -> Array:
    """NHWC x, HWIO w: the sum over kernel taps of the padded image as the tap sees it times
    w[kh, kw] (+ b)."""
    x, w = f64(x), f64(w)
    padded, views = _tap_views(x, w.shape, strides, padding, dilation)
    y = sum(np.einsum("nhwc,co->nhwo", padded[view], w[kh, kw]) for kh, kw, view in views)
    return y if b is None else y + f64(b)


def conv2d_grads(x: Any, w: Any, dy: Any, strides: tuple = (1, 1),
                 padding: tuple = (0, 0, 0, 0),
                 dilation: tuple = (1, 1)) -> tuple[Array, Array, Array]:
    """(dx, dw, db) of sum(dy * conv2d(x, w, b)), tap by tap."""
    x, w, dy = f64(x), f64(w), f64(dy)
    padded, views = _tap_views(x, w.shape, strides, padding, dilation)
    d_padded, dw = np.zeros_like(padded), np.zeros_like(w)
    for kh, kw, view in views:
        d_padded[view] += np.einsum("nhwo,co->nhwc", dy, w[kh, kw])
        dw[kh, kw] = np.einsum("nhwc,nhwo->co", padded[view], dy)
    top, left = padding[0], padding[2]
    dx = d_padded[:, top:top + x.shape[1], left:left + x.shape[2]]
    return dx, dw, dy.sum(axis=(0, 1, 2))


# ---------------------------------------------------------------- pooling (NHWC)


def pool_geometry(size: int, pool: int, stride: int, padding: str) -> tuple[int, int]:
    """(output size, padding before) along one axis, with Keras's 'valid'/'same' rules."""
    if padding == "valid":
        return (size - pool) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + pool - size, 0)
    return out, total // 2


def _pool_windows(shape: tuple, pool: Sequence[int], strides: Sequence[int], padding: str):
    """(oh, ow, [(h, w), ...]) for every output position: the window's positions inside the
    image, in scan order (row by row, left to right)."""
    _, height, width, _ = shape
    oh_n, top = pool_geometry(height, pool[0], strides[0], padding)
    ow_n, left = pool_geometry(width, pool[1], strides[1], padding)
    for oh in range(oh_n):
        for ow in range(ow_n):
            positions = [(h, w)
                         for h in range(oh * strides[0] - top, oh * strides[0] - top + pool[0])
                         for w in range(ow * strides[1] - left, ow * strides[1] - left + pool[1])
                         if 0 <= h < height and 0 <= w < width]
            yield oh, ow, positions


def _out_shape(shape: tuple, pool: Sequence[int], strides: Sequence[int],
               padding: str) -> tuple:
    n, height, width, c = shape
    return (n, pool_geometry(height, pool[0], strides[0], padding)[0],
            pool_geometry(width, pool[1], strides[1], padding)[0], c)


def max_pool2d(x: Any, pool: Sequence[int], strides: Sequence[int],
               padding: str) -> tuple[Array, Array]:
    """(y, argmax): the maximum of each window and the position h * width + w of the first
    maximum in scan order (the first NaN, if any)."""
    x = f64(x)
    width = x.shape[2]
    y = np.empty(_out_shape(x.shape, pool, strides, padding))
    argmax = np.empty(y.shape, np.int64)
    for oh, ow, positions in _pool_windows(x.shape, pool, strides, padding):
        (h, w), rest = positions[0], positions[1:]
        best = x[:, h, w, :].copy()
        where = np.full((x.shape[0], x.shape[3]), h * width + w)
        for h, w in rest:
            v = x[:, h, w, :]
            take = (v > best) | (np.isnan(v) & ~np.isnan(best))
            best = np.where(take, v, best)
            where = np.where(take, h * width + w, where)
        y[:, oh, ow, :], argmax[:, oh, ow, :] = best, where
    return y, argmax


def max_pool2d_backward(grad: Any, argmax: Array, x_shape: tuple) -> Array:
    """dx: each output's gradient added to the input element its argmax names."""
    grad = f64(grad)
    dx = np.zeros(x_shape)
    rows, cols = np.divmod(np.asarray(argmax, np.int64), x_shape[2])
    batch = np.arange(grad.shape[0])[:, np.newaxis, np.newaxis, np.newaxis]
    np.add.at(dx, (batch, rows, cols, np.arange(grad.shape[3])), grad)
    return dx


def avg_pool2d(x: Any, pool: Sequence[int], strides: Sequence[int], padding: str) -> Array:
    """The mean of each window over its positions inside the image."""
    x = f64(x)
    y = np.empty(_out_shape(x.shape, pool, strides, padding))
    for oh, ow, positions in _pool_windows(x.shape, pool, strides, padding):
        y[:, oh, ow, :] = sum(x[:, h, w, :] for h, w in positions) / len(positions)
    return y


def avg_pool2d_backward(grad: Any, x_shape: tuple, pool: Sequence[int],
                        strides: Sequence[int], padding: str) -> Array:
    """dx of average pooling: each output's gradient shared by its window's positions."""
    grad = f64(grad)
    dx = np.zeros(x_shape)
    for oh, ow, positions in _pool_windows(x_shape, pool, strides, padding):
        for h, w in positions:
            dx[:, h, w, :] += grad[:, oh, ow, :] / len(positions)
    return dx


# ---------------------------------------------------------------- normalization


def batch_norm(x: Any, gamma: Any, beta: Any, axes: tuple,
               epsilon: float) -> tuple[Array, Array, Array]:
    """(y, mean, var): x normalized by its biased moments over ``axes``, scaled and shifted;
    the moments with ``axes`` removed."""
    x = f64(x)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + epsilon) * f64(gamma) + f64(beta)
    return y, mean.squeeze(axis=axes), var.squeeze(axis=axes)


# Layer and RMS normalization and dot-product attention: their references are in a module of
# their own, read here as the others are.
from fastdl.testing.reference_transformer import (  # noqa: E402,F401
    dot_product_attention, dot_product_attention_grad, layer_normalization,
    layer_normalization_grad)


# ---------------------------------------------------------------- losses (Keras's formulas)

#: Keras clips probabilities to [EPSILON, 1 - EPSILON] before their log.
EPSILON = 1e-7


def _clipped(p: Any) -> Array:
    return np.clip(f64(p), EPSILON, 1.0 - EPSILON)


def mean_squared_error(y_true: Any, y_pred: Any) -> Array:
    """Per-sample mean of the squared errors over the last axis."""
    return np.mean((f64(y_pred) - f64(y_true)) ** 2, axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Array:
    """Per-sample mean of the absolute errors over the last axis."""
    return np.mean(np.abs(f64(y_pred) - f64(y_true)), axis=-1)


def binary_crossentropy(y_true: Any, y_pred: Any) -> Array:
    """Per-sample binary cross-entropy of clipped probabilities, averaged over the last axis."""
    t, p = f64(y_true), _clipped(y_pred)
    return -np.mean(t * np.log(p) + (1.0 - t) * np.log(1.0 - p), axis=-1)


def categorical_crossentropy(y_true: Any, y_pred: Any) -> Array:
    """Per-sample cross-entropy against probability targets; the predictions renormalized to
    sum to 1, then clipped."""
    p = f64(y_pred)
    return -np.sum(f64(y_true) * np.log(_clipped(p / p.sum(axis=-1, keepdims=True))), axis=-1)


def sparse_categorical_crossentropy(labels: Any, y_pred: Any) -> Array:
    """Per-sample cross-entropy against integer class labels, of clipped probabilities."""
    p = _clipped(y_pred)
    labels = np.asarray(labels)
    picked = np.take_along_axis(p, labels[..., np.newaxis], axis=-1)[..., 0]
    return -np.log(picked)


# ---------------------------------------------------------------- reductions, selections, norms


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """``log(sum(exp(x)))`` with the maximum taken out first."""
    x = f64(x)
    peak = np.max(x, axis=axis, keepdims=True)
    total = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return total if keepdims else np.squeeze(total, axis=axis)


def logsumexp_grad(grad: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """The gradient of ``sum(grad * logsumexp(x))``: ``grad`` times the softmax over the axes."""
    x = f64(x)
    total = logsumexp(x, axis, keepdims=True)
    g = f64(grad) if keepdims else np.expand_dims(f64(grad), () if axis is None else axis)
    return g * np.exp(x - total)


def top_k(x: Any, k: int) -> tuple[Array, Array]:
    """The ``k`` largest values of each row (last axis) in decreasing order, equal values by
    index, and their indices."""
    x = f64(x)
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, order, axis=-1), order


def tensordot(a: Any, b: Any, axes: Any = 2) -> Array:
    """NumPy's tensordot, written as an einsum (no BLAS)."""
    a, b = f64(a), f64(b)
    if isinstance(axes, int):
        axes = (list(range(a.ndim - axes, a.ndim)), list(range(axes)))
    first, second = ([ax] if isinstance(ax, int) else list(ax) for ax in axes)
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    a_sub = [next(letters) for _ in range(a.ndim)]
    b_sub = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(first, second):
        b_sub[j % b.ndim] = a_sub[i % a.ndim]
    summed = {a_sub[i % a.ndim] for i in first}
    out = [c for c in a_sub if c not in summed] + [c for c in b_sub if c not in summed]
    return np.einsum(f"{''.join(a_sub)},{''.join(b_sub)}->{''.join(out)}", a, b)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Array:  # noqa: A002
    """NumPy's vector and matrix norms, over all axes of a 1-D or 2-D ``x`` when ``axis`` is
    None."""
    x = f64(x)
    if axis is None:
        axis = tuple(range(x.ndim))
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def recurrent(cell: str, x: Any, w: Any, u: Any, b: Any = None, reset_after: bool = True,
              go_backwards: bool = False) -> tuple:
    """A SimpleRNN (``cell='simple'``), LSTM or GRU layer over whole sequences, Keras's
    weights and gate orders, step by step: ``(outputs, h)``, or ``(outputs, h, c)`` for an
    LSTM; the outputs in the order the steps ran. GRU's bias is (2, 3H) with ``reset_after``
    (input, recurrent), else (3H,)."""
    x, w, u = f64(x), f64(w), f64(u)
    batch, steps, _ = x.shape
    units = u.shape[0]
    sigmoid, tanh = _sigmoid, np.tanh
    input_bias = recurrent_bias = 0.0
    if b is not None:
        b = f64(b)
        input_bias, recurrent_bias = (b[0], b[1]) if cell == "gru" and reset_after else (b, 0.0)
    h, c = np.zeros((batch, units)), np.zeros((batch, units))
    outputs = []
    for t in (range(steps - 1, -1, -1) if go_backwards else range(steps)):
        xw = np.einsum("bi,ig->bg", x[:, t], w) + input_bias
        if cell == "simple":
            h = tanh(xw + np.einsum("bh,hg->bg", h, u))
        elif cell == "lstm":
            i, f, g, o = np.split(xw + np.einsum("bh,hg->bg", h, u), 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * tanh(g)
            h = sigmoid(o) * tanh(c)
        else:
            x_z, x_r, x_h = np.split(xw, 3, axis=1)
            u_z, u_r, u_h = np.split(u, 3, axis=1)
            if reset_after:
                h_z, h_r, h_h = np.split(np.einsum("bh,hg->bg", h, u) + recurrent_bias, 3,
                                         axis=1)
                z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
                candidate = tanh(x_h + r * h_h)
            else:
                z = sigmoid(x_z + np.einsum("bh,hg->bg", h, u_z))
                r = sigmoid(x_r + np.einsum("bh,hg->bg", h, u_r))
                candidate = tanh(x_h + np.einsum("bh,hg->bg", r * h, u_h))
            h = z * h + (1 - z) * candidate
        outputs.append(h)
    stacked = np.stack(outputs, axis=1)
    return (stacked, h, c) if cell == "lstm" else (stacked, h)
