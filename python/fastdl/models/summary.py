"""``model.summary()``: Keras 3's table of a model's layers and its parameter totals.

One row per layer: its name and type, output shape and parameter count; a functional model
whose graph is not a chain (several inputs or outputs, a merge, a layer called twice) adds
the column "Connected to", naming each input of each call as
``layer_name[call index][output index]``. A functional model lists its InputLayers and
orders its layers as Keras does (farthest from the outputs first, then in the order a walk
back from the outputs meets them). A model inside another is one row, or, with
``expand_nested=True``, its row followed by its own layers, indented.

>>> from fastdl import keras, layers
>>> model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, name="hidden")],
...                          name="tiny")
>>> model.summary(line_length=60)
Model: "tiny"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓
┃ Layer (type)             ┃ Output Shape      ┃   Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩
│ hidden (Dense)           │ (None, 3)         │        15 │
└──────────────────────────┴───────────────────┴───────────┘
 Total params: 15 (60.00 B)
 Trainable params: 15 (60.00 B)
 Non-trainable params: 0 (0.00 B)
"""
from __future__ import annotations

import re
import shutil
from typing import Any, Callable, Optional, Sequence

from fastdl.layers.base import Layer, Variable
from fastdl.layers.nested import map_shape_structure
from fastdl.layers.signature import shape_arguments
from fastdl.models.summary_table import box_table

__all__ = ["print_summary"]

# Keras's defaults: the longest line, and where the columns end (fractions of the line).
_CHAIN_LAYOUT = (88, [0.45, 0.80, 1.0])
_GRAPH_LAYOUT = (108, [0.3, 0.56, 0.74, 1.0])


def print_summary(model: Any, line_length: Optional[int] = None,
                  positions: Optional[Sequence[float]] = None,
                  print_fn: Optional[Callable[[str], Any]] = None, expand_nested: bool = False,
                  show_trainable: bool = False, layer_range: Optional[Sequence[str]] = None
                  ) -> None:
    """Prints the summary of ``model``, one line per call of ``print_fn`` (``print`` by
    default).

    ``line_length`` defaults to 88 characters (108 with the "Connected to" column), less
    where the terminal is narrower; ``positions`` are where the columns end, as fractions
    of the line; ``show_trainable`` adds a column telling which layers train (Y or N; - for
    a layer without weights); ``layer_range`` is a pair of patterns (regular expressions)
    matching the names of the first and last layers to list.
    """
    print_fn = print_fn or print
    layers, graph, chain = _layers_in_order(model)
    connected = not chain
    default_length, default_positions = _GRAPH_LAYOUT if connected else _CHAIN_LAYOUT
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected
                                                             else [])
    alignments = ["left", "left", "right"] + (["left"] if connected else [])
    if show_trainable:
        default_length += 12
        default_positions = [p * 0.9 for p in default_positions] + [1.0]
        header.append("Trainable")
        alignments.append("center")
    if line_length is None:
        line_length = min(default_length, shutil.get_terminal_size().columns - 4)
    rows: list[list[str]] = []
    for layer in _in_range(model, layers, layer_range):
        rows += _rows(layer, graph if connected else None, show_trainable, expand_nested, 0)
    lines = [f'Model: "{model.name}"',
             *box_table(header, alignments, positions or default_positions, line_length, rows)]
    trainable, frozen = model.trainable_weights, model.non_trainable_weights
    lines += [f" Total params: {_count(trainable + frozen)}",
              f" Trainable params: {_count(trainable)}",
              f" Non-trainable params: {_count(frozen)}"]
    for line in lines:
        print_fn(line)


# --------------------------------------------------------------------------- which layers

