"""Adam and AdamW (Keras 3's formulas)."""
from __future__ import annotations

from typing import Any

from fastdl.backend import kernels_for
from fastdl.optimizers.base import Optimizer, _number


class Adam(Optimizer):
    """Adam, optionally AMSGrad, in one native call per step.

    With states ``m`` (``'momentum'``) and ``v`` (``'velocity'``) per variable, starting at 0,
    and ``t = iterations + 1``::

        alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m += (g - m) * (1 - beta_1)
        v += (g**2 - v) * (1 - beta_2)
        v_hat = max(v_hat, v); v = v_hat            # amsgrad=True (state 'velocity_hat')
        w -= alpha * m / (sqrt(v) + epsilon)

    This is ``keras.optimizers.Adam``: ``epsilon`` is added to ``sqrt(v)`` before the bias
    correction, so it equals PyTorch's ``eps`` only at 0. See
    :class:`~fastdl.optimizers.Optimizer` for ``weight_decay`` and the clipping arguments.

    >>> import numpy as np, fastdl
    >>> from fastdl.optimizers import Adam
    >>> w = fastdl.tensor(np.array([1.0, 1.0]), requires_grad=True)
    >>> opt = Adam(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(np.array([3.0, -0.5]), w)])
    >>> np.round(w.data, 4)  # the first step moves each weight by about lr
    array([0.9, 1.1])
    """

    default_name = "adam"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        owner = type(self).__name__
        self.beta_1 = _number(owner, "beta_1", beta_1)
        self.beta_2 = _number(owner, "beta_2", beta_2)
        self.epsilon = _number(owner, "epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def _slot_names(self) -> tuple:
        if self.amsgrad:
            return ("momentum", "velocity", "velocity_hat")
        return ("momentum", "velocity")

    def _update(self, plan, grads, learning_rate):
        states = plan.states
        step = kernels_for(plan.params[0]).adam_step
        step(plan.params, grads, states["momentum"], states["velocity"], states.get("velocity_hat"),
             self.iterations + 1, learning_rate, self.beta_1, self.beta_2,
             self.epsilon, self.weight_decay, self.clipvalue, self.clipnorm,
             self.global_clipnorm)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), Keras 3's ``AdamW``: every step
    first does ``w -= learning_rate * weight_decay * w``, then the :class:`Adam` update.
    ``weight_decay`` defaults to 0.004 and must be set.

    >>> import numpy as np, fastdl
    >>> from fastdl.optimizers import AdamW
    >>> w = fastdl.tensor(np.array([2.0]), requires_grad=True)
    >>> opt = AdamW(learning_rate=0.1, weight_decay=0.5)
    >>> _ = opt.apply_gradients([(np.array([0.0]), w)])  # no gradient: only the decay
    >>> w.data
    array([1.9])
    """

    default_name = "adamw"

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a float, got None")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
