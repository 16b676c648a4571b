"""Symbolic tensors: what ``Input(...)`` returns and what calling a layer on one returns.

They carry a shape (batch axis None) and a dtype, and remember the layer call that made them,
so that ``Model(inputs, outputs)`` can replay the calls on real data.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np


class Node:
    """One call of a layer in a functional graph: ``outputs = layer(inputs, **kwargs)``."""

    __slots__ = ("layer", "inputs", "kwargs", "list_input", "outputs")

    def __init__(self, layer: Any, inputs: Sequence["SymbolicTensor"], kwargs: dict,
                 list_input: bool = False) -> None:
        self.layer = layer
        self.inputs = tuple(inputs)
        self.kwargs = kwargs
        self.list_input = list_input  # the layer was called on a list, not on one tensor
        self.outputs: tuple = ()


class SymbolicTensor:
    """A placeholder for the data that will flow through a layer graph.

    >>> import fastdl
    >>> x = fastdl.layers.Input(shape=(784,))
    >>> x.shape
    (None, 784)
    """

    __slots__ = ("shape", "dtype", "node", "name")

    def __init__(self, shape: Sequence[Optional[int]], dtype: Any = "float32",
                 node: Optional[Node] = None, name: Optional[str] = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        made_by = f", made by {self.node.layer.name!r}" if self.node is not None else ""
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}{made_by}>"


def is_symbolic(inputs: Any) -> bool:
    """True for a SymbolicTensor or a list/tuple holding one."""
    if isinstance(inputs, SymbolicTensor):
        return True
    return isinstance(inputs, (list, tuple)) and any(isinstance(t, SymbolicTensor)
                                                     for t in inputs)


def call_symbolic(layer: Any, inputs: Any, kwargs: dict) -> Any:
    """Builds ``layer`` for the symbolic ``inputs`` and returns symbolic outputs of the shape a
    real call gives (found by running it on one zero sample)."""
    flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if not all(isinstance(t, SymbolicTensor) for t in flat):
        raise TypeError(f"layer {layer.name!r}: a symbolic call needs every input to come from "
                        f"fastdl.layers.Input or another layer; got {inputs!r}")
    shapes = [t.shape for t in flat]
    out_shapes = layer.compute_output_shape(shapes if isinstance(inputs, (list, tuple))
                                            else shapes[0])
    node = Node(layer, flat, kwargs, list_input=isinstance(inputs, (list, tuple)))
    if isinstance(out_shapes, list):
        node.outputs = tuple(SymbolicTensor(s, layer.dtype, node) for s in out_shapes)
        return list(node.outputs)
    node.outputs = (SymbolicTensor(out_shapes, layer.dtype, node),)
    return node.outputs[0]
