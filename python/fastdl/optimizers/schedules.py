"""Learning-rate schedules: the learning rate as a function of the optimizer's step count.

An optimizer given a schedule calls it with its ``iterations`` (0 for the first step) before
every update, as Keras does. The formulas are Keras 3's (``keras.optimizers.schedules``), in
float64.

>>> from fastdl.optimizers import schedules
>>> s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> s(0), s(10), s(20)
(0.1, 0.05, 0.025)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CosineDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "deserialize",
    "serialize",
]


class LearningRateSchedule:
    """Base class of the schedules: subclasses implement ``__call__(step) -> float`` and, to be
    serializable, ``get_config()``.

    >>> from fastdl.optimizers import schedules
    >>> class Halving(schedules.LearningRateSchedule):
    ...     def __init__(self, lr):
    ...         self.lr = lr
    ...     def __call__(self, step):
    ...         return self.lr / 2 ** step
    ...     def get_config(self):
    ...         return {"lr": self.lr}
    >>> Halving(1.0)(3)
    0.125
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError(
            f"learning rate schedule {type(self).__name__} must implement __call__(step)"
        )

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"learning rate schedule {type(self).__name__} must implement get_config() to be "
            "serializable"
        )

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        """The schedule ``get_config()`` describes."""
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = "..."
        return f"{type(self).__name__}({args})"


def _positive_steps(owner: str, name: str, value: Any) -> float:
    if not value > 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {value!r}")
    return value


class _RateDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments and configuration,
    and the step as a fraction of ``decay_steps``, floored with ``staircase``."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str | None = None) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive_steps(owner, "decay_steps", decay_steps)
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = owner if name is None else name

    def _progress(self, step: int) -> float:
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase`` the
    exponent is ``floor(step / decay_steps)``.

    >>> from fastdl.optimizers.schedules import ExponentialDecay
    >>> s = ExponentialDecay(1.0, decay_steps=4, decay_rate=0.5, staircase=True)
    >>> [s(step) for step in (0, 3, 4, 9)]
    [1.0, 1.0, 0.5, 0.25]
    """

    def __call__(self, step: int) -> float:
        return float(self.initial_learning_rate) * float(self.decay_rate) ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` while
    ``boundaries[0] < step <= boundaries[1]``, ..., ``values[-1]`` after ``boundaries[-1]``.

    >>> from fastdl.optimizers.schedules import PiecewiseConstantDecay
    >>> s = PiecewiseConstantDecay(boundaries=[2, 5], values=[1.0, 0.5, 0.1])
    >>> [s(step) for step in range(7)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1]
    """

    def __init__(self, boundaries: Sequence[float], values: Sequence[float],
                 name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: boundaries must have one element fewer than values; "
                f"got {len(boundaries)} boundaries and {len(values)} values"
            )
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(
                f"PiecewiseConstantDecay: boundaries must increase strictly, got {list(boundaries)}"
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with ``staircase``
    the ratio is ``floor(step / decay_steps)``.

    >>> from fastdl.optimizers.schedules import InverseTimeDecay
    >>> s = InverseTimeDecay(1.0, decay_steps=1, decay_rate=0.5)
    >>> [s(step) for step in range(4)]
    [1.0, 0.6666666666666666, 0.5, 0.4]
    """

    def __call__(self, step: int) -> float:
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate)
                                                    * self._progress(step))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` to ``initial_learning_rate * alpha`` over
    ``decay_steps``, then constant:
    ``lr * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)``.

    With ``warmup_target``, the rate first rises linearly from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps``, then decays from ``warmup_target`` as above.

    >>> from fastdl.optimizers.schedules import CosineDecay
    >>> s = CosineDecay(1.0, decay_steps=10, alpha=0.1)
    >>> [round(s(step), 6) for step in (0, 5, 10, 50)]
    [1.0, 0.55, 0.1, 0.1]
    >>> w = CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    >>> [round(w(step), 6) for step in (0, 2, 4, 9, 14)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: float = 0) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _positive_steps("CosineDecay", "decay_steps", decay_steps)
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        alpha = float(self.alpha)
        return start * ((1.0 - alpha) * cosine + alpha)

    def __call__(self, step: int) -> float:
        initial = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), initial)
        target, warmup = float(self.warmup_target), self.warmup_steps
        step = min(step, self.decay_steps + warmup)
        if step < warmup:
            return (target - initial) * (step / warmup) + initial
        return self._decay(step - warmup, target)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


_BUILTIN = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay,
                                          InverseTimeDecay, CosineDecay)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": ...}``, the form :func:`deserialize` reads back.

    >>> from fastdl.optimizers import schedules
    >>> schedules.serialize(schedules.InverseTimeDecay(0.1, 100, 0.5))["class_name"]
    'InverseTimeDecay'
    """
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(
            f"serialize: expected a LearningRateSchedule, got {type(schedule).__name__}"
        )
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """The schedule a :func:`serialize` dict describes; ``custom_objects`` maps the class names
    of user-defined schedules to their classes.

    >>> from fastdl.optimizers import schedules
    >>> s = schedules.deserialize({"class_name": "CosineDecay",
    ...                            "config": {"initial_learning_rate": 1.0, "decay_steps": 4}})
    >>> s(2)
    0.5
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "deserialize: expected a dict with 'class_name' and 'config', got "
            f"{config!r}"
        )
    name = config["class_name"]
    classes = {**_BUILTIN, **(custom_objects or {})}
    if name not in classes:
        raise ValueError(
            f"deserialize: unknown learning rate schedule {name!r}; known: {sorted(classes)}"
        )
    return classes[name].from_config(dict(config.get("config", {})))
