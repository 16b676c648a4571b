"""How a layer is called: the general path of ``Layer.__call__`` (its fast path, a built
layer on one Tensor, is in :mod:`fastdl.layers.base`), the training flag that reaches the
layers called inside another layer's ``call``, and calls on symbolic tensors, which build the
layer for their shapes and record the call in a functional graph.

A call ``layer(*args, training=None, mask=None, **kwargs)`` goes through these steps:

1. every tensor or array among the arguments (nested in lists, tuples and dicts) becomes a
   Tensor: positional ones of the layer's dtype, except integer and boolean ones given to a
   layer that takes them as they are (an Embedding's token ids; a model, whose own layers
   convert its data); keyword ones keep an integer or boolean dtype (masks, indices) and
   take the layer's dtype when floating;
2. the layer is built on its first call, from the shapes of the tensor arguments
   (:mod:`fastdl.layers.signature` says how they reach ``build``), and its ``input_spec``
   checks the first argument;
3. masks carried by the tensor arguments are passed to a ``call`` that takes them
   (:mod:`fastdl.layers.masking`);
4. ``call`` runs with the training flag resolved: the one given, else the flag of the layer
   call this one runs inside (``fit`` calls the model with ``training=True``, so a Dropout
   inside a custom layer's ``call`` is active), else call's default;
5. the outputs get their masks, or, for a layer that does not support masking, a mask that
   reached it is dropped with a warning.

>>> import fastdl
>>> class Block(fastdl.layers.Layer):
...     def __init__(self):
...         super().__init__()
...         self.dropout = fastdl.layers.Dropout(0.5, seed=1)
...     def call(self, x):  # no training argument: the flag still reaches the Dropout
...         return self.dropout(x)
>>> block = Block()
>>> block(fastdl.ones(1, 4), training=True).numpy(), block(fastdl.ones(1, 4)).numpy()
(array([[2., 2., 0., 0.]], dtype=float32), array([[1., 1., 1., 1.]], dtype=float32))
"""
from __future__ import annotations

import threading
from functools import partial
from typing import Any, Optional

import numpy as np

from fastdl.autograd import no_grad
from fastdl.backend import array_library, is_gpu_array
from fastdl.layers.masking import (as_mask, mask_arguments, masks_of, set_output_masks,
                                   warn_dropped_mask)
from fastdl.layers.nested import flatten, map_shape_structure, map_structure
from fastdl.layers.signature import (argument_shapes, layer_label, shape_arguments,
                                     tensor_arguments)
from fastdl.layers.symbolic import Node, SymbolicTensor, is_symbolic
from fastdl.tensor import Tensor

__all__ = ["current_training", "call_in_context", "call_layer", "symbolic_outputs",
           "output_shapes", "plain_tensors", "check_input_spec"]


class _CallContext(threading.local):
    """The training flag of the layer calls under way in this thread (None when no call has
    set one). Each thread has its own: a model trained in one thread does not switch on the
    dropout of a model predicting in another."""

    training: Optional[bool] = None


_context = _CallContext()


def current_training() -> Optional[bool]:
    """The training flag of the layer call under way in this thread (None outside calls).

    >>> import fastdl
    >>> class Probe(fastdl.layers.Layer):
    ...     def call(self, x):
    ...         return fastdl.tensor([float(current_training())])
    >>> Probe()(fastdl.ones(1), training=True)
    tensor([1.])
    """
    return _context.training


def call_in_context(layer: Any, args: tuple, kwargs: dict, training: Optional[bool]) -> Any:
    """``layer.call(*args, **kwargs)`` with the training flag resolved, passed to call when
    it takes one, and seen by the layers called inside it."""
    outer = _context.training
    if training is None:
        training = layer._default_training if outer is None else outer
    if layer._call_takes_training:
        kwargs["training"] = training
    if training is outer:  # inside fit or predict, the flag is already the enclosing one
        return layer.call(*args, **kwargs)
    _context.training = training
    try:
        return layer.call(*args, **kwargs)
    finally:
        _context.training = outer


