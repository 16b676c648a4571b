"""The optimizer base class: Keras 3's interface over one fused native call per step.

Each step hands the kernels the lists of all parameters, gradients and state arrays at once
(``fastdl._C.sgd_step`` and friends): the gradients are clipped, the weight decay and the update
applied, and the work split across threads there, without a Python loop over the parameters.
The lists are cached between steps while the variables stay the same, so a step costs the
Python layer a few microseconds.
"""
from __future__ import annotations

import inspect
import math
import numbers
import warnings
from collections.abc import Iterable, Sequence
from operator import attrgetter, is_
from typing import Any, Callable

import numpy as np

from fastdl.backend import array_module, device_of, is_gpu_array, to_device
from fastdl.optimizers import schedules
from fastdl.tensor import Tensor

_data = attrgetter("data")

# Keras arguments accepted only at their default (they select features fastdl does not have),
# so that configs written by Keras load as long as they do not use them.
_UNSUPPORTED_AT_DEFAULT = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _number(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{owner}: {name} must not be NaN")
    return value


def _clip_limit(owner: str, name: str, value: Any) -> float | None:
    """None, or a number >= 0 (0 and inf mean no clipping, as in Keras)."""
    if value is None:
        return None
    value = _number(owner, name, value)
    if value < 0:
        raise ValueError(f"{owner}: {name} must be None or >= 0, got {value}")
    return value


class _Plan:
    """The argument lists of the native step for one list of variables, kept between steps."""

    __slots__ = ("params", "slot_names", "states", "variables")

    def __init__(self, variables: list, params: list, states: dict, slot_names: tuple) -> None:
        self.variables = variables
        self.params = params
        self.states = states  # slot name -> list of state arrays, one per variable
        self.slot_names = slot_names


class Optimizer:
    """Base class of the optimizers (Keras 3's interface).

    Subclasses define ``_slot_names()`` (the state arrays each variable needs, by name) and
    ``_update(plan, grads, learning_rate)`` (one native call). Common arguments:

    * ``learning_rate``: a float, a :class:`~fastdl.optimizers.schedules.LearningRateSchedule`
      (called with ``iterations``), or a callable of the step count (or of nothing).
    * ``weight_decay``: if set, every step first applies decoupled weight decay
      ``p -= learning_rate * weight_decay * p`` to every variable (Keras 3 does so in all
      optimizers).
    * ``clipnorm`` (each gradient's L2 norm), ``clipvalue`` (each element) or
      ``global_clipnorm`` (the L2 norm of all gradients together): at most one; None, 0 and
      inf mean no clipping. A gradient whose norm is infinite is clipped to the direction of its
      infinite elements (they become +-1, the finite ones 0, then scaled to the clip norm); a
      NaN in a gradient makes everything its norm scales NaN (that gradient for ``clipnorm``,
      all of them for ``global_clipnorm``), and without norm clipping NaN elements stay NaN.

    The caller's gradient arrays are never modified; the variables' ``.data`` arrays are updated
    in place, so every reference to them sees the new values.

    >>> import numpy as np, fastdl
    >>> from fastdl.optimizers import SGD
    >>> w = fastdl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> opt = SGD(learning_rate=0.5)
    >>> opt.apply_gradients([(np.array([1.0, -1.0]), w)])
    1
    >>> w.data, opt.iterations
    (array([0.5, 2.5]), 1)
    """

    #: Default ``name``; subclasses override.
    default_name = "optimizer"

    def __init__(self, learning_rate: Any, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        owner = type(self).__name__
        for key, value in kwargs.items():
            if key not in _UNSUPPORTED_AT_DEFAULT:
                raise ValueError(f"{owner}: argument(s) not recognized: {kwargs}")
            if value != _UNSUPPORTED_AT_DEFAULT[key]:
                raise ValueError(f"{owner}: {key}={value!r} is not supported by fastdl")
        self.name = self.default_name if name is None else str(name)
        self.weight_decay = (None if weight_decay is None
                             else _number(owner, "weight_decay", weight_decay))
        if self.weight_decay is not None and math.isinf(self.weight_decay):
            raise ValueError(f"{owner}: weight_decay must be finite, got {self.weight_decay}")
        self.clipnorm = _clip_limit(owner, "clipnorm", clipnorm)
        self.clipvalue = _clip_limit(owner, "clipvalue", clipvalue)
        self.global_clipnorm = _clip_limit(owner, "global_clipnorm", global_clipnorm)
        if sum(c is not None for c in (self.clipnorm, self.clipvalue, self.global_clipnorm)) > 1:
            raise ValueError(
                f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can be set; got "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        #: Steps taken (the number of ``apply_gradients`` calls that updated something).
        self.iterations = 0
        self._lr_value = 0.0
        self._lr_fn: Callable | None = None
        self._lr_takes_step = True
        self._set_learning_rate(learning_rate)
        self._slots: dict = {}  # id(variable) -> (variable, {slot name: array})
        self._plan: _Plan | None = None
        self._built_variables: list | None = None  # apply() without variables updates these

    # ------------------------------------------------------------------ learning rate
    def _set_learning_rate(self, value: Any) -> None:
        owner = type(self).__name__
        if isinstance(value, schedules.LearningRateSchedule):
            self._lr_fn, self._lr_takes_step = value, True
        elif callable(value):
            self._lr_fn, self._lr_takes_step = value, _takes_an_argument(value)
        else:
            self._lr_value = _number(owner, "learning_rate", value)
            self._lr_fn = None

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step, as a float. Settable to a float (unless the
        optimizer was built with a schedule), a schedule or a callable."""
        fn = self._lr_fn
        if fn is None:
            return self._lr_value
        return float(fn(self.iterations) if self._lr_takes_step else fn())

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if (isinstance(self._lr_fn, schedules.LearningRateSchedule)
                and not callable(value)):
            raise TypeError(
                f"{type(self).__name__}: this optimizer was created with a LearningRateSchedule, "
                "so its learning rate cannot be set to a number; create it with a float "
                "learning_rate, or assign another schedule"
            )
        self._set_learning_rate(value)

    # ------------------------------------------------------------------ state
    def _slot_names(self) -> tuple:
        """Names of the state arrays each variable needs with the current hyper-parameters."""
        raise NotImplementedError(f"{type(self).__name__} must define _slot_names()")

    def _update(self, plan: _Plan, grads: list, learning_rate: float) -> None:
        """One native step over ``plan``'s variables."""
        raise NotImplementedError(f"{type(self).__name__} must define _update(plan, grads, "
                                  f"learning_rate)")

    def _make_plan(self, variables: list) -> _Plan:
        owner = type(self).__name__
        names = self._slot_names()
        if len({id(v) for v in variables}) != len(variables):
            raise ValueError(f"{owner}: a variable appears more than once in one step")
        params: list = []
        states: dict = {name: [] for name in names}
        for i, v in enumerate(variables):
            if not isinstance(v, Tensor):
                raise TypeError(
                    f"{owner}: variable {i} must be a fastdl Tensor, got {type(v).__name__}"
                )
            data = v.data
            entry = self._slots.get(id(v))
            if entry is None or entry[0] is not v:
                entry = self._slots[id(v)] = (v, {})
            arrays = entry[1]
            for name in names:
                state = arrays.get(name)
                if state is None or state.shape != data.shape or state.dtype != data.dtype:
                    state = arrays[name] = array_module(data).zeros(data.shape, data.dtype)
                elif device_of(state) != device_of(data):  # the model moved: so do its moments
                    state = arrays[name] = to_device(state, device_of(data))
                states[name].append(state)
            params.append(data)
        return _Plan(list(variables), params, states, names)

    def build(self, variables: Iterable[Tensor]) -> None:
        """Creates the state arrays of ``variables`` now rather than at their first step."""
        self._built_variables = list(variables)
        self._plan = self._make_plan(self._built_variables)

    def variables(self) -> list:
        """The state arrays (moments etc.), per variable in the order the variables were first
        seen, each variable's in the order of its slot names."""
        return [array for _, arrays in self._slots.values() for array in arrays.values()]

    def get_slot(self, variable: Tensor, name: str) -> np.ndarray:
        """The state array ``name`` (e.g. ``'momentum'``, ``'velocity'``) of ``variable``."""
        entry = self._slots.get(id(variable))
        if entry is None or entry[0] is not variable or name not in entry[1]:
            known = sorted(entry[1]) if entry is not None and entry[0] is variable else []
            raise KeyError(f"{type(self).__name__}: no state {name!r} for this variable; "
                           f"it has {known}")
        return entry[1][name]

    # ------------------------------------------------------------------ steps
    def apply_gradients(self, grads_and_vars: Iterable) -> int:
        """One step: ``grads_and_vars`` is an iterable of ``(gradient, variable)`` pairs, a
        gradient being a NumPy array, a Tensor or None (the variable is skipped this step,
        with a warning as in Keras). Returns ``iterations`` after the step.

        Any list of variables may be given, a different one at each step (one sub-model's
        weights, then another's): a variable's state is made at its first update and kept;
        variables outside the list are not touched. An empty iterable does nothing; one whose
        gradients are all None is an error (as in Keras)."""
        grads = []
        variables = []
        skipped = []
        for g, v in grads_and_vars:
            if g is None:
                skipped.append(v)
                continue
            if type(g) is not np.ndarray:
                g = g.data if isinstance(g, Tensor) else g if is_gpu_array(g) else np.asarray(g)
            grads.append(g)
            variables.append(v)
        if skipped:
            if not variables:
                raise ValueError(f"{type(self).__name__}: no gradients provided for any variable")
            names = [getattr(v, "name", f"<{type(v).__name__}>") for v in skipped]
            warnings.warn(f"{type(self).__name__}: no gradients for variables {names}; they are "
                          f"not updated", stacklevel=2)
        if not variables:
            return self.iterations
        if self._built_variables is None:
            self._built_variables = variables + skipped
        plan = self._plan
        if (plan is None or len(plan.variables) != len(variables)
                or not all(map(is_, plan.variables, variables))
                or not all(map(is_, plan.params, map(_data, variables)))
                or plan.slot_names != self._slot_names()):
            plan = self._plan = self._make_plan(variables)
        self._update(plan, grads, self.learning_rate)
        self.iterations += 1
        return self.iterations

    def apply(self, grads: Sequence, trainable_variables: Iterable[Tensor] | None = None) -> int:
        """Keras 3's form of a step: ``grads[i]`` updates ``trainable_variables[i]``. Without
        variables, those of :meth:`build` (or of the first step) are updated.

        >>> import numpy as np, fastdl
        >>> from fastdl.optimizers import SGD
        >>> a, b = fastdl.tensor(np.array([1.0])), fastdl.tensor(np.array([5.0]))
        >>> opt = SGD(learning_rate=0.5)
        >>> opt.apply([np.array([2.0])], [a])  # b is left as it is
        1
        >>> a.data, b.data
        (array([0.]), array([5.]))
        """
        grads = list(grads)
        if trainable_variables is None:
            if self._built_variables is None:
                raise ValueError(f"{type(self).__name__}.apply: without variables, the "
                                 f"optimizer must be built first: call build(variables) or "
                                 f"pass them")
            variables = self._built_variables
        else:
            variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}.apply: {len(grads)} gradients for "
                             f"{len(variables)} variables; give one per variable")
        return self.apply_gradients(zip(grads, variables))

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """The constructor arguments, with a schedule serialized (see :meth:`from_config`)."""
        lr: Any = self._lr_fn
        if lr is None:
            lr = self._lr_value
        elif isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Optimizer:
        """A new optimizer (without state) from :meth:`get_config`'s dict."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                         if k != "name" and v is not None)
        return f"{type(self).__name__}({args})"


def _takes_an_argument(fn: Callable) -> bool:
    """Whether ``fn`` can be called with the step count (else it is called with nothing)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: assume it takes the step
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(p.kind in positional or p.kind == inspect.Parameter.VAR_POSITIONAL
               for p in params)
