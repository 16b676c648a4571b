"""A layer as Keras's ``{"class_name": ..., "config": ...}`` dict and back, as wrappers keep
the layers they hold in their configs (``keras.layers.serialize`` / ``deserialize``)."""
from __future__ import annotations

from fastdl.layers.base import Layer


def serialize(layer: Layer) -> dict:
    """``{"class_name": ..., "config": ...}`` for :func:`deserialize`.

    >>> import fastdl
    >>> fastdl.layers.serialize(fastdl.layers.Dense(3, name="proj"))["config"]["units"]
    3
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"serialize: expected a fastdl.layers.Layer, got {type(layer).__name__}")
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """A new layer from a :func:`serialize` dict: a layer of :mod:`fastdl.layers`, or a class
    of ``custom_objects`` by its name.

    >>> import fastdl
    >>> layer = fastdl.layers.deserialize({"class_name": "Dense", "config": {"units": 2}})
    >>> type(layer).__name__, layer.units
    ('Dense', 2)
    """
    from fastdl import layers

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"deserialize: expected a dict with 'class_name' and 'config', got {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or getattr(layers, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"deserialize: unknown layer class {name!r}; pass it in "
                         f"custom_objects")
    return cls.from_config(config.get("config", {}))
