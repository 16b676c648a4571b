"""fastdl: a small, fast deep-learning library.

Hand-written C++ kernels (AVX-512, AVX2/FMA, on fastdl's own thread pool) under a
NumPy-friendly Python API, with a Tensor that records operations for reverse-mode autograd.
The operations live in :mod:`fastdl.ops` (Tensors, arrays and numbers in, Tensors out); the
most used are also here.

>>> import numpy as np, fastdl
>>> fastdl.matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)).shape
(2, 4)
>>> w = fastdl.tensor([1.0, 2.0], requires_grad=True)
>>> (w * w).sum().backward(); w.grad
tensor([2., 4.])
"""
from fastdl._config import build_info, get_num_threads, set_num_threads
from fastdl.tensor import Tensor
from fastdl import autograd
from fastdl.autograd import (
    Function,
    GradcheckError,
    grad,
    gradcheck,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from fastdl import ops
from fastdl.creation import (
    arange,
    from_dlpack,
    from_numpy,
    full,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
# The operations most used directly, also at the top level (fastdl.relu is fastdl.ops.relu).
from fastdl.ops import (
    abs,
    avg_pool2d,
    clip,
    concatenate,
    conv1d,
    conv1d_transpose,
    conv2d,
    conv2d_transpose,
    dropout,
    exp,
    gelu,
    global_avg_pool2d,
    global_max_pool2d,
    leaky_relu,
    linear,
    log,
    log_softmax,
    matmul,
    max,
    max_pool2d,
    maximum,
    mean,
    min,
    minimum,
    pad,
    permute,
    relu,
    reshape,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    sqrt,
    squeeze,
    stack,
    step,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from fastdl.random import manual_seed
from fastdl import cuda  # noqa: E402
from fastdl import (  # noqa: E402  (the Keras-style API, built on everything above)
    activations,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    utils,
)
from fastdl import keras  # noqa: E402
from fastdl.gradient_tape import GradientTape  # noqa: E402

__version__ = build_info()["version"]

__all__ = [
    "build_info", "get_num_threads", "set_num_threads",
    "Tensor", "Function", "GradcheckError", "grad", "gradcheck", "is_grad_enabled", "no_grad",
    "set_grad_enabled", "manual_seed", "GradientTape",
    "tensor", "from_numpy", "from_dlpack", "zeros", "ones", "full", "zeros_like", "ones_like",
    "arange", "rand", "randn",
    "matmul", "linear", "relu", "leaky_relu", "sigmoid", "tanh", "step", "gelu", "softmax",
    "log_softmax", "softmax_cross_entropy", "exp", "log", "sqrt", "abs", "clip", "maximum",
    "minimum", "where", "sum", "mean", "max", "min", "var", "reshape", "transpose", "permute",
    "squeeze", "unsqueeze", "concatenate", "stack", "pad", "dropout", "conv2d", "conv1d",
    "conv2d_transpose", "conv1d_transpose", "max_pool2d", "avg_pool2d", "global_avg_pool2d",
    "global_max_pool2d",
    "activations", "callbacks", "datasets", "initializers", "layers", "losses", "metrics",
    "models", "optimizers", "utils", "keras", "cuda", "ops", "autograd",
]