def _cast(tensor: Tensor, dtype: np.dtype) -> Tensor:
    cast = tensor.astype(dtype) if tensor.requires_grad else Tensor(tensor.data.astype(dtype))
    cast._keras_mask = tensor._keras_mask
    return cast


def _takes_integers(layer: Any) -> bool:
    """Whether integer and boolean data reach the layer's call as they are: for a layer that
    takes them (``layer._integer_inputs``: an Embedding's token ids), and for a call written
    outside fastdl (a user's layer), which gets them as Keras passes them (Keras converts only
    floating inputs to a layer's dtype: a Keras program's own embedding layer takes its token
    ids so). fastdl's own calls get their layer's dtype."""
    return layer._integer_inputs or not type(layer).call.__module__.startswith("fastdl.")


def _positional(layer: Any, value: Any) -> Any:
    """A leaf of a positional argument: the layer's data, a Tensor of its dtype (integer and
    boolean data as they are where :func:`_takes_integers`)."""
    if isinstance(value, Tensor):
        kind = value.data.dtype.kind
        if value.data.dtype != layer.dtype and (
                kind == "f" or kind in "iub" and not _takes_integers(layer)):
            return _cast(value, layer.dtype)
        return value
    if value is None or isinstance(value, SymbolicTensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)) or is_gpu_array(value):
        if value.dtype.kind in "iub" and _takes_integers(layer):
            return Tensor(value)
        return Tensor(value.astype(layer.dtype, copy=False))
    raise TypeError(f"{layer_label(layer)}: only tensors and arrays may be passed as positional "
                    f"arguments; pass {value!r} ({type(value).__name__}) as a keyword argument")


def _keyword(layer: Any, value: Any) -> Any:
    """A leaf of a keyword argument: tensors and arrays become Tensors, of the layer's dtype
    when floating (booleans and integers keep theirs); other values pass as they are."""
    if isinstance(value, Tensor):
        if value.data.dtype.kind == "f" and value.data.dtype != layer.dtype:
            return _cast(value, layer.dtype)
        return value
    if isinstance(value, (np.ndarray, np.generic)) or is_gpu_array(value):
        return Tensor(value.astype(layer.dtype, copy=False) if value.dtype.kind == "f"
                      else value)
    return value


def _converted(layer: Any, args: tuple, kwargs: dict) -> tuple:
    return (tuple(map_structure(partial(_positional, layer), a) for a in args),
            {key: map_structure(partial(_keyword, layer), v) for key, v in kwargs.items()})


def plain_tensors(layer: Any, args: tuple) -> bool:
    """Whether the positional arguments of a call are Tensors of the layer's dtype that carry
    no mask, given one by one or as one list or tuple: nothing to convert, bind or pass on, so
    that the call can go straight to ``call``."""
    tensors = args[0] if len(args) == 1 and args[0].__class__ in (list, tuple) else args
    return bool(tensors) and all(
        t.__class__ is Tensor and t._keras_mask is None and t.data.dtype == layer.dtype
        for t in tensors)


def check_input_spec(layer: Any, inputs: Any) -> None:
    """Checks the tensors of the first argument against ``layer.input_spec`` (one spec, or a
    list of them for a list of tensors)."""
    spec = layer.input_spec
    if spec is None:
        return
    specs = spec if isinstance(spec, (list, tuple)) else [spec]
    tensors = [t for t in flatten(inputs) if isinstance(t, (Tensor, SymbolicTensor))]
    if len(specs) != len(tensors):
        raise ValueError(f"{layer_label(layer)} expects {len(specs)} input tensor(s), received "
                         f"{len(tensors)}")
    for one, tensor in zip(specs, tensors):
        one.check(layer, tuple(tensor.shape))


