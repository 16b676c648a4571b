"""EinsumDense: a dense layer whose product is an einsum equation (Keras 3's)."""
from __future__ import annotations

import re
from typing import Any, Optional, Sequence

from fastdl import activations, ops
from fastdl.layers.base import Layer
from fastdl.layers.signature import layer_label
from fastdl.tensor import Tensor

__all__ = ["EinsumDense"]

_PLAIN = re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$")
_LEFT_ELIDED = re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$")


class EinsumDense(Layer):
    """``activation(einsum(equation, inputs, kernel) + bias)``: the equation names the input's
    axes, the kernel's and the output's (``"ab,bc->ac"`` is a Dense; ``"abc,cd->abd"`` a Dense
    along the last axis of a sequence; ``"...b,bc->...c"`` the same for any leading axes).
    ``output_shape`` gives the output's sizes without the batch axis (without the elided axes
    with ``...``), None where an input axis gives it; the kernel takes its sizes from the
    output's and the input's axes of the same letters. ``bias_axes`` names the output axes the
    bias spans (from the first of them to the last axis, 1 for the others). Keras 3's weights
    ``kernel`` and ``bias``.

    >>> import fastdl
    >>> layer = fastdl.layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 4),
    ...                                   bias_axes="de")
    >>> layer(fastdl.ones(3, 5, 8)).shape, [tuple(w.shape) for w in layer.weights]
    ((3, 5, 2, 4), [(8, 2, 4), (2, 4)])
    """

    def __init__(self, equation: str, output_shape: Any, activation: Any = None,
                 bias_axes: Optional[str] = None, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 lora_rank: Optional[int] = None, **kwargs: Any) -> None:
        unavailable = {"kernel_regularizer": kernel_regularizer,
                       "bias_regularizer": bias_regularizer,
                       "activity_regularizer": activity_regularizer,
                       "kernel_constraint": kernel_constraint, "bias_constraint": bias_constraint,
                       "lora_rank": lora_rank}
        for name, value in unavailable.items():
            if value is not None:
                raise NotImplementedError(f"EinsumDense: {name} is not available in fastdl; "
                                          f"received {name}={value!r} (leave it None)")
        super().__init__(**kwargs)
        self.equation = equation
        self.partial_output_shape = ((output_shape,) if isinstance(output_shape, int)
                                     else tuple(output_shape))
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def _specs(self) -> tuple[str, str, str, bool]:
        for pattern, elided in ((_PLAIN, False), (_LEFT_ELIDED, True)):
            match = pattern.match(self.equation.replace(" ", ""))
            if match:
                return (*match.groups(), elided)
        raise ValueError(f"{layer_label(self)}: equation {self.equation!r} is not of the form "
                         f"'ab,bc->ac' or '...b,bc->...c' (fastdl does not take an ellipsis "
                         f"on the right)")

    def _shapes(self, input_shape: Sequence) -> tuple[tuple, Optional[tuple], tuple]:
        """(kernel shape, bias shape or None, output shape) for inputs of ``input_shape``."""
        input_spec, weight_spec, output_spec, elided = self._specs()
        rank = len(input_shape)
        lead = rank - len(input_spec) if elided else 0
        if (not elided and rank != len(input_spec)) or lead < 0:
            raise ValueError(f"{layer_label(self)}: the equation {self.equation!r} names "
                             f"{len(input_spec)} input axes; received an input of shape "
                             f"{tuple(input_shape)}")
        named_out = list(self.partial_output_shape) if elided else [input_shape[0]] + list(
            self.partial_output_shape)
        if len(named_out) != len(output_spec):
            raise ValueError(f"{layer_label(self)}: output_shape {self.partial_output_shape} "
                             f"does not fit the equation's output {output_spec!r}")
        sizes_in = {c: input_shape[lead + i] for i, c in enumerate(input_spec)}
        sizes_out = {}
        for c, size in zip(output_spec, named_out):
            if c in sizes_in and size is not None and sizes_in[c] is not None \
                    and size != sizes_in[c]:
                raise ValueError(f"{layer_label(self)}: the output's axis {c!r} has size {size} "
                                 f"but the input's has {sizes_in[c]}")
            sizes_out[c] = sizes_in[c] if size is None and c in sizes_in else size
        kernel_shape = []
        for c in weight_spec:
            size = sizes_out.get(c, sizes_in.get(c))
            if size is None:
                raise ValueError(f"{layer_label(self)}: the kernel's axis {c!r} of "
                                 f"{self.equation!r} takes its size from no input or output "
                                 f"axis of known size")
            kernel_shape.append(size)
        output = tuple(input_shape[:lead]) + tuple(sizes_out[c] for c in output_spec)
        bias_shape = None
        if self.bias_axes:
            missing = [c for c in self.bias_axes if c not in output_spec]
            if missing:
                raise ValueError(f"{layer_label(self)}: bias_axes {self.bias_axes!r} names "
                                 f"{missing[0]!r}, which is not an output axis of "
                                 f"{self.equation!r}")
            first = min(output_spec.index(c) for c in self.bias_axes)
            bias_shape = tuple(sizes_out[c] if c in self.bias_axes else 1
                               for c in output_spec[first:])
        return tuple(kernel_shape), bias_shape, output

    def build(self, input_shape):
        kernel_shape, bias_shape, _ = self._shapes(input_shape)
        self.kernel = self.add_weight(name="kernel", shape=kernel_shape,
                                      initializer=self.kernel_initializer)
        self.bias = (None if bias_shape is None else
                     self.add_weight(name="bias", shape=bias_shape,
                                     initializer=self.bias_initializer))

    def call(self, inputs: Tensor) -> Tensor:
        out = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        return out if self.activation is activations.linear else self.activation(out)

    def compute_output_shape(self, input_shape: Sequence) -> tuple:
        return self._shapes(input_shape)[2]

    def get_config(self) -> dict:
        return {**super().get_config(), "equation": self.equation,
                "output_shape": self.partial_output_shape,
                "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes, "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer}
