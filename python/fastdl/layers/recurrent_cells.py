"""The cells of the recurrent layers: SimpleRNNCell, LSTMCell and GRUCell, with Keras's
arguments, weights and gate orders.

A cell's ``call(inputs, states, training)`` computes one step, as Keras's cells do (``RNN``
runs any cell that way). The built-in cells also run whole sequences at once
(:meth:`_Cell.run_sequence`), through :func:`fastdl.ops.lstm`, :func:`~fastdl.ops.gru` and
:func:`~fastdl.ops.simple_rnn`: ``RNN`` takes that path for them.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from fastdl import activations, initializers
from fastdl import random as _random
from fastdl.layers.base import Layer
from fastdl.ops import recurrent
from fastdl.ops.arithmetic import add, multiply
from fastdl.ops.array_creation import ones, zeros
from fastdl.ops.products import matmul
from fastdl.ops.regularization import Dropout as DropoutFunction
from fastdl.tensor import Tensor

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell"]


def _rate(layer: str, name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{layer}: {name} must be in [0, 1), got {value}")
    return value


class _Cell(Layer):
    """What the three cells share: the weights, the activations, the dropout masks."""

    #: "simple", "lstm" or "gru": the recurrent kernels' name of the cell.
    kind = ""
    gates = 1

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        label = type(self).__name__
        if int(units) <= 0:
            raise ValueError(f"{label}: units must be a positive integer, got {units}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.dropout = _rate(label, "dropout", dropout)
        self.recurrent_dropout = _rate(label, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        # The masks of the sequence being run (fixed over its steps), set by RNN.
        self._dropout_mask: Optional[Tensor] = None
        self._recurrent_dropout_mask: Optional[Tensor] = None

    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): the last axis of "
                             f"the input must be known to build the kernel; got input shape "
                             f"{tuple(input_shape)}")
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (features, width), self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer)
        self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer()) \
            if self.use_bias else None

    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def _bias_initializer(self) -> Any:
        return self.bias_initializer

    def get_initial_state(self, batch_size: Optional[int] = None) -> list:
        """Zeros for every state, (batch_size, units) each."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else \
            [self.state_size]
        return [zeros((batch_size, size), dtype=self.dtype) for size in sizes]

    # ------------------------------------------------------------------ dropout
    def _mask(self, like: Tensor, rate: float) -> Tensor:
        """Inverted-dropout factors of ``like``'s shape: 0 with probability ``rate``, else
        ``1 / (1 - rate)``."""
        keep = ones(tuple(like.shape), dtype=like.dtype)
        if isinstance(like, Tensor) and like.device != "cpu":
            keep = keep.to(like.device)
        return DropoutFunction.apply(keep, rate, self._generator or _random.generator())

    def set_dropout_masks(self, step_inputs: Optional[Tensor], state: Optional[Tensor]) -> None:
        """Draws the masks one sequence uses at every step (None: no dropout)."""
        self._dropout_mask = None if step_inputs is None or self.dropout == 0.0 else \
            self._mask(step_inputs, self.dropout)
        self._recurrent_dropout_mask = None if state is None or self.recurrent_dropout == 0.0 \
            else self._mask(state, self.recurrent_dropout)

    def _input_bias(self) -> Any:
        """The bias added to the input projection (GRU's reset_after bias has two rows)."""
        return self.bias

    def _projected(self, inputs: Tensor, states: list, training: Optional[bool]) -> tuple:
        """``(x W + b, h, h for the recurrent product)`` of one step, the dropout masks
        applied when training."""
        if training and self._dropout_mask is not None:
            inputs = multiply(inputs, self._dropout_mask)
        x = matmul(inputs, self.kernel)
        if self._input_bias() is not None:
            x = add(x, self._input_bias())
        h = states[0]
        h_in_product = multiply(h, self._recurrent_dropout_mask) \
            if training and self._recurrent_dropout_mask is not None else h
        return x, h, h_in_product

    # ------------------------------------------------------------------ whole sequences
    def _activation_argument(self, fn: Any) -> Any:
        """What the operations take for an activation: the kernels' name, or the callable."""
        if fn is activations.linear:
            return "linear"
        return activations.fused_name(fn) or fn

    def run_sequence(self, sequences: Tensor, states: list, mask: Any, training: Optional[bool],
                     go_backwards: bool, zero_output_for_mask: bool) -> tuple:
        """``(outputs, new states)`` of the whole sequence in one operation (no recurrent
        dropout: that one needs the steps)."""
        if training and self._dropout_mask is not None:
            sequences = multiply(sequences, self._dropout_mask.reshape(
                (sequences.shape[0], 1, sequences.shape[-1])))
        outputs, *new_states = self._sequence_op(sequences, states, mask, go_backwards,
                                                 zero_output_for_mask)
        return outputs, new_states

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer,
                "recurrent_initializer": self.recurrent_initializer,
                "bias_initializer": self.bias_initializer, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}


