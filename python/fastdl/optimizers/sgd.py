"""Stochastic gradient descent, with momentum and Nesterov momentum (Keras 3's formulas)."""
from __future__ import annotations

from typing import Any

from fastdl.backend import kernels_for
from fastdl.optimizers.base import Optimizer, _number


class SGD(Optimizer):
    """Gradient descent, optionally with momentum, in one native call per step.

    With ``momentum == 0``: ``w -= learning_rate * g``. Otherwise, with a velocity ``m`` per
    variable (state ``'momentum'``, starting at 0)::

        m = momentum * m - learning_rate * g
        w += m                                      # nesterov=False
        w += momentum * m - learning_rate * g       # nesterov=True

    (``keras.optimizers.SGD``; ``torch.optim.SGD`` keeps ``-m / learning_rate`` instead, the
    same steps at a constant learning rate.) See :class:`~fastdl.optimizers.Optimizer` for
    ``weight_decay`` and the clipping arguments.

    >>> import numpy as np, fastdl
    >>> from fastdl.optimizers import SGD
    >>> w = fastdl.tensor(np.array([1.0]), requires_grad=True)
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     _ = opt.apply_gradients([(np.array([1.0]), w)])
    >>> w.data  # 1 - 0.1, then - (0.9 * 0.1 + 0.1)
    array([0.71])
    """

    default_name = "SGD"

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        momentum = _number("SGD", "momentum", momentum)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD: momentum must be a float in [0, 1], got {momentum}")
        self.momentum = momentum
        self.nesterov = bool(nesterov)

    def _slot_names(self) -> tuple:
        return ("momentum",) if self.momentum != 0 else ()

    def _update(self, plan, grads, learning_rate):
        step = kernels_for(plan.params[0]).sgd_step
        step(plan.params, grads, plan.states.get("momentum"), learning_rate, self.momentum,
             self.nesterov, self.weight_decay, self.clipvalue, self.clipnorm,
             self.global_clipnorm)

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