def _layers_in_order(model: Any) -> tuple[list[Layer], Optional[set], bool]:
    """The layers to list; for a functional model, the ids of its graph's nodes; and
    whether the model is a chain of calls (Keras then leaves out "Connected to").

    A functional model's layers come in Keras's order: by depth (the longest path from the
    layer to an output), deepest first, then in the order a depth-first walk from the
    outputs (each call's inputs in order) first meets them. Its graph is a chain when no
    two calls are at the same depth, each call takes one tensor and no layer is called
    twice."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        return list(model.layers), None, True
    _, outputs, _, nodes = graph
    in_graph = {id(node) for node in nodes}
    depth = _depths(nodes, in_graph)
    layer_depth: dict[int, int] = {}
    for node in nodes:
        layer_depth[id(node.layer)] = max(layer_depth.get(id(node.layer), 0), depth[id(node)])
    met = _first_met(outputs, in_graph)
    layers = sorted(model.layers, key=lambda layer: (-layer_depth[id(layer)], met[id(layer)]))
    chain = (len(set(depth.values())) == len(nodes) == len(layers)
             and all(len(node.inputs) <= 1 for node in nodes))
    return layers, in_graph, chain


def _depths(nodes: list, in_graph: set) -> dict[int, int]:
    """Each call's depth (by node id): 0 for the outputs' calls, else one more than the
    deepest call that takes its outputs. ``nodes`` come each after the calls feeding it."""
    depth: dict[int, int] = {}
    for node in reversed(nodes):  # consumers before the calls that feed them
        below = depth.setdefault(id(node), 0) + 1
        for tensor in node.inputs:
            if id(tensor.node) in in_graph:
                depth[id(tensor.node)] = max(depth.get(id(tensor.node), 0), below)
    return depth


def _first_met(outputs: list, in_graph: set) -> dict[int, int]:
    """Each layer's rank (by layer id) in a depth-first walk from the outputs."""
    met: dict[int, int] = {}
    seen: set[int] = set()
    stack = [t.node for t in reversed(outputs)]
    while stack:
        node = stack.pop()
        if id(node) in seen or id(node) not in in_graph:
            continue
        seen.add(id(node))
        met.setdefault(id(node.layer), len(met))
        stack += [t.node for t in reversed(node.inputs)]
    return met


def _in_range(model: Any, layers: list[Layer], layer_range: Optional[Sequence[str]]) -> list:
    if layer_range is None:
        return layers
    if len(layer_range) != 2:
        raise ValueError(f"summary of model {model.name!r}: layer_range must be a pair of "
                         f"layer names (or patterns), received {layer_range!r}")
    first = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    last = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not first or not last:
        raise ValueError(f"summary of model {model.name!r}: no layer matches "
                         f"{layer_range[0] if not first else layer_range[1]!r}; layers: "
                         f"{', '.join(layer.name for layer in layers)}")
    return layers[min(first):max(last) + 1]


# --------------------------------------------------------------------------- one layer

def _rows(layer: Layer, graph: Optional[set], show_trainable: bool, expand_nested: bool,
          level: int) -> list[list[str]]:
    prefix = "   " * level + "└ " if level else ""
    row = [f"{prefix}{layer.name} ({type(layer).__name__})", _output_shape_text(layer),
           _params_text(layer)]
    if graph is not None:
        row.append(_connections(layer, graph))
    if show_trainable:
        row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
    rows = [row]
    if expand_nested and getattr(layer, "layers", None):
        for inner in layer.layers:
            rows += _rows(inner, graph, show_trainable, expand_nested, level + 1)
    return rows


def _params_text(layer: Layer) -> str:
    try:
        return f"{layer.count_params():,}"
    except ValueError:  # not built: its weights do not exist yet
        return "0 (unbuilt)"


def _output_shape_text(layer: Layer) -> str:
    shape = layer.output_shape
    if shape is None:
        shape = _shape_from_build(layer)
    if shape is None:
        return "?"
    text = map_shape_structure(
        lambda s: "(" + ", ".join("None" if d is None else str(d) for d in s) + ")", shape)
    return text if isinstance(text, str) else str(text).replace("'", "")


def _shape_from_build(layer: Layer) -> Any:
    """The output shape of a layer built by a call on data (never on symbolic tensors),
    computed from the shapes it was built for."""
    shapes = getattr(layer, "_build_shapes", None)
    if not layer.built or shapes is None:
        return None
    method = layer.compute_output_shape
    if layer._computes_output_shape:  # the layer's own: its arguments as it names them
        shapes = shape_arguments(layer, method, shapes, layer._call_signature)
    try:
        return method(**shapes)
    except (ValueError, TypeError, NotImplementedError):
        return None


def _connections(layer: Layer, graph: set) -> str:
    """``name[call][output]`` for each input of each call of ``layer`` in the graph."""
    names = []
    for node in layer._inbound_nodes:
        if id(node) in graph:
            for tensor in node.inputs:
                source = tensor.node
                names.append(f"{source.layer.name}[{source.layer._inbound_nodes.index(source)}]"
                             f"[{source.outputs.index(tensor)}]")
    return ", ".join(names) or "-"


# --------------------------------------------------------------------------- totals

def _count(weights: list[Variable]) -> str:
    unique = list({id(v): v for v in weights}.values())
    size: float = sum(v.data.nbytes for v in unique)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024:
            break
        size /= 1024
    return f"{sum(v.data.size for v in unique):,} ({size:.2f} {unit})"