def build_layer(layer: Any, tensors: dict) -> None:
    """Builds ``layer`` for its tensor arguments, on the device of the first real one."""
    if layer._device is None:
        first = next((t for t in flatten(list(tensors.values())) if isinstance(t, Tensor)), None)
        if first is not None:
            layer._device = first.device  # weights are made where the first inputs are
    signature = layer._call_signature
    shapes = argument_shapes(tensors, signature)
    # Built first: a subclassed model's build runs its call, which must not build it again.
    layer.built = True
    try:
        layer.build(**shape_arguments(layer, layer.build, shapes, signature))
    except BaseException:
        layer.built = False
        raise
    layer._build_shapes = shapes  # a summary computes output shapes from them


def _bind_and_build(layer: Any, args: tuple, kwargs: dict) -> tuple:
    """The tensor arguments of a call (by name) and its first argument, checked against the
    layer's input spec, the layer built for them on its first call."""
    signature = layer._call_signature
    arguments = signature.bind(layer, args, kwargs)
    tensors = tensor_arguments(layer, arguments)
    inputs = signature.first_argument(arguments)
    check_input_spec(layer, inputs)
    if not layer.built:
        build_layer(layer, tensors)
        check_input_spec(layer, inputs)  # build may have made the spec stricter
    return tensors, inputs


def call_layer(layer: Any, args: tuple, training: Optional[bool], mask: Any,
               kwargs: dict) -> Any:
    """``layer(*args, training=training, mask=mask, **kwargs)``, every case included."""
    if not args and not kwargs:
        raise TypeError(f"{layer_label(layer)} was called without inputs")
    if is_symbolic(args, kwargs, mask):
        if training is not None:
            kwargs["training"] = training
        if mask is not None:
            kwargs["mask"] = mask
        return call_symbolic(layer, args, kwargs)
    args, kwargs = _converted(layer, args, kwargs)
    if mask is not None:
        kwargs["mask"] = map_structure(as_mask, mask)
    signature = layer._call_signature
    tensors, inputs = _bind_and_build(layer, args, kwargs)
    kwargs.update(mask_arguments(signature, tensors, kwargs))
    previous_mask = kwargs.get("mask")
    if previous_mask is None:
        previous_mask = masks_of(inputs)
    outputs = call_in_context(layer, args, kwargs, training)
    if layer.supports_masking:
        set_output_masks(layer, inputs, outputs, previous_mask)
    elif any(m is not None for m in flatten(previous_mask)):
        warn_dropped_mask(layer)
    return outputs


# --------------------------------------------------------------------------- symbolic calls

def call_symbolic(layer: Any, args: tuple, kwargs: dict) -> Any:
    """A call on symbolic tensors: builds the layer for their shapes and returns symbolic
    outputs (as the layer structures them), made by a recorded :class:`Node`."""
    args, kwargs = _converted(layer, args, kwargs)
    given = {key: v for key, v in kwargs.items() if key != "training"}
    return Node(layer, args, kwargs).set_outputs(symbolic_outputs(layer, args, given))


def symbolic_outputs(layer: Any, args: tuple, kwargs: dict) -> Any:
    """The symbolic result of calling ``layer`` on symbolic arguments, recording nothing.

    The shapes come from the layer's own ``compute_output_shape`` when it has one, else from
    running it on one sample of zeros (at inference, without a graph); that run also gives
    the outputs' masks. Sizes the arguments leave unknown (a sequence of any length) are run
    at two values, and the output (and mask) sizes that follow them are unknown too.
    """
    signature = layer._call_signature
    tensors, _ = _bind_and_build(layer, args, kwargs)
    masked = layer._computes_mask or any(
        isinstance(t, SymbolicTensor) and t._keras_mask is not None
        for t in flatten([args, kwargs]))
    if layer._computes_output_shape:
        shapes = layer.compute_output_shape(**shape_arguments(
            layer, layer.compute_output_shape, argument_shapes(tensors, signature), signature))
        outputs = map_shape_structure(lambda s: SymbolicTensor(s, layer.dtype), shapes)
        if masked:
            for symbolic, real in zip(flatten(outputs), flatten(_zero_run(layer, args, kwargs))):
                if isinstance(symbolic, SymbolicTensor) and isinstance(real, Tensor):
                    symbolic._keras_mask = _symbolic_of(real._keras_mask)
    else:
        outputs = map_structure(_symbolic_of, _zero_run(layer, args, kwargs))
    # Sizes of the outputs (or of their masks) that the zero run made up.
    if (masked or not layer._computes_output_shape) and any(
            isinstance(t, SymbolicTensor) and None in t.shape[1:]
            for t in flatten([args, kwargs])):
        _unknown_where_sizes_follow(outputs, _zero_run(layer, args, kwargs, unknown=2))
    layer.output_shape = map_structure(
        lambda t: t.shape if isinstance(t, SymbolicTensor) else t, outputs)
    return outputs


