"""Elementwise activations on the GPU (``fastdl._cuda``), the signatures of
:mod:`fastdl.backend.cpu`'s."""
from __future__ import annotations

from fastdl.backend.cuda import runtime

__all__ = ["activation_forward", "activation_backward"]


def activation_forward(name: str, x, alpha: float = 0.0):
    """The activation ``name`` elementwise, as :func:`fastdl.backend.cpu.activation_forward`."""
    (x,) = runtime.float32_operands(name, x)
    out = runtime.empty(x.shape)
    runtime.kernels().activation_forward(name, x, out, float(alpha), runtime.stream())
    return out


def activation_backward(name: str, grad, saved, alpha: float = 0.0):
    """``grad * act'(.)``, as :func:`fastdl.backend.cpu.activation_backward`."""
    grad, saved = runtime.float32_operands(f"{name}_backward", grad, saved)
    out = runtime.empty(grad.shape)
    runtime.kernels().activation_backward(name, grad, saved, out, float(alpha), runtime.stream())
    return out
