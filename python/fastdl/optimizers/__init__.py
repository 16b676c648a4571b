"""Optimizers with Keras 3's interface and formulas, each step one fused native call.

``SGD``, ``Adam``, ``AdamW`` and ``RMSprop`` update every parameter of a model in one call into
the C++ kernels (clipping, weight decay, update, threads), from ``apply_gradients``;
:mod:`fastdl.optimizers.schedules` has the learning-rate schedules. :func:`get` finds an
optimizer by name, config or instance.

>>> import numpy as np, fastdl
>>> from fastdl import optimizers
>>> w = fastdl.tensor(np.zeros(3), requires_grad=True)
>>> opt = optimizers.get("adam")
>>> loss = ((w - fastdl.tensor(np.ones(3))) ** 2).sum()
>>> loss.backward()
>>> _ = opt.apply_gradients([(w.grad, w)])
>>> w.data
array([0.001, 0.001, 0.001])
"""
from __future__ import annotations

from typing import Any

from fastdl.optimizers import schedules
from fastdl.optimizers.adam import Adam, AdamW
from fastdl.optimizers.base import Optimizer
from fastdl.optimizers.rmsprop import RMSprop
from fastdl.optimizers.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]

_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def _known() -> str:
    return ", ".join(repr(n) for n in _BY_NAME)


def serialize(optimizer: Optimizer) -> dict:
    """``{"class_name": ..., "config": ...}`` (Keras's layout), for :func:`deserialize`.

    >>> from fastdl import optimizers
    >>> optimizers.serialize(optimizers.SGD(momentum=0.9))["config"]["momentum"]
    0.9
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize: expected an Optimizer, got {type(optimizer).__name__}")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """A new optimizer from a :func:`serialize` dict; the class name is matched
    case-insensitively (``custom_objects`` adds user classes by name).

    >>> from fastdl import optimizers
    >>> optimizers.deserialize({"class_name": "RMSprop", "config": {"rho": 0.8}}).rho
    0.8
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"deserialize: expected a dict with 'class_name' and 'config', got {config!r}"
        )
    name = config["class_name"]
    custom = {k.lower(): v for k, v in (custom_objects or {}).items()}
    cls = custom.get(str(name).lower()) or _BY_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; known: {_known()}")
    return cls.from_config(config.get("config", {}), custom_objects)


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name (``'sgd'``, ``'adam'``, ``'adamw'``, ``'rmsprop'``,
    case-insensitive, with default arguments), a config dict (see :func:`deserialize`) or an
    :class:`Optimizer` (returned as is).

    >>> from fastdl import optimizers
    >>> optimizers.get("Adam")
    Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False)
    >>> optimizers.get("adagrad")
    Traceback (most recent call last):
    ...
    ValueError: unknown optimizer 'adagrad'; known: 'sgd', 'adam', 'adamw', 'rmsprop'
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; known: {_known()}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        f"could not interpret optimizer identifier {identifier!r}: expected a name ({_known()}), "
        "a config dict or an Optimizer"
    )
