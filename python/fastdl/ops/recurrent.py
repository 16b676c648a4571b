"""Recurrent networks: ``simple_rnn``, ``lstm`` and ``gru`` over whole sequences, and Keras's
generic ``rnn`` loop over a step function.

``lstm``, ``gru`` and ``simple_rnn`` take Keras's weights (kernel ``(input, G * units)``,
recurrent kernel ``(units, G * units)``, the gates side by side in Keras's order: LSTM i, f, c,
o; GRU z, r, h) and run in two kernels: the input projection of every step as one product, then
the recurrence (:class:`Recurrence`), whose steps each make one product of the state with the
recurrent kernel and apply the cell as that product's tiles leave the registers. Activations
the kernels do not differentiate from their output (anything but tanh, sigmoid, relu and
linear), and GRU's ``reset_after=False`` form, run the same arithmetic step by step in
operations instead (:func:`rnn`).

Masks are (batch, steps), True where a step is taken: a skipped step leaves the state as it was
and outputs the previous output (zeros with ``zero_output_for_mask``). With ``go_backwards``
the steps run from the last to the first, and the outputs come in the order they ran.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module, kernels_for
from fastdl.backend.recurrence import GATES
from fastdl.ops.activation import relu, sigmoid, tanh
from fastdl.ops.arithmetic import add, multiply, subtract
from fastdl.ops.array_creation import zeros_like
from fastdl.ops.common import operand
from fastdl.ops.conversion import cast
from fastdl.ops.elementwise import where
from fastdl.ops.products import linear, matmul
from fastdl.ops.shaping import expand_dims, split, stack, transpose
from fastdl.tensor import Tensor


def _linear(x: Any) -> Any:
    return x


#: The activations the recurrent kernels apply (and differentiate from their output), by the
#: names the operations take, with the kernels' names.
_KERNEL_ACTIVATIONS = {"tanh": (tanh, "tanh"), "sigmoid": (sigmoid, "sigmoid"),
                       "relu": (relu, "relu"), "linear": (_linear, "none")}


class RecurrenceOptions(NamedTuple):
    """What a :class:`Recurrence` does besides its arrays."""
    cell: str                 # "simple", "lstm" or "gru"
    activation: str           # a kernel name: "tanh", "sigmoid", "relu" or "none"
    recurrent_activation: str
    go_backwards: bool
    zero_output_for_mask: bool


class Recurrence(Function):
    """The recurrence of a SimpleRNN, LSTM or GRU layer over whole sequences, given the input
    projection ``x W + b`` of every step, (batch, steps, G * units). Outputs: the outputs of
    every step (batch, steps, units), the final state h and, for an LSTM, the final cell
    state c. Gradients reach the projection, the recurrent kernel, GRU's recurrent bias and the
    initial states."""

    materialize_grads = False

    @staticmethod
    def forward(ctx, projected, recurrent_kernel, recurrent_bias, h0, c0, mask,
                options: RecurrenceOptions):
        outputs, h, c, saved = kernels_for(projected).rnn_forward(
            options.cell, projected, recurrent_kernel, recurrent_bias, h0, c0, mask,
            options.activation, options.recurrent_activation, options.go_backwards,
            options.zero_output_for_mask, ctx.requires_grad)
        if ctx.requires_grad:
            ctx.saved, ctx.recurrent_kernel, ctx.recurrent_bias = saved, recurrent_kernel, \
                recurrent_bias
            ctx.mask, ctx.options = mask, options
        return (outputs, h) if c is None else (outputs, h, c)

    @staticmethod
    def backward(ctx, d_outputs, d_h, d_c=None):
        o = ctx.options
        d_projected, d_kernel, d_bias, d_h0, d_c0 = kernels_for(ctx.recurrent_kernel) \
            .rnn_backward(o.cell, ctx.recurrent_kernel, ctx.recurrent_bias, ctx.mask,
                          o.activation, o.recurrent_activation, o.go_backwards,
                          o.zero_output_for_mask, ctx.saved, d_outputs, d_h, d_c)
        return d_projected, d_kernel, d_bias, d_h0, d_c0, None, None


def _activation(op: str, argument: str, activation: Any) -> tuple[Callable, Optional[str]]:
    """``(function, kernel name)`` of an activation given by name (tanh, sigmoid, relu,
    linear; None is linear) or as a callable; the kernel name is None when the kernels cannot
    apply it (a callable other than those operations)."""
    if activation is None:
        activation = "linear"
    if isinstance(activation, str):
        if activation not in _KERNEL_ACTIVATIONS:
            raise ValueError(f"{op}: {argument} must be one of {sorted(_KERNEL_ACTIVATIONS)} or "
                             f"a callable, got {activation!r}")
        return _KERNEL_ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"{op}: {argument} must be a name or a callable, got {activation!r}")
    for fn, kernel_name in _KERNEL_ACTIVATIONS.values():
        if activation is fn:
            return fn, kernel_name
    return activation, None


def _check_inputs(op: str, inputs: Any, kernel: Any, recurrent_kernel: Any, gates: int) -> tuple:
    """(batch, steps, units), or ValueError naming ``op`` and the shapes."""
    if inputs.ndim != 3:
        raise ValueError(f"{op}: inputs must be (batch, steps, features), got shape "
                         f"{tuple(inputs.shape)}")
    units = recurrent_kernel.shape[0] if recurrent_kernel.ndim == 2 else None
    if units is None or tuple(recurrent_kernel.shape) != (units, gates * units):
        raise ValueError(f"{op}: recurrent_kernel must be (units, {gates} * units), got shape "
                         f"{tuple(recurrent_kernel.shape)}")
    if tuple(kernel.shape) != (inputs.shape[-1], gates * units):
        raise ValueError(f"{op}: kernel must be ({inputs.shape[-1]}, {gates * units}) for "
                         f"inputs of shape {tuple(inputs.shape)} and {units} units, got shape "
                         f"{tuple(kernel.shape)}")
    return inputs.shape[0], inputs.shape[1], units


def _initial_states(op: str, initial_state: Any, projected: Any, batch: int, units: int,
                    count: int) -> list:
    """The ``count`` initial states: zeros of the input projection's dtype (the inputs' and
    weights' promoted) when none are given, else the given ones, each checked to be
    (batch, units)."""
    if initial_state is None:
        xp = array_module(projected.data if isinstance(projected, Tensor) else projected)
        return [xp.zeros((batch, units), dtype=projected.dtype) for _ in range(count)]
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    if len(states) != count:
        raise ValueError(f"{op}: initial_state must be {count} tensor(s) of shape "
                         f"({batch}, {units}), got {len(states)}")
    states = [operand(s) for s in states]
    for s in states:
        if tuple(s.shape) != (batch, units):
            raise ValueError(f"{op}: initial_state must be {count} tensor(s) of shape "
                             f"({batch}, {units}), got shape {tuple(s.shape)}")
    return states


def _check_mask(op: str, mask: Any, batch: int, steps: int) -> Any:
    if mask is None:
        return None
    mask = operand(mask)
    if tuple(mask.shape) != (batch, steps):
        raise ValueError(f"{op}: mask must be (batch, steps) = ({batch}, {steps}), got shape "
                         f"{tuple(mask.shape)}")
    return mask


def _recurrence(op: str, cell: str, inputs: Any, kernel: Any, recurrent_kernel: Any,
                input_bias: Any, recurrent_bias: Any, initial_state: Any, mask: Any,
                activation: Any, recurrent_activation: Any, go_backwards: bool,
                zero_output_for_mask: bool, stepwise: Callable) -> tuple:
    """The cell over whole sequences: the projection as one product, then the kernel's
    recurrence, or ``stepwise(projected, states, mask, act, recurrent_act)`` when the kernels
    cannot apply an activation."""
    inputs, kernel, recurrent_kernel = operand(inputs), operand(kernel), operand(recurrent_kernel)
    batch, steps, units = _check_inputs(op, inputs, kernel, recurrent_kernel, GATES[cell])
    mask = _check_mask(op, mask, batch, steps)
    projected = linear(inputs, kernel, input_bias)
    states = _initial_states(op, initial_state, projected, batch, units,
                             2 if cell == "lstm" else 1)
    # The kernels take one dtype: the arrays' promoted one, as the products' would be.
    dtype = np.result_type(projected.dtype, recurrent_kernel.dtype,
                           *(a.dtype for a in (recurrent_bias, *states) if a is not None))
    projected, recurrent_kernel, recurrent_bias, *states = (
        a if a is None or a.dtype == dtype else cast(a, dtype)
        for a in (projected, operand(recurrent_kernel), recurrent_bias, *states))
    act, act_name = _activation(op, "activation", activation)
    recurrent_act, recurrent_name = _activation(op, "recurrent_activation", recurrent_activation)
    if act_name is None or recurrent_name is None:
        return stepwise(projected, states, mask, act, recurrent_act)
    options = RecurrenceOptions(cell, act_name, recurrent_name, bool(go_backwards),
                                bool(zero_output_for_mask))
    c0 = states[1] if cell == "lstm" else None
    return Recurrence.apply(projected, recurrent_kernel, recurrent_bias, states[0], c0, mask,
                            options)


def simple_rnn_step(x: Any, h: Any, recurrent_kernel: Any, activation: Callable = tanh,
                    h_in_product: Any = None) -> Any:
    """One step of a SimpleRNN given the step's input projection ``x`` (x W + b): the new
    state. ``h_in_product`` replaces ``h`` in the recurrent product (a state with recurrent
    dropout applied); the same goes for the other cells' steps."""
    h_in_product = h if h_in_product is None else h_in_product
    return activation(add(x, matmul(h_in_product, recurrent_kernel)))


