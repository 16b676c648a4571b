"""Benchmark case definitions, one module per kernel family.

Each module has ``FAMILY`` and ``cases()``, returning :class:`fastdl.bench.harness.Case` objects
in the order they are reported. Building the list is cheap: inputs are only made when a case
runs.
"""
from __future__ import annotations

from typing import Callable

from fastdl.bench.cases import (activation, attention, conv, matmul, norm, optim, overhead,
                                pool, rnn, softmax)
from fastdl.bench.harness import Case

#: Family name -> function listing its cases, in the order ``python -m fastdl.bench`` runs them.
FAMILIES: dict[str, Callable[[], list[Case]]] = {
    matmul.FAMILY: matmul.cases,
    activation.FAMILY: activation.cases,
    softmax.FAMILY: softmax.cases,
    conv.FAMILY: conv.cases,
    pool.FAMILY: pool.cases,
    overhead.FAMILY: overhead.cases,
    optim.FAMILY: optim.cases,
    rnn.FAMILY: rnn.cases,
    norm.FAMILY: norm.cases,
    attention.FAMILY: attention.cases,
}


def select(families: list[str], quick: bool = False, filter_text: str = "") -> list[Case]:
    """The cases of ``families``; ``quick`` keeps the smaller ones, ``filter_text`` those whose
    name or shape contains it (case-insensitive)."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown benchmark family {unknown[0]!r}; choose from {list(FAMILIES)}")
    needle = filter_text.lower()
    return [
        case
        for family in families
        for case in FAMILIES[family]()
        if (case.quick or not quick) and needle in case.label.lower()
    ]
