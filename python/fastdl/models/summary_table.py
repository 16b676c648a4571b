"""The box-drawn table of ``model.summary()``, laid out as Keras 3 lays out its table.

Column ``i`` is given the share ``positions[i] - positions[i - 1]`` of ``line_length``; each
cell has one space of padding on either side and columns are separated by rules, so the
table would be wider than ``line_length`` by the padding and the rules: that excess is taken
back evenly from the columns. Cell text wraps at spaces; a word longer than its column is
cut with an ellipsis.

>>> for line in box_table(["Layer (type)", "Param #"], ["left", "right"], [0.6, 1.0], 30,
...                       [["dense (Dense)", "15"]]):
...     print(line)
┏━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓
┃ Layer (type)   ┃   Param # ┃
┡━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩
│ dense (Dense)  │        15 │
└────────────────┴───────────┘
"""
from __future__ import annotations

import textwrap
from typing import Sequence

__all__ = ["box_table", "column_widths"]


def column_widths(positions: Sequence[float], line_length: int) -> list[int]:
    """The width of the text in each column, so that the table is ``line_length`` wide.

    >>> column_widths([0.45, 0.80, 1.0], 76)  # the text widths of Keras's default table
    [31, 22, 13]
    """
    shares, done = [], 0
    for position in positions:
        share = int(position * line_length) - done
        if share < 4:
            raise ValueError(f"summary: line_length={line_length} is too narrow for the "
                             f"column positions {list(positions)}")
        shares.append(share)
        done += share
    padded = [share + 2 for share in shares]
    excess = sum(padded) + len(padded) + 1 - line_length  # + the rules between columns
    widths = []
    for i, width in enumerate(padded):
        cut = round(excess / (len(padded) - i))
        excess -= cut
        widths.append(width - cut - 2)
    return widths


def _wrapped(text: str, width: int) -> list[str]:
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]
    return [line if len(line) <= width else line[:width - 1] + "…" for line in lines]


def _aligned(text: str, width: int, alignment: str) -> str:
    if alignment == "right":
        return text.rjust(width)
    return text.center(width) if alignment == "center" else text.ljust(width)


def _rule(left: str, fill: str, middle: str, right: str, widths: list[int]) -> str:
    return left + middle.join(fill * (width + 2) for width in widths) + right


def _cells(cells: Sequence[str], widths: list[int], alignments: Sequence[str], wall: str,
           bottom: bool = False) -> list[str]:
    """The lines of one row: each cell wrapped in its column, the row as tall as its
    tallest cell, shorter cells at its top (at its bottom for the header)."""
    columns = [_wrapped(cell, width) for cell, width in zip(cells, widths)]
    height = max(len(lines) for lines in columns)
    columns = [[""] * (height - len(lines)) + lines if bottom else
               lines + [""] * (height - len(lines)) for lines in columns]
    return [wall + wall.join(" " + _aligned(lines[row], width, alignment) + " "
                             for lines, width, alignment in zip(columns, widths, alignments))
            + wall for row in range(height)]


def box_table(header: Sequence[str], alignments: Sequence[str], positions: Sequence[float],
              line_length: int, rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a table with ``header`` and ``rows`` (one string per column),
    ``alignments`` 'left', 'right' or 'center', and columns ending at ``positions``
    (fractions of ``line_length``)."""
    if len(positions) != len(header):
        raise ValueError(f"summary: {len(header)} columns ({', '.join(header)}) need "
                         f"{len(header)} positions, received {list(positions)}")
    widths = column_widths(positions, line_length)
    lines = [_rule("┏", "━", "┳", "┓", widths),
             *_cells(header, widths, alignments, "┃", bottom=True),
             _rule("┡", "━", "╇", "┩", widths)]
    for i, row in enumerate(rows):
        if i:
            lines.append(_rule("├", "─", "┼", "┤", widths))
        lines += _cells(row, widths, alignments, "│")
    lines.append(_rule("└", "─", "┴", "┘", widths))
    return lines
