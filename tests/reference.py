"""Independent float64 NumPy references for the kernels under test."""
import math

import numpy as np


def f64(x):
    return np.asarray(x, np.float64)


def matmul(a, b):
    return np.matmul(f64(a), f64(b))


def linear(x, w, b=None, activation=None):
    y = matmul(x, w)
    if b is not None:
        y = y + f64(b)
    return ACTIVATIONS[activation or "none"](y)


# ---------------------------------------------------------------- activations

_erfc = np.frompyfunc(math.erfc, 1, 1)
_GELU_C = math.sqrt(2.0 / math.pi)


def normal_cdf(x):
    """Phi(x) through erfc, accurate in both tails."""
    return 0.5 * np.asarray(_erfc(-f64(x) / math.sqrt(2.0)), np.float64)


def normal_pdf(x):
    x = f64(x)
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _sigmoid(x):
    x = f64(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _gelu_tanh(x):
    x = f64(x)
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def _gelu_tanh_grad(x):
    x = f64(x)
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)


def activation(name, x, alpha=0.0):
    """act(x) in float64."""
    x = f64(x)
    if name == "leaky_relu":
        return np.where(x > 0, x, alpha * x)
    return ACTIVATIONS[name](x)


def activation_grad(name, x, alpha=0.0):
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


ACTIVATIONS = {
    "none": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "step": lambda x: (f64(x) > 0).astype(np.float64),
    "gelu": lambda x: f64(x) * normal_cdf(x),
    "gelu_tanh": _gelu_tanh,
}


# ---------------------------------------------------------------- softmax family


def log_softmax(x, axis=-1):
    x = f64(x)
    shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # rows of length 0
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x, axis=-1):
    return np.exp(log_softmax(x, axis))


def softmax_backward(grad, y):
    grad, y = f64(grad), f64(y)
    return y * (grad - np.sum(grad * y, axis=-1, keepdims=True))


def log_softmax_backward(grad, y):
    grad, y = f64(grad), f64(y)
    return grad - np.exp(y) * np.sum(grad, axis=-1, keepdims=True)


def softmax_cross_entropy(logits, labels):
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


def numeric_gradient(f, x, h=1e-6):
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

def _conv_taps(x_shape, w_shape, strides, padding, dilation):
    """Every (oh, ow, kh, kw, ih, iw) whose input position (ih, iw) lies inside the image:
    direct loops over output positions and kernel taps. padding is (top, bottom, left, right)."""
    _, H, W, _ = x_shape
    KH, KW = w_shape[:2]
    (sh, sw), (dh, dw), (pt, pb, pl, pr) = strides, dilation, padding
    OH = (H + pt + pb - dh * (KH - 1) - 1) // sh + 1
    OW = (W + pl + pr - dw * (KW - 1) - 1) // sw + 1
    taps = []
    for oh in range(OH):
        for ow in range(OW):
            for kh in range(KH):
                ih = oh * sh - pt + kh * dh
                for kw in range(KW):
                    iw = ow * sw - pl + kw * dw
                    if 0 <= ih < H and 0 <= iw < W:
                        taps.append((oh, ow, kh, kw, ih, iw))
    return OH, OW, taps


def conv2d(x, w, b=None, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    """NHWC x, HWIO w: y[n, oh, ow] = sum over taps of x[n, ih, iw] @ w[kh, kw] (+ b)."""
    x, w = f64(x), f64(w)
    OH, OW, taps = _conv_taps(x.shape, w.shape, strides, padding, dilation)
    y = np.zeros((x.shape[0], OH, OW, w.shape[3]))
    for oh, ow, kh, kw, ih, iw in taps:
        y[:, oh, ow] += x[:, ih, iw] @ w[kh, kw]
    return y if b is None else y + f64(b)


def conv2d_grads(x, w, dy, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    """(dx, dw, db) of sum(dy * conv2d(x, w, b)), by the same loops."""
    x, w, dy = f64(x), f64(w), f64(dy)
    _, _, taps = _conv_taps(x.shape, w.shape, strides, padding, dilation)
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for oh, ow, kh, kw, ih, iw in taps:
        dx[:, ih, iw] += dy[:, oh, ow] @ w[kh, kw].T
        dw[kh, kw] += x[:, ih, iw].T @ dy[:, oh, ow]
    return dx, dw, dy.sum(axis=(0, 1, 2))


# ---------------------------------------------------------------- pooling (NHWC)


def pool_geometry(size, pool, stride, padding):
    """(output size, padding before) along one axis, with Keras's 'valid'/'same' rules."""
    if padding == "valid":
        return (size - pool) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + pool - size, 0)
    return out, total // 2


def _pool_windows(shape, pool, strides, padding):
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


def _out_shape(shape, pool, strides, padding):
    n, height, width, c = shape
    return (n, pool_geometry(height, pool[0], strides[0], padding)[0],
            pool_geometry(width, pool[1], strides[1], padding)[0], c)


def max_pool2d(x, pool, strides, padding):
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


def max_pool2d_backward(grad, argmax, x_shape):
    """dx: each output's gradient added to the input element its argmax names."""
    grad = f64(grad)
    dx = np.zeros(x_shape)
    width = x_shape[2]
    for n, oh, ow, c in np.ndindex(grad.shape):
        pos = argmax[n, oh, ow, c]
        dx[n, pos // width, pos % width, c] += grad[n, oh, ow, c]
    return dx


def avg_pool2d(x, pool, strides, padding):
    """The mean of each window over its positions inside the image."""
    x = f64(x)
    y = np.empty(_out_shape(x.shape, pool, strides, padding))
    for oh, ow, positions in _pool_windows(x.shape, pool, strides, padding):
        y[:, oh, ow, :] = sum(x[:, h, w, :] for h, w in positions) / len(positions)
    return y


def avg_pool2d_backward(grad, x_shape, pool, strides, padding):
    grad = f64(grad)
    dx = np.zeros(x_shape)
    for oh, ow, positions in _pool_windows(x_shape, pool, strides, padding):
        for h, w in positions:
            dx[:, h, w, :] += grad[:, oh, ow, :] / len(positions)
    return dx
