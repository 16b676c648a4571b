"""Symbolic tensors: what ``Input(...)`` returns and what calling a layer on one returns.

They carry a shape (batch axis None), a dtype and, when the data they stand for will carry a
mask, a symbolic mask; and they remember the layer call that made them (a :class:`Node`),
so that ``Model(inputs, outputs)`` can replay the calls on real data. A call records all its
arguments, positional and keyword, nested in lists, tuples and dicts, and all its outputs.

>>> import fastdl
>>> x = fastdl.layers.Input(shape=(4,))
>>> y = fastdl.layers.Dense(2)(x, training=False)
>>> y.node.inputs == (x,), y.node.kwargs, y.shape
(True, {'training': False}, (None, 2))
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from fastdl.layers.nested import flatten, map_structure

__all__ = ["SymbolicTensor", "Node", "is_symbolic"]


class Node:
    """One call of a layer in a functional graph: ``outputs = layer(*args, **kwargs)``.

    ``inputs`` are the symbolic tensors found in the arguments, ``outputs`` the symbolic
    tensors of the result, flat; ``output_structure`` is the result as the layer returned it.
    The layer keeps its nodes, in the order of its calls, in ``layer._inbound_nodes``: the
    first gives ``layer.input`` and ``layer.output``, and a node's position there is the
    ``[node][tensor]`` index a model's summary shows.
    """

    __slots__ = ("layer", "args", "kwargs", "inputs", "single_input", "outputs",
                 "output_structure")

    def __init__(self, layer: Any, args: Sequence = (), kwargs: Optional[dict] = None) -> None:
        self.layer = layer
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.inputs = tuple(t for t in flatten([self.args, self.kwargs])
                            if isinstance(t, SymbolicTensor))
        # The common call, layer(x) on one tensor, replays without walking structures.
        single = len(self.args) == 1 and not self.kwargs
        self.single_input = self.args[0] if single and isinstance(self.args[0],
                                                                 SymbolicTensor) else None
        self.outputs: tuple = ()
        self.output_structure: Any = None
        layer._inbound_nodes.append(self)

    def set_outputs(self, structure: Any) -> Any:
        """Records the call's result (symbolic tensors, nested) as made by this node."""
        self.output_structure = structure
        self.outputs = tuple(t for t in flatten(structure) if isinstance(t, SymbolicTensor))
        for t in self.outputs:
            t.node = self
        return structure

    def arguments_from(self, values: dict) -> tuple:
        """``(args, kwargs)`` with each symbolic tensor replaced by ``values[id(tensor)]``."""
        def value(leaf: Any) -> Any:
            return values[id(leaf)] if isinstance(leaf, SymbolicTensor) else leaf
        return (map_structure(value, self.args),
                {key: map_structure(value, v) for key, v in self.kwargs.items()})

    def store_outputs(self, result: Any, values: dict) -> None:
        """Records in ``values`` the real result of replaying this call."""
        leaves = flatten(result)
        symbolic = flatten(self.output_structure)
        if len(leaves) != len(symbolic):
            raise ValueError(f"layer {self.layer.name!r} ({type(self.layer).__name__}) "
                             f"returned {len(leaves)} value(s) where the graph was built with "
                             f"{len(symbolic)}")
        for t, leaf in zip(symbolic, leaves):
            if isinstance(t, SymbolicTensor):
                values[id(t)] = leaf


class SymbolicTensor:
    """A placeholder for the data that will flow through a layer graph.

    >>> import fastdl
    >>> x = fastdl.layers.Input(shape=(784,))
    >>> x.shape
    (None, 784)
    """

    __slots__ = ("shape", "dtype", "node", "name", "_keras_mask")

    def __init__(self, shape: Sequence[Optional[int]], dtype: Any = "float32",
                 node: Optional[Node] = None, name: Optional[str] = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.name = name
        self._keras_mask: Optional[SymbolicTensor] = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        made_by = f", made by {self.node.layer.name!r}" if self.node is not None else ""
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}{made_by}>"


def is_symbolic(*structures: Any) -> bool:
    """True when a symbolic tensor is among the leaves of ``structures``.

    >>> import fastdl
    >>> is_symbolic([fastdl.ones(2), fastdl.layers.Input(shape=(2,))])
    True
    """
    return any(isinstance(leaf, SymbolicTensor) for leaf in flatten(list(structures)))
