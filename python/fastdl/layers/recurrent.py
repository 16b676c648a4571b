"""Recurrent layers: ``RNN`` over any cell, and ``SimpleRNN``, ``LSTM`` and ``GRU``, with
Keras 3's arguments, defaults, weights and outputs.

A built-in cell runs whole sequences in two kernels (the input projection of every step, then
the recurrence: :mod:`fastdl.ops.recurrent`); any other cell, and a built-in one with
``recurrent_dropout`` while training, runs step by step through its ``call``. Masks (from an
``Embedding(mask_zero=True)``, a ``Masking`` layer, or ``mask=``) skip steps: the state passes
through a skipped step unchanged.
"""
from __future__ import annotations

import inspect
from typing import Any, Optional

from fastdl.layers.base import InputSpec, Layer
from fastdl.layers.recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell, _Cell
from fastdl.layers.signature import layer_label
from fastdl.ops import recurrent
from fastdl.ops.array_creation import zeros
from fastdl.tensor import Tensor

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU"]

_FUSED_CELLS = (SimpleRNNCell, LSTMCell, GRUCell)


class RNN(Layer):
    """Runs ``cell`` over the steps of (batch, steps, features) inputs.

    Returns the last output (batch, units), or every step's with ``return_sequences``
    (batch, steps, units), followed by the final states with ``return_state``. With
    ``go_backwards`` the steps run from the last to the first (and the outputs come in that
    order). A ``stateful`` layer starts each batch from the states the previous one ended with
    (its batch size fixed), until :meth:`reset_states`.

    >>> import fastdl
    >>> layer = fastdl.layers.RNN(fastdl.layers.LSTMCell(4), return_state=True)
    >>> output, h, c = layer(fastdl.ones(2, 7, 3))
    >>> output.shape, h.shape, c.shape
    ((2, 4), (2, 4), (2, 4))
    """

    supports_masking = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            raise ValueError(f"{type(self).__name__}: stacked cells are not supported; pass "
                             f"one cell, or stack RNN layers")
        if getattr(cell, "state_size", None) is None or not callable(cell):
            raise ValueError(f"{type(self).__name__}: the cell must be a layer (or callable) "
                             f"with a state_size, got {cell!r}")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states: Optional[list] = None
        self.input_spec = InputSpec(ndim=3)
        size = cell.state_size
        self._state_sizes = list(size) if isinstance(size, (list, tuple)) else [int(size)]
        call = getattr(cell, "call", cell)
        self._cell_takes_training = "training" in inspect.signature(call).parameters

    def build(self, sequences_shape, initial_state_shape=None):
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0],) + tuple(sequences_shape[2:]))
            self.cell.built = True
        if sequences_shape[-1] is not None:
            self.input_spec = InputSpec(ndim=3, axes={-1: sequences_shape[-1]})

    # ------------------------------------------------------------------ states
    def get_initial_state(self, batch_size: int) -> list:
        """Zeros for every state of the cell (or what the cell's own method returns)."""
        own = getattr(self.cell, "get_initial_state", None)
        if own is not None:
            states = own(batch_size=batch_size)
            return list(states) if isinstance(states, (list, tuple)) else [states]
        return [zeros((batch_size, size), dtype=self.dtype) for size in self._state_sizes]

    def reset_states(self, states: Any = None) -> None:
        """Sets a stateful layer's states to zeros (or to ``states``)."""
        if self.states is None:
            return
        values = [None] * len(self.states) if states is None else \
            (list(states) if isinstance(states, (list, tuple)) else [states])
        for variable, value in zip(self.states, values):
            variable.assign(value if value is not None else variable.data * 0)

    reset_state = reset_states

    def _stateful_states(self, batch: int) -> list:
        if self.states is None:
            self.states = [self.add_weight(f"rnn_state_{i}", (batch, size), "zeros",
                                           trainable=False)
                           for i, size in enumerate(self._state_sizes)]
        expected = self.states[0].shape[0]
        if batch != expected:
            raise ValueError(f"{layer_label(self)}: a stateful layer keeps the batch size it "
                             f"started with ({expected}); got a batch of {batch}")
        # Copies: the states are overwritten after the call, and the graph may keep them.
        return [Tensor(v.data.copy()) for v in self.states]

    def _initial_state(self, sequences: Tensor, initial_state: Any) -> list:
        batch = sequences.shape[0]
        if initial_state is None:
            return self._stateful_states(batch) if self.stateful else \
                self.get_initial_state(batch)
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else \
            [initial_state]
        expected = [(batch, size) for size in self._state_sizes]
        if [tuple(s.shape) for s in states] != expected:
            raise ValueError(f"{layer_label(self)}: initial_state must be {len(expected)} "
                             f"tensor(s) of shapes {expected}, got shapes "
                             f"{[tuple(s.shape) for s in states]}")
        return states

    # ------------------------------------------------------------------ call
    def call(self, sequences, initial_state=None, mask=None, training=None):
        if sequences.ndim != 3:
            raise ValueError(f"{layer_label(self)}: expected inputs of shape (batch, steps, "
                             f"features), got shape {tuple(sequences.shape)}")
        batch, steps = sequences.shape[0], sequences.shape[1]
        if mask is not None and tuple(mask.shape) != (batch, steps):
            raise ValueError(f"{layer_label(self)}: the mask must have shape (batch, steps) = "
                             f"({batch}, {steps}), got shape {tuple(mask.shape)}")
        states = self._initial_state(sequences, initial_state)
        cell = self.cell
        if isinstance(cell, _Cell):
            cell.set_dropout_masks(sequences[:, 0] if training else None,
                                   states[0] if training else None)
        if type(cell) in _FUSED_CELLS and not (training and cell.recurrent_dropout):
            outputs, states = cell.run_sequence(sequences, states, mask, training,
                                                self.go_backwards, self.zero_output_for_mask)
        else:
            _, outputs, states = recurrent.rnn(self._step(training), sequences, states,
                                               self.go_backwards, mask,
                                               zero_output_for_mask=self.zero_output_for_mask)
        if self.stateful:
            for variable, state in zip(self.states, states):
                variable.assign(state.data)
        output = outputs if self.return_sequences else outputs[:, -1]
        return [output, *states] if self.return_state else output

    def _step(self, training: Optional[bool]):
        cell, kwargs = self.cell, {"training": training} if self._cell_takes_training else {}
        call = cell.call if isinstance(cell, Layer) and cell.built else cell

        def step(inputs, states):
            output, new_states = call(inputs, list(states), **kwargs)
            return output, (list(new_states) if isinstance(new_states, (list, tuple))
                            else [new_states])
        return step

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * len(self._state_sizes) if self.return_state \
            else output_mask

    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}


