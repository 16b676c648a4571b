"""Models with several inputs or outputs: data by input or output name, and Keras's ways of
giving each output its loss, loss weight and metrics in ``compile``, with the names their
values are logged under.

A model's inputs and outputs are named after the layers that make them (``model.inputs``
and ``model.outputs``, flat; an Input's name is its InputLayer's). Inputs and targets come as
a list in that order or as a dict by name. ``loss`` is one loss for every output, a list
with one per output (None for an output that is not trained), or a dict by output name;
``loss_weights`` likewise (a number for a single output). The total loss is the weighted
sum; with more than one loss, each output's unweighted loss is also tracked, as
``<output>_loss``. ``metrics`` is a list of lists (one per output) or a dict by output name,
each output's values logged as ``<output>_<metric>``. A subclassed model's outputs are
known only when it runs: its losses are then named after the loss functions, as in Keras.

>>> import numpy as np
>>> from fastdl import keras, layers
>>> x = keras.Input((3,))
>>> model = keras.Model(x, [layers.Dense(1, name="score")(x), layers.Dense(2, name="odds")(x)])
>>> loss = compile_loss(model, {"score": "mse", "odds": "mae"}, {"score": 2.0, "odds": 1.0})
>>> total = loss([np.zeros((4, 1)), np.zeros((4, 2))], model(np.ones((4, 3))))
>>> total.shape, [tracker.name for tracker in loss.metrics]
((), ['score_loss', 'odds_loss'])
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from fastdl import losses as _losses
from fastdl.layers.nested import flatten
from fastdl.metrics import Mean, Metric
from fastdl.models.compiled import CompileMetrics
from fastdl.tensor import Tensor

__all__ = ["output_names", "inputs_in_order", "compile_loss", "compile_metrics",
           "OutputLosses", "OutputMetrics"]


def output_names(model: Any) -> Optional[list[str]]:
    """The names of a model's outputs, flat: the name of the layer that makes each output of
    a functional (or built Sequential) model; None for a subclassed model, whose outputs
    are known only when it runs."""
    return _names(model, "outputs")


def _names(model: Any, which: str) -> Optional[list[str]]:
    try:
        tensors = getattr(model, which)
    except AttributeError:
        return None
    return [t.node.layer.name for t in tensors]


def inputs_in_order(model: Any, x: Any) -> Any:
    """``x`` as the model takes it: a dict of arrays by input name becomes the list of them
    in the order of ``model.inputs`` (the array alone for a model with one input).

    >>> import numpy as np
    >>> from fastdl import keras, layers
    >>> a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    >>> model = keras.Model([a, b], layers.concatenate([a, b]))
    >>> [v.shape for v in inputs_in_order(model, {"b": np.ones((4, 3)), "a": np.ones((4, 2))})]
    [(4, 2), (4, 3)]
    """
    if not isinstance(x, dict):
        return x
    names = _names(model, "inputs")
    if names is None:
        raise ValueError(f"model {model.name!r} takes no inputs by name: pass its inputs as "
                         f"an array or a list of arrays")
    missing = [name for name in names if name not in x]
    if missing:
        raise ValueError(f"model {model.name!r}: no data for its input(s) "
                         f"{', '.join(map(repr, missing))}; received {', '.join(map(repr, x))}")
    return [x[name] for name in names] if len(names) > 1 else x[names[0]]


def _per_output(model: Any, what: str, spec: Any, names: list[str]) -> list:
    """``spec`` (one value for every output, a list or tuple with one per output, or a dict
    by output name) as a list with one entry per output (None where a dict leaves one
    out)."""
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(names))
        if unknown:
            raise ValueError(f"model {model.name!r}: compile({what}=...) names "
                             f"{', '.join(map(repr, unknown))}, which are not outputs of the "
                             f"model; its outputs are {', '.join(map(repr, names))}")
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(names):
            raise ValueError(f"model {model.name!r}: compile({what}=...) has {len(spec)} "
                             f"entries for the model's {len(names)} outputs "
                             f"({', '.join(map(repr, names))}); pass one per output, or a "
                             f"dict by output name")
        return list(spec)
    return [spec] * len(names)


def compile_loss(model: Any, loss: Any, loss_weights: Any = None) -> Any:
    """The loss ``compile`` sets: the loss object itself for a model with one output and no
    weight (the training loop's plain case), else an :class:`OutputLosses`."""
    names = output_names(model)
    several = isinstance(loss, (list, tuple, dict)) or isinstance(
        loss_weights, (list, tuple, dict)) or (names is not None and len(names) > 1)
    if loss_weights is None and not several:
        return _losses.get(loss)
    if names is None:
        return OutputLosses(loss, loss_weights, None)  # named when the model first runs
    given = _per_output(model, "loss", loss, names)
    weights = [None] * len(names) if loss_weights is None else \
        _per_output(model, "loss_weights", loss_weights, names)
    return OutputLosses(given, weights, names)


def compile_metrics(model: Any, metrics: Any, weighted_metrics: Any, loss: Any) -> Any:
    """The compiled metrics: one :class:`CompileMetrics` for a model with one output, an
    :class:`OutputMetrics` for several (None without metrics)."""
    if not metrics and not weighted_metrics:
        return None
    names = output_names(model)
    # 'accuracy' is resolved from each output's loss.
    loss_names = [getattr(one, "name", "") for one in loss.losses] \
        if isinstance(loss, OutputLosses) and loss.names is not None \
        else [getattr(loss, "name", "")] * len(names or [None])
    if names is None or len(names) == 1:
        return CompileMetrics(_one_list(metrics), _one_list(weighted_metrics), loss_names[0])
    plain = _metrics_per_output(model, "metrics", metrics, names)
    weighted = _metrics_per_output(model, "weighted_metrics", weighted_metrics, names)
    return OutputMetrics([CompileMetrics(m, w, n) if m or w else None
                          for m, w, n in zip(plain, weighted, loss_names)], names)


def _one_list(metrics: Any) -> list:
    """A single output's metrics: a list, or a list holding that list, or a dict of one."""
    if isinstance(metrics, dict):
        metrics = next(iter(metrics.values()), [])
    metrics = list(metrics or [])
    return metrics[0] if len(metrics) == 1 and isinstance(metrics[0], (list, tuple)) \
        else metrics


def _metrics_per_output(model: Any, what: str, metrics: Any, names: list[str]) -> list:
    if not metrics:
        return [[] for _ in names]
    if isinstance(metrics, (list, tuple)) and not all(
            m is None or isinstance(m, (list, tuple)) for m in metrics):
        raise ValueError(f"model {model.name!r} has {len(names)} outputs "
                         f"({', '.join(map(repr, names))}): compile({what}=...) needs a list "
                         f"of lists (one per output) or a dict by output name, as Keras "
                         f"does; received {metrics!r}")
    return [list(m) if isinstance(m, (list, tuple)) else [] if m is None else [m]
            for m in _per_output(model, what, metrics, names)]


def _targets(op: str, y_true: Any, names: list[str]) -> list:
    """The targets of each output: from a dict by output name, or a list in output order."""
    if isinstance(y_true, dict):
        return [y_true.get(name) for name in names]
    if isinstance(y_true, (list, tuple)) and len(y_true) == len(names):
        return list(y_true)
    if len(names) == 1:
        return [y_true]
    count = len(y_true) if isinstance(y_true, (list, tuple)) else 1
    raise ValueError(f"{op}: the model has {len(names)} outputs ({', '.join(names)}) but "
                     f"{count} target(s) were given; pass a list with one per output or a "
                     f"dict by output name")


class OutputLosses(_losses.Loss):
    """The loss of a model with several outputs (or a weighted one): the sum of each
    output's loss times its weight. With more than one loss, :attr:`metrics` holds one
    tracker per output, ``<output>_loss``, fed with that output's unweighted loss.

    ``losses`` and ``weights`` have one entry per output named in ``names``; without names
    (a subclassed model), they are what compile was given, matched with the outputs at the
    first call."""

    def __init__(self, losses: Any, weights: Any, names: Optional[Sequence[str]]) -> None:
        super().__init__(name="compile_loss")
        self.losses, self.weights, self.names = losses, weights, None
        self.metrics: list[Mean] = []
        if names is not None:
            self._name_outputs(list(names))

    def _name_outputs(self, names: list[str]) -> None:
        if not isinstance(self.losses, list) or len(self.losses) != len(names):
            self.losses = _spread("loss", self.losses, len(names))
            self.weights = _spread("loss_weights", self.weights, len(names))
        self.losses = [None if one is None else _losses.get(one) for one in self.losses]
        self.weights = [None if w is None else float(w) for w in self.weights]
        if all(one is None for one in self.losses):
            raise ValueError(f"compile: no output has a loss (outputs: {', '.join(names)})")
        self.names = [name if name is not None else getattr(one, "name", f"output_{i}")
                      for i, (name, one) in enumerate(zip(names, self.losses))]
        trained = [name for name, one in zip(self.names, self.losses) if one is not None]
        self.metrics = [Mean(name=f"{name}_loss") for name in trained] \
            if len(trained) > 1 else []

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        predictions = flatten(y_pred)
        if self.names is None:
            self._name_outputs([None] * len(predictions))
        targets = _targets("loss", y_true, self.names)
        if len(predictions) != len(self.names):
            raise ValueError(f"loss: the model returned {len(predictions)} output(s) where "
                             f"compile was given {len(self.names)} "
                             f"({', '.join(self.names)})")
        trackers = iter(self.metrics)
        total = None
        for loss, weight, target, prediction in zip(self.losses, self.weights, targets,
                                                    predictions):
            if loss is None:
                continue
            value = loss(target, prediction, sample_weight)
            tracker = next(trackers, None)
            if tracker is not None:
                tracker.update_state(float(value.data), prediction.shape[0])
            if weight is not None:
                value = value * weight
            total = value if total is None else total + value
        return total

    def reset_state(self) -> None:
        for tracker in self.metrics:
            tracker.reset_state()


def _spread(what: str, given: Any, count: int) -> list:
    """A subclassed model's ``given`` losses or weights, one per output of ``count``."""
    if isinstance(given, dict):
        raise ValueError(f"compile({what}=...) by output name needs a functional model; a "
                         f"subclassed model's outputs have no names: pass a list")
    if isinstance(given, (list, tuple)):
        if len(given) != count:
            raise ValueError(f"compile({what}=...) has {len(given)} entries but the model "
                             f"returned {count} output(s)")
        return list(given)
    return [given] * count


class OutputMetrics(Metric):
    """The compiled metrics of a model with several outputs, one :class:`CompileMetrics`
    per output (None for an output without metrics): their values as one dict,
    ``<output>_<metric>``, in the order of the names (Keras's order)."""

    def __init__(self, per_output: Sequence[Optional[CompileMetrics]],
                 output_names: Sequence[str]) -> None:
        super().__init__("compile_metrics")
        self.per_output, self.output_names = list(per_output), list(output_names)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        targets = _targets("metrics", y_true, self.output_names)
        for metrics, target, prediction in zip(self.per_output, targets, flatten(y_pred)):
            if metrics is not None:
                metrics.update_state(target, prediction, sample_weight)

    def result(self) -> dict:
        values = {f"{name}_{key}": value
                  for name, metrics in zip(self.output_names, self.per_output)
                  if metrics is not None
                  for key, value in metrics.result().items()}
        return dict(sorted(values.items()))

    def reset_state(self) -> None:
        for metrics in self.per_output:
            if metrics is not None:
                metrics.reset_state()
