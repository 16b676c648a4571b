"""Elementwise activations on the CPU (``fastdl._C``), by name: ``relu``, ``leaky_relu``,
``sigmoid``, ``tanh``, ``step``, ``gelu`` (erf) and ``gelu_tanh``."""
from __future__ import annotations

import numpy as np

from fastdl import _C
from fastdl.backend.cpu.glue import as_float_arrays

__all__ = ["activation_forward", "activation_backward"]


def activation_forward(name: str, x, alpha: float = 0.0) -> np.ndarray:
    """The activation ``name`` elementwise; ``alpha`` is leaky_relu's slope.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> cpu.activation_forward("leaky_relu", np.array([-1.0, 2.0]), 0.1)
    array([-0.1,  2. ])
    """
    (x,) = as_float_arrays(name, x)
    return _C.activation_forward(name, x, float(alpha))


def activation_backward(name: str, grad, saved, alpha: float = 0.0) -> np.ndarray:
    """Gradient of the activation ``name`` with respect to its input: ``grad * act'(.)``.

    ``saved`` is what the forward pass keeps: its output for ``'sigmoid'`` and ``'tanh'``, its
    input for every other activation (``'relu'`` accepts either). ``alpha`` is leaky_relu's
    slope. At the kinks the derivative is the left one: relu and step give 0 at 0. ``grad`` and
    ``saved`` must have the same shape.

    >>> import numpy as np
    >>> from fastdl.backend import cpu
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> cpu.activation_backward("relu", np.ones(3), x)
    array([0., 0., 1.])
    >>> y = cpu.activation_forward("sigmoid", np.zeros(1))
    >>> cpu.activation_backward("sigmoid", np.ones(1), y)
    array([0.25])
    """
    grad, saved = as_float_arrays(f"{name}_backward", grad, saved)
    return _C.activation_backward(name, grad, saved, float(alpha))