def lstm_step(x: Any, h: Any, c: Any, recurrent_kernel: Any, activation: Callable = tanh,
              recurrent_activation: Callable = sigmoid, h_in_product: Any = None) -> tuple:
    """One step of an LSTM given the step's input projection ``x`` (gates i, f, c, o side by
    side): the new ``(h, c)``."""
    h_in_product = h if h_in_product is None else h_in_product
    i, f, g, o = split(add(x, matmul(h_in_product, recurrent_kernel)), 4, axis=-1)
    c = add(multiply(recurrent_activation(f), c), multiply(recurrent_activation(i), activation(g)))
    return multiply(recurrent_activation(o), activation(c)), c


def gru_step(x: Any, h: Any, recurrent_kernel: Any, recurrent_bias: Any = None,
             activation: Callable = tanh, recurrent_activation: Callable = sigmoid,
             reset_after: bool = True, h_in_product: Any = None) -> Any:
    """One step of a GRU given the step's input projection ``x`` (gates z, r, h side by side):
    the new state ``z * h + (1 - z) * candidate``. ``recurrent_bias`` (reset_after only) is
    added to the recurrent product inside the reset."""
    h_in_product = h if h_in_product is None else h_in_product
    x_z, x_r, x_h = split(x, 3, axis=-1)
    if reset_after:
        inner = matmul(h_in_product, recurrent_kernel)
        if recurrent_bias is not None:
            inner = add(inner, recurrent_bias)
        h_z, h_r, h_h = split(inner, 3, axis=-1)
        z, r = recurrent_activation(add(x_z, h_z)), recurrent_activation(add(x_r, h_r))
        candidate = activation(add(x_h, multiply(r, h_h)))
    else:
        u_z, u_r, u_h = split(recurrent_kernel, 3, axis=-1)
        z = recurrent_activation(add(x_z, matmul(h_in_product, u_z)))
        r = recurrent_activation(add(x_r, matmul(h_in_product, u_r)))
        candidate = activation(add(x_h, matmul(multiply(r, h_in_product), u_h)))
    return add(candidate, multiply(z, subtract(h, candidate)))


