"""``model.summary()``: a table of layers, output shapes and parameter counts."""
from __future__ import annotations

from typing import Any, Callable

from fastdl.layers.base import Layer
from fastdl.layers.nested import is_shape


def _shape_text(shape: Any) -> str:
    """One shape, or the shapes of a layer with several outputs (nested), as text."""
    if shape is None:
        return "?"
    if not is_shape(shape):
        return ", ".join(_shape_text(s) for s in (shape.values() if isinstance(shape, dict)
                                                  else shape))
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _row(cells: list[str], widths: list[int]) -> str:
    return "".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()


def print_summary(model: Any, print_fn: Callable[[str], Any], line_length: int = 72) -> None:
    """Prints the table of ``model``'s layers (nested models as one row each)."""
    widths = [int(line_length * 0.45), int(line_length * 0.33), 0]
    widths[2] = line_length - widths[0] - widths[1]
    layers: list[Layer] = model.layers
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(_row(["Layer (type)", "Output Shape", "Param #"], widths))
    print_fn("=" * line_length)
    for i, layer in enumerate(layers):
        label = f"{layer.name} ({type(layer).__name__})"
        print_fn(_row([label, _shape_text(layer.output_shape), f"{layer.count_params():,}"],
                      widths))
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)
    trainable = sum(v.data.size for v in model.trainable_weights)
    total = model.count_params()
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)
