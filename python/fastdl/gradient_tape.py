"""GradientTape: TensorFlow's interface to reverse-mode gradients, over :func:`fastdl.grad`.

Keras code written for TensorFlow ports by replacing ``tf.GradientTape`` with
``fastdl.GradientTape``::

    with fastdl.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))

fastdl records one graph for every operation on a tensor that requires grad (trainable
weights do), whether a tape is open or not; a tape turns recording on for its block, makes
other tensors take part (:meth:`GradientTape.watch`) and asks the graph for gradients. What
follows from that, next to TensorFlow:

* Operations recorded before the tape's block are differentiated through too (TensorFlow
  gives None for a variable used only before the tape).
* ``stop_recording()`` and ``fastdl.no_grad()`` pause every tape, not this one alone.
* Higher-order gradients (the gradient of a gradient, as in a gradient penalty) are not
  supported: a gradient computed while a tape records is marked, and differentiating through
  it raises a RuntimeError instead of silently leaving its contribution out.
* ``jacobian`` and ``batch_jacobian`` are not provided.

>>> import fastdl
>>> w = fastdl.layers.Variable(fastdl.tensor([1.0, 2.0]).numpy(), name="w")
>>> x = fastdl.tensor(3.0)
>>> with fastdl.GradientTape() as tape:
...     tape.watch(x)
...     y = (w * w * x).sum()
>>> tape.gradient(y, {"w": w, "x": x})
{'w': tensor([ 6., 12.]), 'x': tensor(5.)}
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from itertools import repeat
from typing import Any, Iterator, Optional

import numpy as np

from fastdl import _C
from fastdl.autograd import Function, grad
from fastdl.backend import array_module
from fastdl.layers.nested import flatten, pack_like
from fastdl.tensor import Tensor

__all__ = ["GradientTape"]

_UNCONNECTED = ("none", "zero")


class _ThreadTapes:
    """One thread's tapes: those recording now, the grad mode to go back to when the last
    one stops, and how many are open (entered, and their graph possibly still wanted: until
    their gradient, or until a persistent one is dropped). A tape frees the graph after its
    gradient only when no other is open: another may need the same operations (a GAN's
    generator and discriminator tapes over one computation)."""

    def __init__(self) -> None:
        self.recording: list = []
        self.mode_before = True
        self.open = 0


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.tapes = _ThreadTapes()


_per_thread = _PerThread()

# Tensors a tape made require grad (watch), with how many tapes hold them: the flag goes back
# when the last one is done.
_watch_counts: dict[int, list] = {}


class _GradientOfGradient(Function):
    """A gradient computed while a tape records, as a function of its source: its value passes
    through, and differentiating it again (a higher-order gradient) raises."""

    @staticmethod
    def forward(ctx, gradient, source):
        return gradient

    @staticmethod
    def backward(ctx, grad_output):
        raise RuntimeError(
            "GradientTape.gradient: higher-order gradients are not supported: the target depends "
            "on a gradient computed while a tape was recording (nested tapes, or a persistent "
            "tape's gradient inside its own block)")


class GradientTape:
    """Records operations in its ``with`` block and computes gradients of a result with
    respect to weights or watched tensors, as ``tf.GradientTape`` does.

    ``persistent=False`` allows one :meth:`gradient` call (the graph is then freed unless
    another open tape shares it); ``persistent=True`` allows several.
    ``watch_accessed_variables=False`` gives gradients only for the tensors passed to
    :meth:`watch` (None for other weights); results computed from weights are still
    differentiated through.

    >>> import fastdl
    >>> x = fastdl.tensor([1.0, 2.0, 3.0])
    >>> with fastdl.GradientTape(persistent=True) as tape:
    ...     tape.watch(x)
    ...     y = x * x
    ...     z = y * y
    >>> tape.gradient(z, x)  # a non-scalar target: the gradient of its sum
    tensor([  4.,  32., 108.])
    >>> tape.gradient(z, [x, y])
    [tensor([  4.,  32., 108.]), tensor([ 2.,  8., 18.])]
    """

    # A tape is made at every training step: slots make it cheaper.
    __slots__ = ("persistent", "watch_accessed_variables", "_recording", "_entered", "_used",
                 "_thread", "_watched", "_given")

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self.persistent = bool(persistent)
        self.watch_accessed_variables = bool(watch_accessed_variables)
        self._recording = False
        self._entered = False
        self._used = False
        self._thread: _ThreadTapes | None = None  # set while the tape is open
        self._watched: list[Tensor] = []  # tensors watch() made require grad
        self._given: dict[int, Tensor] = {}  # every tensor given to watch(), by id

    # ------------------------------------------------------------------ recording
    def __enter__(self) -> GradientTape:
        if self._recording:
            raise ValueError("GradientTape: the tape is already recording; a tape cannot be "
                             "entered again inside its own block")
        self._entered = True
        if self._thread is None:
            self._thread = _per_thread.tapes
            self._thread.open += 1
        self._start_recording()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._recording:
            self._stop_recording()

    def _start_recording(self) -> None:  # the tape is open: self._thread is set
        self._recording = True
        tapes = self._thread
        if not tapes.recording:
            tapes.mode_before = _C.set_grad_enabled(True)
        tapes.recording.append(self)

    def _stop_recording(self) -> None:
        self._recording = False
        tapes = self._thread
        tapes.recording.remove(self)
        if not tapes.recording:
            _C.set_grad_enabled(tapes.mode_before)

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """A block whose operations are not recorded (by any tape: it works as
        ``fastdl.no_grad()``).

        >>> import fastdl
        >>> x = fastdl.tensor(2.0)
        >>> with fastdl.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x * x
        ...     with tape.stop_recording():
        ...         constant = x * 10.0
        ...     z = y + constant
        >>> tape.gradient(z, x)
        tensor(4.)
        """
        if not self._recording:
            raise RuntimeError("GradientTape.stop_recording: the tape is not recording")
        self._stop_recording()
        previous = _C.set_grad_enabled(False)
        try:
            yield
        finally:
            _C.set_grad_enabled(previous)
            if not self._used:  # a non-persistent tape's gradient inside ends its recording
                self._start_recording()

    def watch(self, tensor: Any) -> None:
        """Makes ``tensor`` (or every tensor of a list, tuple or dict) take part in the
        gradients: it then requires grad until the tape is done with it (after its gradient,
        or when a persistent tape is dropped). Call it before the operations on the tensor.
        Weights that train need no watching. A tensor that is not floating is skipped with a
        warning, as in TensorFlow."""
        for t in flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch: expected a Tensor (or a structure of "
                                f"them), got {type(t).__name__}")
            if t.data.dtype.kind != "f":
                warnings.warn(f"GradientTape.watch: the tensor's dtype {t.data.dtype} is not "
                              f"floating: it is not watched", stacklevel=2)
                continue
            self._given[id(t)] = t
            entry = _watch_counts.get(id(t))
            if entry is not None and all(w is not t for w in self._watched):
                entry[1] += 1
                self._watched.append(t)
            elif entry is None and not t.requires_grad:
                _watch_counts[id(t)] = [t, 1]
                t.requires_grad = True
                self._watched.append(t)

    # ------------------------------------------------------------------ gradients
    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = "none") -> Any:
        """The gradients of ``target`` (a Tensor, or a list, tuple or dict of them, whose
        gradients add up) with respect to ``sources`` (a Tensor or a nested structure of
        them), in the structure of ``sources``.

        A target with several elements is differentiated as the sum of its elements, unless
        ``output_gradients`` (one per target) gives the gradient at each. A source the
        target does not depend on gets None, or zeros with ``unconnected_gradients='zero'``.
        A non-persistent tape allows one call. Called inside the tape's own block, a
        non-persistent tape stops recording there (as in TensorFlow); a persistent one goes
        on recording, and its gradients, like those computed inside another tape's block, may
        not be differentiated again (TensorFlow warns there and records them for higher-order
        gradients, which fastdl does not support).
        """
        owner = "GradientTape.gradient"
        if not self._entered:
            raise RuntimeError(f"{owner}: the tape has recorded nothing; use it as `with "
                               f"fastdl.GradientTape() as tape:` around the computation")
        if self._used:
            raise RuntimeError(f"{owner}: a non-persistent GradientTape computes one set of "
                               f"gradients; create it with persistent=True to call gradient "
                               f"several times")
        if unconnected_gradients not in _UNCONNECTED:
            raise ValueError(f"{owner}: unconnected_gradients must be 'none' or 'zero', got "
                             f"{unconnected_gradients!r}")
        targets = _tensors(owner, "target", target)
        flat_sources = _tensors(owner, "sources", sources)
        seeds = self._seeds(owner, targets, output_gradients)
        if not self.persistent:
            self._used = True
            if self._recording:
                self._stop_recording()
        reached = [t for t in targets if t.requires_grad]
        if seeds is not None and len(reached) < len(targets):
            seeds = [s for t, s in zip(targets, seeds) if t.requires_grad]
        if reached:
            # One target from 1 (the usual call) goes alone: grad's one-pass form.
            found = list(grad(reached[0] if len(reached) == 1 and seeds is None else reached,
                              flat_sources, seeds, retain_graph=self._graph_still_wanted()))
        else:
            found = [None] * len(flat_sources)
        if not self.watch_accessed_variables:
            found = [g if not s.is_leaf or id(s) in self._given else None
                     for g, s in zip(found, flat_sources)]
        if unconnected_gradients == "zero":
            found = [_zeros_like(s) if g is None else g for g, s in zip(found, flat_sources)]
        if self._thread.recording:  # they may be differentiated again: see
            # _GradientOfGradient
            found = [g if g is None or not s.requires_grad else _GradientOfGradient.apply(g, s)
                     for g, s in zip(found, flat_sources)]
        if not self.persistent:
            self._release()
        if isinstance(sources, Tensor):
            return found[0]
        if type(sources) is list and len(sources) == len(found):  # the usual flat list
            return found
        return pack_like(sources, found)

    def _seeds(self, owner: str, targets: list, output_gradients: Any) -> Optional[list]:
        """The gradient each target starts from: the one given, else ones (a sum); None when
        none is given and every target has one element (fastdl.grad starts from 1 then)."""
        if output_gradients is None:
            if all(t.data.size == 1 for t in targets):
                return None
            given = [None] * len(targets)
        else:
            given = flatten(output_gradients)
        if len(given) != len(targets):
            raise ValueError(f"{owner}: {len(targets)} target(s) but {len(given)} "
                             f"output_gradients")
        seeds = []
        for i, (t, g) in enumerate(zip(targets, given)):
            if g is None:
                g = array_module(t.data).ones(t.shape, t.dtype)
            elif np.shape(g) != t.shape:
                raise ValueError(f"{owner}: output_gradients[{i}] has shape {np.shape(g)} but "
                                 f"its target has shape {t.shape}")
            seeds.append(g)
        return seeds

    def _graph_still_wanted(self) -> bool:
        """Whether the graph must outlive this call: a persistent tape, or another open tape
        (see _ThreadTapes)."""
        return self.persistent or self._thread.open > 1

    def _release(self) -> None:
        """The tape is done: it is no longer open, and what it watched goes back."""
        if self._thread is not None:
            self._thread.open -= 1
            self._thread = None
        for t in self._watched:
            entry = _watch_counts[id(t)]
            entry[1] -= 1
            if entry[1] == 0:
                del _watch_counts[id(t)]
                t.requires_grad = False
        self._watched.clear()

    def __del__(self) -> None:  # a persistent tape, or one whose gradient was never taken
        self._release()

    def __repr__(self) -> str:
        state = "recording" if self._recording else "used" if self._used else "idle"
        return f"<GradientTape persistent={self.persistent} {state}>"


def _tensors(owner: str, what: str, structure: Any) -> list:
    """The Tensors of ``structure``, flat (a flat list of them is returned as it is)."""
    if isinstance(structure, Tensor):
        return [structure]
    if type(structure) is list and all(map(isinstance, structure, repeat(Tensor))):
        return structure
    if structure is None:
        raise TypeError(f"{owner}: {what} must be a Tensor or a structure of Tensors, got None")
    leaves = flatten(structure)
    for i, t in enumerate(leaves):
        if not isinstance(t, Tensor):
            where = what if len(leaves) == 1 else f"{what}[{i}]"
            raise TypeError(f"{owner}: {where} must be a Tensor, got {type(t).__name__}")
    return leaves


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor(array_module(t.data).zeros(t.shape, t.dtype))
