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
from fastdl.layers.serialization import deserialize, serialize
from fastdl.layers.signature import layer_label
from fastdl.ops import recurrent
from fastdl.ops.arithmetic import add, multiply
from fastdl.ops.array_creation import zeros
from fastdl.ops.shaping import concatenate
from fastdl.tensor import Tensor

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional"]

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


_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Runs a recurrent layer over the sequence forwards and a copy of it backwards, and
    merges their outputs: ``merge_mode`` ``'concat'`` (the default) joins them along the last
    axis, ``'sum'``, ``'mul'`` and ``'ave'`` combine them, None returns both. With
    ``return_sequences`` the backward layer's outputs are turned back into the input's order
    first, so that step t of the result has seen the whole sequence. With ``return_state`` the
    forward layer's final states follow the output, then the backward layer's;
    ``initial_state`` takes them in the same order.

    The backward layer is a copy of ``layer`` with ``go_backwards=True`` (or
    ``backward_layer``); both output zeros at masked steps when they return sequences, as in
    Keras. The weights are the forward layer's, then the backward layer's.

    >>> import fastdl
    >>> layer = fastdl.layers.Bidirectional(fastdl.layers.LSTM(4, return_sequences=True))
    >>> layer(fastdl.ones(2, 7, 3)).shape, len(layer.weights)
    ((2, 7, 8), 6)
    """

    supports_masking = True

    def __init__(self, layer: Layer, merge_mode: Optional[str] = "concat",
                 weights: Optional[list] = None, backward_layer: Optional[Layer] = None,
                 **kwargs: Any) -> None:
        if not isinstance(layer, RNN):
            raise ValueError(f"Bidirectional: layer must be a recurrent layer (an RNN, LSTM, "
                             f"GRU, ...), got {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, RNN):
            raise ValueError(f"Bidirectional: backward_layer must be a recurrent layer, got "
                             f"{backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, got "
                             f"{merge_mode!r}")
        super().__init__(**kwargs)
        # Fresh copies, so that the wrapped layer keeps no state of its own here.
        config = layer.get_config()
        self.forward_layer = type(layer).from_config(
            {**config, "name": "forward_" + layer.name.removeprefix("forward_")})
        self.backward_layer = backward_layer if backward_layer is not None else \
            type(layer).from_config({**config, "go_backwards": True,
                                     "name": "backward_" + layer.name.removeprefix("backward_")})
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(f"Bidirectional: the forward and backward layers must differ in "
                             f"go_backwards; both have go_backwards={forward.go_backwards}")
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(f"Bidirectional: the forward and backward layers must agree "
                                 f"on {attribute}; got {getattr(forward, attribute)} and "
                                 f"{getattr(backward, attribute)}")
        for sublayer in (forward, backward):
            sublayer.zero_output_for_mask = sublayer.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = forward.return_sequences
        self.return_state = forward.return_state
        self.stateful = forward.stateful
        self._initial_weights = weights

    def build(self, sequences_shape, initial_state_shape=None):
        for sublayer in (self.forward_layer, self.backward_layer):
            if not sublayer.built:
                sublayer.build(sequences_shape)
                sublayer.built = True
        if self._initial_weights is not None:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self._initial_weights = None

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            forward_state, backward_state = states[:half], states[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, mask=mask,
                               training=training)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask,
                                    training=training)
        states = ()
        if self.return_state:
            states = (*y[1:], *y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        if self.merge_mode == "concat":
            output = concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = add(y, y_rev)
        elif self.merge_mode == "ave":
            output = add(y, y_rev) * 0.5
        elif self.merge_mode == "mul":
            output = multiply(y, y_rev)
        else:
            output = [y, y_rev]
        if self.return_state:
            return [*output, *states] if self.merge_mode is None else [output, *states]
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            masks += [None] * (2 * len(self.forward_layer._state_sizes))
        return masks if len(masks) > 1 else masks[0]

    def reset_states(self, states: Any = None) -> None:
        """Resets both layers' states (stateful layers): to zeros, or to ``states``, the
        forward layer's then the backward layer's."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(list(states)[:half])
        self.backward_layer.reset_states(list(states)[half:])

    reset_state = reset_states

    def get_config(self) -> dict:
        """Keras 3's: the merge mode and both recurrent layers' class names and configs."""
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize(self.forward_layer),
                "backward_layer": serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict) -> "Bidirectional":
        """A new Bidirectional over new layers made from :meth:`get_config`'s dict."""
        config = dict(config)
        for key in ("layer", "backward_layer"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize(config[key])
        return cls(**config)