def lstm(inputs: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None,
         initial_state: Optional[Sequence[Any]] = None, mask: Any = None,
         activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
         go_backwards: bool = False, zero_output_for_mask: bool = False) -> tuple:
    """A long short-term memory layer over whole sequences: ``(outputs, h, c)``, the outputs
    of every step (batch, steps, units) and the final states (batch, units).

    ``inputs`` is (batch, steps, features); ``kernel`` (features, 4 * units),
    ``recurrent_kernel`` (units, 4 * units) and ``bias`` (4 * units,) hold the gates i, f, c, o
    side by side, as Keras's LSTM does. ``initial_state`` is ``[h0, c0]`` (zeros when None).

    >>> import numpy as np, fastdl
    >>> x = np.ones((2, 3, 5), np.float32)
    >>> w, u = np.full((5, 8), 0.1, np.float32), np.zeros((2, 8), np.float32)
    >>> outputs, h, c = fastdl.ops.lstm(x, w, u)
    >>> outputs.shape, h.shape, bool((outputs[:, -1] == h).numpy().all())
    ((2, 3, 2), (2, 2), True)
    """
    def stepwise(projected, states, step_mask, act, recurrent_act):
        def step(x, state):
            h, c = lstm_step(x, state[0], state[1], recurrent_kernel, act, recurrent_act)
            return h, [h, c]
        _, outputs, (h, c) = rnn(step, projected, states, go_backwards, step_mask,
                                 zero_output_for_mask=zero_output_for_mask)
        return outputs, h, c

    return _recurrence("lstm", "lstm", inputs, kernel, recurrent_kernel, bias, None,
                       initial_state, mask, activation, recurrent_activation, go_backwards,
                       zero_output_for_mask, stepwise)


