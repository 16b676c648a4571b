"""The metrics ``compile`` sets up, as Keras 3 has them: gathered into one metric,
``compile_metrics``, whose result is a dict of their values.

>>> import numpy as np
>>> from fastdl.models.compiled import CompileMetrics
>>> metrics = CompileMetrics(["mae"], weighted_metrics=["mae"], loss_name="mse")
>>> y, p = np.array([[1.0], [2.0]]), np.array([[0.0], [2.0]])
>>> metrics.update_state(y, p, sample_weight=np.array([3.0, 1.0]))
>>> metrics.result()
{'mae': 0.5, 'weighted_mae': 0.75}
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from fastdl import metrics as _metrics
from fastdl.backend import to_device
from fastdl.tensor import Tensor


def host_arrays(value: Any) -> Any:
    """NumPy arrays (on the CPU) for a Tensor or array, or a list or tuple of them: what
    metrics work on."""
    if isinstance(value, (list, tuple)):
        return [host_arrays(v) for v in value]
    data = value.data if isinstance(value, Tensor) else value
    return data if data is None or isinstance(data, np.ndarray) else to_device(data, "cpu")


class CompileMetrics(_metrics.Metric):
    """The ``metrics`` and ``weighted_metrics`` given to ``compile``, as one metric named
    ``compile_metrics``: made at the first update (``'accuracy'`` depends on the targets and
    outputs), ``metrics`` updated without the sample weights and ``weighted_metrics`` with
    them (as Keras does); a weighted metric whose name is taken gets ``weighted_`` in front.
    """

    def __init__(self, metrics: Optional[Sequence[Any]] = None,
                 weighted_metrics: Optional[Sequence[Any]] = None, loss_name: str = "") -> None:
        super().__init__("compile_metrics")
        self._specs = (list(metrics or []), list(weighted_metrics or []))
        self._loss_name = loss_name
        self.metrics: list = []
        self.weighted_metrics: list = []
        self.names: list[str] = []  # the keys of result(), in order
        self.built = False

    def build(self, y_true: Any, y_pred: Any) -> None:
        shape = tuple(np.shape(y_pred[0] if isinstance(y_pred, list) else y_pred))

        def make(spec: Any) -> _metrics.Metric:
            return _metrics.get(spec, loss_name=self._loss_name, y_true=y_true,
                                output_shape=shape)

        self.metrics = [make(m) for m in self._specs[0]]
        self.weighted_metrics = [make(m) for m in self._specs[1]]
        self.names = [m.name for m in self.metrics]
        for m in self.weighted_metrics:
            self.names.append(m.name if m.name not in self.names else f"weighted_{m.name}")
        self.built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = host_arrays(y_true), host_arrays(y_pred)
        if not self.built:
            self.build(y_true, y_pred)
        for m in self.metrics:
            m.update_state(y_true, y_pred)
        if self.weighted_metrics:
            sample_weight = host_arrays(sample_weight)
            for m in self.weighted_metrics:
                m.update_state(y_true, y_pred, sample_weight)

    def result(self) -> dict:
        """Each metric's value by name (nothing before the first update)."""
        return {name: m.result()
                for name, m in zip(self.names, self.metrics + self.weighted_metrics)}

    def reset_state(self) -> None:
        for m in self.metrics + self.weighted_metrics:
            m.reset_state()