class SimpleRNNCell(_Cell):
    """One step of a fully connected recurrent layer: ``h = activation(x W + b + h U)``.

    >>> import fastdl
    >>> cell = fastdl.layers.SimpleRNNCell(4)
    >>> h, states = cell(fastdl.ones(2, 3), [fastdl.zeros(2, 4)])
    >>> h.shape, [w.shape for w in cell.weights]
    ((2, 4), [(3, 4), (4, 4), (4,)])
    """

    kind, gates = "simple", 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(units, activation, "sigmoid", use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         seed, **kwargs)

    def call(self, inputs, states, training=None):
        x, h, h_in_product = self._projected(inputs, list(states), training)
        h = recurrent.simple_rnn_step(x, h, self.recurrent_kernel, self.activation,
                                      h_in_product)
        return h, [h]

    def _sequence_op(self, sequences, states, mask, go_backwards, zero_output_for_mask):
        return recurrent.simple_rnn(sequences, self.kernel, self.recurrent_kernel, self.bias,
                                    states, mask, self._activation_argument(self.activation),
                                    go_backwards, zero_output_for_mask)


class LSTMCell(_Cell):
    """One step of a long short-term memory layer; gates i, f, c, o side by side in the
    kernel (input, 4 * units), the recurrent kernel (units, 4 * units) and the bias, whose
    forget part starts at 1 with ``unit_forget_bias``. States ``[h, c]``.

    >>> import fastdl
    >>> cell = fastdl.layers.LSTMCell(3)
    >>> h, (h2, c) = cell(fastdl.ones(2, 5), [fastdl.zeros(2, 3), fastdl.zeros(2, 3)])
    >>> h.shape, c.shape, cell.bias.numpy()[3:6]
    ((2, 3), (2, 3), array([1., 1., 1.], dtype=float32))
    """

    kind, gates = "lstm", 4

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self) -> list:
        return [self.units, self.units]

    def _bias_initializer(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        base = initializers.get(self.bias_initializer)
        units = self.units

        def forget_gate_at_one(shape, dtype="float32"):
            return np.concatenate([base((units,), dtype), np.ones(units, dtype),
                                   base((2 * units,), dtype)])
        return forget_gate_at_one

    def call(self, inputs, states, training=None):
        x, h, h_in_product = self._projected(inputs, list(states), training)
        h, c = recurrent.lstm_step(x, h, states[1], self.recurrent_kernel, self.activation,
                                   self.recurrent_activation, h_in_product)
        return h, [h, c]

    def _sequence_op(self, sequences, states, mask, go_backwards, zero_output_for_mask):
        return recurrent.lstm(sequences, self.kernel, self.recurrent_kernel, self.bias, states,
                              mask, self._activation_argument(self.activation),
                              self._activation_argument(self.recurrent_activation),
                              go_backwards, zero_output_for_mask)

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias,
                "recurrent_activation": activations.serialize(self.recurrent_activation)}


class GRUCell(_Cell):
    """One step of a gated recurrent unit; gates z, r, h side by side. With ``reset_after``
    (Keras's default) the reset gate scales the recurrent product and the bias is
    (2, 3 * units), input and recurrent; otherwise it scales the state before the product and
    the bias is (3 * units,). The new state is ``z * h + (1 - z) * candidate``.

    >>> import fastdl
    >>> cell = fastdl.layers.GRUCell(3)
    >>> h, _ = cell(fastdl.ones(2, 5), [fastdl.zeros(2, 3)])
    >>> h.shape, cell.bias.shape
    ((2, 3), (2, 9))
    """

    kind, gates = "gru", 3

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 reset_after: bool = True, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self) -> Any:
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def call(self, inputs, states, training=None):
        x, h, h_in_product = self._projected(inputs, list(states), training)
        recurrent_bias = self.bias[1] if self.reset_after and self.bias is not None else None
        h = recurrent.gru_step(x, h, self.recurrent_kernel, recurrent_bias, self.activation,
                               self.recurrent_activation, self.reset_after, h_in_product)
        return h, [h]

    def _sequence_op(self, sequences, states, mask, go_backwards, zero_output_for_mask):
        return recurrent.gru(sequences, self.kernel, self.recurrent_kernel, self.bias,
                             states, mask, self._activation_argument(self.activation),
                             self._activation_argument(self.recurrent_activation),
                             go_backwards, zero_output_for_mask, self.reset_after)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after,
                "recurrent_activation": activations.serialize(self.recurrent_activation)}