def gru(inputs: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None,
        initial_state: Any = None, mask: Any = None, activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid", go_backwards: bool = False,
        zero_output_for_mask: bool = False, reset_after: bool = True) -> tuple:
    """A gated recurrent unit layer over whole sequences: ``(outputs, h)``.

    The gates z, r, h sit side by side in ``kernel`` (features, 3 * units) and
    ``recurrent_kernel`` (units, 3 * units), as in Keras's GRU. With ``reset_after`` (Keras's
    default) the reset gate scales the recurrent product, and ``bias`` is (2, 3 * units): the
    input bias, then the recurrent one; otherwise it scales the state before the product and
    ``bias`` is (3 * units,). The new state is ``z * h + (1 - z) * candidate``.

    >>> import numpy as np, fastdl
    >>> x = np.ones((2, 3, 5), np.float32)
    >>> w, u = np.full((5, 6), 0.1, np.float32), np.zeros((2, 6), np.float32)
    >>> outputs, h = fastdl.ops.gru(x, w, u, np.zeros((2, 6), np.float32))
    >>> outputs.shape, h.shape
    ((2, 3, 2), (2, 2))
    """
    input_bias = recurrent_bias = None
    if bias is not None:
        bias = operand(bias)
        expected = (2, recurrent_kernel.shape[-1]) if reset_after else (recurrent_kernel.shape[-1],)
        if tuple(bias.shape) != expected:
            raise ValueError(f"gru: bias must have shape {expected} with "
                             f"reset_after={bool(reset_after)}, got shape {tuple(bias.shape)}")
        input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, None)

    def stepwise(projected, states, step_mask, act, recurrent_act):
        def step(x, state):
            h = gru_step(x, state[0], recurrent_kernel, recurrent_bias, act, recurrent_act,
                         reset_after)
            return h, [h]
        _, outputs, (h,) = rnn(step, projected, states, go_backwards, step_mask,
                               zero_output_for_mask=zero_output_for_mask)
        return outputs, h

    if not reset_after:
        inputs, kernel = operand(inputs), operand(kernel)
        batch, steps, units = _check_inputs("gru", inputs, kernel, operand(recurrent_kernel), 3)
        projected = linear(inputs, kernel, input_bias)
        states = _initial_states("gru", initial_state, projected, batch, units, 1)
        return stepwise(projected, states,
                        _check_mask("gru", mask, batch, steps),
                        _activation("gru", "activation", activation)[0],
                        _activation("gru", "recurrent_activation", recurrent_activation)[0])
    return _recurrence("gru", "gru", inputs, kernel, recurrent_kernel, input_bias,
                       recurrent_bias, initial_state, mask, activation, recurrent_activation,
                       go_backwards, zero_output_for_mask, stepwise)


