"""What calling a layer needs to know about the signatures of its ``call``, ``build`` and
``compute_output_shape``: which argument is which, which ones are tensors, and the shapes to
build from.

A layer's ``call`` may take several tensors (``call(self, query, value, key=None)``). The
first argument is the layer's ``inputs``; the shapes of the tensor arguments reach ``build``
by name (``build(self, query_shape, value_shape)``), or, when ``build`` takes one argument,
as the shape of the first of them.

>>> import fastdl
>>> class Scaled(fastdl.layers.Layer):
...     def call(self, x, scale, training=None):
...         return x * scale
>>> spec = CallSignature(Scaled.call)
>>> spec.bind(Scaled(), (1, 2), {})
{'x': 1, 'scale': 2}
>>> spec.takes_training, spec.takes_mask
(True, False)
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from fastdl.layers.nested import flatten, is_nested, map_structure
from fastdl.layers.symbolic import SymbolicTensor
from fastdl.tensor import Tensor

__all__ = ["CallSignature", "tensor_arguments", "argument_shapes", "shape_arguments"]

_NAMED = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
          inspect.Parameter.KEYWORD_ONLY)


def layer_label(layer: Any) -> str:
    """How errors name a layer: ``layer 'dense_1' (Dense)``."""
    return f"layer {layer.name!r} ({type(layer).__name__})"


class CallSignature:
    """The parameters of a layer class's ``call`` (``self`` left out), read once per class."""

    __slots__ = ("names", "positional", "var_positional", "var_keyword", "defaults",
                 "takes_training", "default_training", "takes_mask")

    def __init__(self, call: Callable) -> None:
        params = list(inspect.signature(call).parameters.values())[1:]
        kinds = inspect.Parameter
        self.names = tuple(p.name for p in params if p.kind in _NAMED)
        self.positional = tuple(p.name for p in params
                                if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD))
        self.var_positional = next((p.name for p in params if p.kind is kinds.VAR_POSITIONAL),
                                   None)
        self.var_keyword = next((p.name for p in params if p.kind is kinds.VAR_KEYWORD), None)
        self.defaults = {p.name: p.default for p in params if p.default is not p.empty}
        # A call that takes **kwargs is given the training flag too.
        self.takes_training = "training" in self.names or self.var_keyword is not None
        # A default other than None (call(self, x, training=False)) is the flag when neither
        # the caller nor an enclosing layer call sets one.
        self.default_training = self.defaults.get("training")
        # Masks are passed only to a call that names the argument (mask, or <arg>_mask).
        self.takes_mask = "mask" in self.names

    def bind(self, layer: Any, args: tuple, kwargs: dict) -> dict:
        """The arguments by parameter name, in the signature's order, as Python binds them:
        extra positional values under the ``*args`` name, extra keywords under the
        ``**kwargs`` name."""
        named: dict = dict(zip(self.positional, args))
        if len(args) > len(self.positional):
            if self.var_positional is None:
                raise TypeError(f"{layer_label(layer)}: call() takes {len(self.positional)} "
                                f"positional argument(s), received {len(args)}")
            named[self.var_positional] = tuple(args[len(self.positional):])
        extra: dict = {}
        for key, value in kwargs.items():
            if key in named:
                raise TypeError(f"{layer_label(layer)}: call() got two values for argument "
                                f"{key!r}")
            if key in self.names:
                named[key] = value
            elif self.var_keyword is not None:
                extra[key] = value
            else:
                raise TypeError(f"{layer_label(layer)}: call() got an unexpected keyword "
                                f"argument {key!r}")
        if extra:
            named[self.var_keyword] = extra
        order = self.names + (self.var_positional, self.var_keyword)
        return {name: named[name] for name in order if name in named}

    def first_argument(self, arguments: dict) -> Any:
        """The layer's ``inputs``: the value of call's first parameter."""
        first = self.positional[0] if self.positional else self.var_positional
        if first in arguments:
            return arguments[first]
        return self.defaults.get(first)


def _is_tensor(value: Any) -> bool:
    return isinstance(value, (Tensor, SymbolicTensor))


def tensor_arguments(layer: Any, arguments: dict) -> dict:
    """The arguments that are tensors, or structures of tensors (None allowed among them)."""
    found = {}
    for name, value in arguments.items():
        if _is_tensor(value):
            found[name] = value
        elif is_nested(value) and value:
            leaves = flatten(value)
            tensors = [leaf for leaf in leaves if _is_tensor(leaf)]
            if tensors and len(tensors) + sum(leaf is None for leaf in leaves) == len(leaves):
                found[name] = value
            elif tensors:
                raise ValueError(f"{layer_label(layer)}: argument {name!r} mixes tensors and "
                                 f"other values; pass the other values as arguments of their "
                                 f"own")
    return found


def argument_shapes(tensors: dict, signature: CallSignature) -> dict:
    """``{'<arg>_shape': shape}`` for the tensor arguments (a structure of shapes for a
    structure of tensors), masks and catch-all arguments left out, in call's order."""
    skipped = ("mask", signature.var_positional, signature.var_keyword)
    return {f"{name}_shape": map_structure(lambda t: None if t is None else tuple(t.shape),
                                           value)
            for name, value in tensors.items() if name not in skipped}


def shape_arguments(layer: Any, method: Callable, shapes: dict,
                    signature: CallSignature) -> dict:
    """The keyword arguments to call ``method`` (a bound ``build`` or
    ``compute_output_shape``) with: its only argument gets the first tensor argument's shape;
    several arguments are matched by name, each ``<arg>_shape`` naming an argument of
    ``call``."""
    names = [p.name for p in inspect.signature(method).parameters.values() if p.kind in _NAMED]
    if len(names) == 1:
        return {names[0]: next(iter(shapes.values()), None)}
    for name in names:
        if not name.endswith("_shape") or name[:-len("_shape")] not in signature.names:
            raise ValueError(
                f"{layer_label(layer)}: {method.__name__}() takes several arguments, so each "
                f"must be an argument of call() with the suffix '_shape' (query_shape for "
                f"call(self, query, ...)); received {name!r}, and call() takes "
                f"{', '.join(signature.names) or 'no named arguments'}")
    return {name: shapes[name] for name in names if name in shapes}
