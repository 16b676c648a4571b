"""Nested structures of values: lists, tuples and dicts of leaves, nested at will.

Layers take and return such structures (``Concatenate()([a, b])``, a layer returning a dict
of Tensors), so calling, masking and functional graphs walk them with these helpers. Dicts
are walked in sorted key order, so that two dicts with the same keys flatten alike whatever
order they were written in.

>>> from fastdl.layers.nested import flatten, map_structure
>>> flatten([1, (2, {"b": 4, "a": 3}), None])
[1, 2, 3, 4, None]
>>> map_structure(lambda x: x * 10, {"a": [1, 2], "b": (3,)})
{'a': [10, 20], 'b': (30,)}
"""
from __future__ import annotations

from numbers import Integral
from typing import Any, Callable, Iterator

__all__ = ["is_nested", "flatten", "map_structure", "pack_like", "is_shape",
           "map_shape_structure"]


# The structure types; everything else is a leaf.
_NESTED = (list, tuple, dict)


def is_nested(value: Any) -> bool:
    """Whether ``value`` is a structure (a list, tuple or dict) rather than a leaf."""
    return isinstance(value, _NESTED)


def _children(value: Any) -> Any:
    if isinstance(value, dict):
        return [value[key] for key in sorted(value)]
    return value


def _rebuild(value: Any, children: list) -> Any:
    """A structure of ``value``'s type (and keys) holding ``children``."""
    if isinstance(value, dict):
        return {key: child for key, child in zip(sorted(value), children)}
    if hasattr(value, "_fields"):  # a namedtuple takes its fields as arguments
        return type(value)(*children)
    return type(value)(children)


def flatten(structure: Any) -> list:
    """The leaves of ``structure``, depth first (a leaf alone gives a list of one)."""
    if not isinstance(structure, _NESTED):
        return [structure]
    leaves: list = []
    _collect(structure, leaves)
    return leaves


def _collect(structure: Any, leaves: list) -> None:
    # Layers flatten their arguments at every call: one function call per structure, none
    # per leaf.
    for child in _children(structure):
        if isinstance(child, _NESTED):
            _collect(child, leaves)
        else:
            leaves.append(child)


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """The same structure with ``fn`` applied to every leaf."""
    if not isinstance(structure, _NESTED):
        return fn(structure)
    return _rebuild(structure, [map_structure(fn, child) if isinstance(child, _NESTED)
                                else fn(child) for child in _children(structure)])


def pack_like(structure: Any, leaves: list) -> Any:
    """``structure`` with its leaves replaced, in order, by ``leaves`` (the inverse of
    :func:`flatten`).

    >>> pack_like([0, (0, 0)], ["a", "b", "c"])
    ['a', ('b', 'c')]
    """
    if len(leaves) != len(flatten(structure)):
        raise ValueError(f"pack_like: the structure holds {len(flatten(structure))} leaves, "
                         f"received {len(leaves)}")
    remaining = iter(leaves)
    return _pack(structure, remaining)


def _pack(structure: Any, remaining: Iterator) -> Any:
    if not is_nested(structure):
        return next(remaining)
    return _rebuild(structure, [_pack(child, remaining) for child in _children(structure)])


def is_shape(value: Any) -> bool:
    """Whether ``value`` is one shape: a tuple or list of sizes (ints or None).

    >>> is_shape((None, 3)), is_shape([(None, 3), (None, 4)])
    (True, False)
    """
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, Integral) for d in value)


def map_shape_structure(fn: Callable[[tuple], Any], structure: Any) -> Any:
    """Like :func:`map_structure`, with whole shapes as the leaves.

    >>> map_shape_structure(len, [(None, 3), {"a": (None, 2, 2)}])
    [2, {'a': 3}]
    """
    if is_shape(structure):
        return fn(tuple(structure))
    if not is_nested(structure):
        raise TypeError(f"expected a shape or a structure of shapes, got {structure!r}")
    return _rebuild(structure, [map_shape_structure(fn, child)
                                for child in _children(structure)])