def _one_sample(shape: tuple, unknown: int) -> tuple:
    return (1,) + tuple(unknown if d is None else d for d in shape[1:]) if shape else ()


def _zero_run(layer: Any, args: tuple, kwargs: dict, unknown: int = 1) -> Any:
    """The layer's outputs for one sample of zeros shaped like the symbolic arguments (sizes
    that are None taken as ``unknown``), masks of ones where the arguments carry masks."""
    xp = array_library(layer._device or "cpu")

    def zeros(leaf: Any) -> Any:
        if not isinstance(leaf, SymbolicTensor):
            return leaf
        tensor = Tensor(xp.zeros(_one_sample(leaf.shape, unknown), leaf.dtype))
        if leaf._keras_mask is not None:
            tensor._keras_mask = Tensor(xp.ones(_one_sample(leaf._keras_mask.shape, unknown),
                                                bool))
        return tensor

    with no_grad():
        outputs = layer(*map_structure(zeros, list(args)),
                        **{key: map_structure(zeros, v) for key, v in kwargs.items()},
                        training=False)
    for inner in layer._walk():  # the losses of zeros are no losses of the model
        inner._own_losses.clear()
    return outputs


def _unknown_where_sizes_follow(outputs: Any, other_run: Any) -> None:
    """Marks unknown (None) the sizes of the symbolic ``outputs`` that differ in the outputs
    of another run with other values for the unknown input sizes (masks included)."""
    for symbolic, real in zip(flatten(outputs), flatten(other_run)):
        while isinstance(symbolic, SymbolicTensor) and isinstance(real, Tensor):
            symbolic.shape = tuple(None if a != b else a
                                   for a, b in zip(symbolic.shape, (None,) + real.shape[1:]))
            symbolic, real = symbolic._keras_mask, real._keras_mask


def _symbolic_of(value: Any) -> Any:
    """A symbolic tensor shaped like a real output (batch axis None), with its mask."""
    if not isinstance(value, Tensor):
        return value
    symbolic = SymbolicTensor((None,) + tuple(value.shape[1:]), value.dtype)
    symbolic._keras_mask = _symbolic_of(value._keras_mask)
    return symbolic


def output_shapes(layer: Any, input_shapes: tuple, argument_shapes: dict) -> Any:
    """The output shape(s) of ``layer`` for arguments of the given shapes: positional ones
    in ``input_shapes``, keyword ones as ``<arg>_shape`` in ``argument_shapes``."""
    def symbolic(structure: Any) -> Any:
        return map_shape_structure(lambda s: SymbolicTensor(s, layer.dtype), structure)

    kwargs = {}
    for name, shape in argument_shapes.items():
        if not name.endswith("_shape"):
            raise TypeError(f"{layer_label(layer)}: compute_output_shape() takes the shapes "
                            f"of call's keyword arguments as <arg>_shape=; received {name!r}")
        kwargs[name[:-len("_shape")]] = symbolic(shape)
    outputs = symbolic_outputs(layer, tuple(symbolic(s) for s in input_shapes), kwargs)
    return map_structure(lambda t: t.shape if isinstance(t, SymbolicTensor) else t, outputs)