class _CellLayer(RNN):
    """SimpleRNN, LSTM and GRU: an RNN whose cell the constructor makes from its arguments;
    the cell's arguments read through as the layer's attributes."""

    _cell_type: type = _Cell
    _RNN_ARGUMENTS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                      "zero_output_for_mask", "name", "trainable", "dtype", "input_shape",
                      "batch_input_shape", "input_dim", "batch_size")

    def __init__(self, units: int, **kwargs: Any) -> None:
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in self._RNN_ARGUMENTS}
        try:
            cell = self._cell_type(units, dtype=layer_kwargs.get("dtype"), **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}: {error}") from None
        super().__init__(cell, **layer_kwargs)

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes the layer lacks: the cell's (units, activation, ...).
        cell = self.__dict__.get("cell")
        if cell is not None and not name.startswith("_") and hasattr(cell, name):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self):
        cell_config = {k: v for k, v in self.cell.get_config().items()
                       if k not in ("name", "trainable", "dtype")}
        return {**super().get_config(), **cell_config}


class SimpleRNN(_CellLayer):
    """A fully connected recurrent layer, ``h = activation(x W + b + h U)``, over whole
    sequences (one kernel for the recurrence). Arguments: those of :class:`SimpleRNNCell` and
    of :class:`RNN`.

    >>> import fastdl
    >>> fastdl.layers.SimpleRNN(4, return_sequences=True)(fastdl.ones(2, 7, 3)).shape
    (2, 7, 4)
    """

    _cell_type = SimpleRNNCell


class LSTM(_CellLayer):
    """A long short-term memory layer over whole sequences, Keras's weights and gates
    (i, f, c, o). Arguments: those of :class:`LSTMCell` and of :class:`RNN`; ``initial_state``
    is ``[h, c]``.

    >>> import fastdl
    >>> layer = fastdl.layers.LSTM(8)
    >>> layer(fastdl.ones(2, 28, 28)).shape, [w.shape for w in layer.weights]
    ((2, 8), [(28, 32), (8, 32), (32,)])
    """

    _cell_type = LSTMCell


class GRU(_CellLayer):
    """A gated recurrent unit layer over whole sequences, Keras's weights and gates
    (z, r, h), ``reset_after=True`` by default. Arguments: those of :class:`GRUCell` and of
    :class:`RNN`.

    >>> import fastdl
    >>> layer = fastdl.layers.GRU(8, return_sequences=True)
    >>> layer(fastdl.ones(2, 5, 3)).shape, [w.shape for w in layer.weights]
    ((2, 5, 8), [(3, 24), (8, 24), (2, 24)])
    """

    _cell_type = GRUCell
