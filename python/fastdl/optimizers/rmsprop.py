"""RMSprop, plain or centered, with optional momentum (Keras 3's formulas)."""
from __future__ import annotations

from typing import Any

from fastdl.backend import kernels_for
from fastdl.optimizers.base import Optimizer, _number


class RMSprop(Optimizer):
    """RMSprop in one native call per step.

    With a velocity ``v`` per variable (state ``'velocity'``, starting at 0)::

        v = rho * v + (1 - rho) * g**2
        a = rho * a + (1 - rho) * g                 # centered=True (state 'average_gradient')
        d = v - a**2 + epsilon if centered else v + epsilon
        increment = learning_rate * g / sqrt(d)
        mom = momentum * mom + increment; w -= mom  # momentum > 0 (state 'momentum')
        w -= increment                              # momentum == 0

    This is ``keras.optimizers.RMSprop``: ``epsilon`` sits inside the square root (PyTorch adds
    it outside, so the two agree only at ``epsilon = 0``). See
    :class:`~fastdl.optimizers.Optimizer` for ``weight_decay`` and the clipping arguments.

    >>> import numpy as np, fastdl
    >>> from fastdl.optimizers import RMSprop
    >>> w = fastdl.tensor(np.array([10.0]), requires_grad=True)
    >>> opt = RMSprop(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(w.data.copy(), w)])  # the gradient of w**2 / 2
    >>> np.round(w.data, 6)  # 10 - 0.1 * 10 / sqrt(0.1 * 100 + 1e-7)
    array([9.683772])
    """

    default_name = "rmsprop"

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.rho = _number("RMSprop", "rho", rho)
        self.momentum = _number("RMSprop", "momentum", momentum)
        self.epsilon = _number("RMSprop", "epsilon", epsilon)
        self.centered = bool(centered)

    def _slot_names(self) -> tuple:
        names = ("velocity",)
        if self.momentum > 0:
            names += ("momentum",)
        if self.centered:
            names += ("average_gradient",)
        return names

    def _update(self, plan, grads, learning_rate):
        states = plan.states
        step = kernels_for(plan.params[0]).rmsprop_step
        step(plan.params, grads, states["velocity"], states.get("momentum"),
             states.get("average_gradient"), learning_rate, self.rho, self.momentum,
             self.epsilon, self.weight_decay, self.clipvalue, self.clipnorm,
             self.global_clipnorm)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