def simple_rnn(inputs: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None,
               initial_state: Any = None, mask: Any = None, activation: Any = "tanh",
               go_backwards: bool = False, zero_output_for_mask: bool = False) -> tuple:
    """A fully connected recurrent layer over whole sequences, ``h = activation(x W + b + h U)``:
    ``(outputs, h)``.

    >>> import numpy as np, fastdl
    >>> x = np.ones((1, 2, 1), np.float32)
    >>> outputs, h = fastdl.ops.simple_rnn(x, np.ones((1, 1), np.float32),
    ...                                    np.ones((1, 1), np.float32), activation="linear")
    >>> outputs.numpy().ravel()       # h1 = 1, h2 = 1 + h1
    array([1., 2.], dtype=float32)
    """
    def stepwise(projected, states, step_mask, act, _):
        def step(x, state):
            h = simple_rnn_step(x, state[0], recurrent_kernel, act)
            return h, [h]
        _, outputs, (h,) = rnn(step, projected, states, go_backwards, step_mask,
                               zero_output_for_mask=zero_output_for_mask)
        return outputs, h

    return _recurrence("simple_rnn", "simple", inputs, kernel, recurrent_kernel, bias, None,
                       initial_state, mask, activation, "sigmoid", go_backwards,
                       zero_output_for_mask, stepwise)


def rnn(step_function: Callable, inputs: Any, initial_states: Sequence[Any],
        go_backwards: bool = False, mask: Any = None, constants: Optional[Sequence[Any]] = None,
        unroll: bool = False, input_length: Optional[int] = None, time_major: bool = False,
        zero_output_for_mask: bool = False, return_all_outputs: bool = True) -> tuple:
    """Runs ``step_function(inputs_t, states) -> (output_t, new_states)`` over the steps of
    ``inputs`` (batch, steps, ...), Keras's ``ops.rnn``: returns ``(last_output, outputs,
    new_states)``, the outputs stacked along the step axis in the order the steps ran.
    ``constants`` are appended to the states each step receives. Where ``mask`` (batch, steps)
    is False the states are carried over and the output is the previous one (zeros with
    ``zero_output_for_mask``). ``unroll`` and ``input_length`` are accepted for Keras's
    signature; the loop is always a Python loop over recorded operations.

    >>> import numpy as np, fastdl
    >>> x = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    >>> step = lambda x_t, states: (x_t + states[0], [x_t + states[0]])
    >>> last, outputs, states = fastdl.ops.rnn(step, x, [np.zeros((1, 2), np.float32)])
    >>> last.numpy(), outputs.shape
    (array([[6., 9.]], dtype=float32), (1, 3, 2))
    """
    del unroll, input_length
    inputs = _as_tensor(inputs)
    if time_major:
        inputs = transpose(inputs, _swap_first_two(inputs.ndim))
        if mask is not None:
            mask = transpose(mask, (1, 0))
    steps = inputs.shape[1]
    states = [_as_tensor(s) for s in initial_states]
    constants = [_as_tensor(c) for c in constants or ()]
    mask = None if mask is None else operand(mask)
    outputs: list = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        output, new_states = step_function(inputs[:, t], tuple(states) + tuple(constants))
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if mask is not None:
            # A skipped step: the states pass through, the output is the first state's
            # (Keras's rule: the previous output for the built-in cells) or zeros.
            taken = expand_dims(mask[:, t], -1)
            carried = zeros_like(output) if zero_output_for_mask else states[0]
            output = where(taken, output, carried)
            new_states = [where(taken, new, old) for new, old in zip(new_states, states)]
        states = new_states
        outputs.append(output)
    if not outputs:
        raise ValueError(f"rnn: inputs must have at least one step, got shape "
                         f"{tuple(inputs.shape)}")
    stacked = stack(outputs, axis=1) if return_all_outputs else expand_dims(outputs[-1], 1)
    if time_major:
        stacked = transpose(stacked, _swap_first_two(stacked.ndim))
    return outputs[-1], stacked, states


def _as_tensor(x: Any) -> Tensor:
    """``x`` as a Tensor (an array is wrapped, not copied), so that a step function works on
    Tensors whatever it was given."""
    x = operand(x)
    return x if isinstance(x, Tensor) else Tensor(x)


def _swap_first_two(ndim: int) -> tuple:
    return (1, 0, *range(2, ndim))


__all__ = ["lstm", "gru", "simple_rnn", "rnn", "lstm_step", "gru_step", "simple_rnn_step",
           "Recurrence", "RecurrenceOptions"]
