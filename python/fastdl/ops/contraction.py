"""Sums of products over chosen axes: tensordot and dot as transposes and reshapes around
fastdl's GEMM (:func:`~fastdl.ops.matmul`), and einsum on the array library, with NumPy's and
Keras's semantics.

>>> import fastdl
>>> a = fastdl.ones(2, 3, requires_grad=True)
>>> fastdl.ops.einsum("ij,jk->ik", a, fastdl.ones(3, 4)).shape
(2, 4)
>>> fastdl.ops.tensordot(a, fastdl.ones(3, 4), axes=1).shape
(2, 4)
"""
from __future__ import annotations

import string
from collections import Counter
from typing import Any, Sequence, Union

import numpy as np

from fastdl.autograd import Function
from fastdl.backend import array_module
from fastdl.backend.geometry import axis_index
from fastdl.ops.arithmetic import Mul
from fastdl.ops.common import array_module_of, operand
from fastdl.ops.products import MatMul
from fastdl.ops.shaping import Reshape, Transpose
from fastdl.tensor import Tensor

# --------------------------------------------------------------------------- tensordot, dot


def _axes_pair(axes: Any, ndim1: int, ndim2: int) -> tuple:
    """tensordot's ``axes`` (a count, or two axes or sequences of axes) as two tuples of
    non-negative axes of equal length."""
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(ndim1, ndim2):
            raise ValueError(f"tensordot: axes={axes} is out of range for operands of "
                             f"{ndim1} and {ndim2} dimensions")
        return tuple(range(ndim1 - axes, ndim1)), tuple(range(axes))
    if len(axes) != 2:
        raise ValueError(f"tensordot: axes must be an int or a pair of axis lists; got {axes}")
    first, second = ((a,) if isinstance(a, (int, np.integer)) else tuple(a) for a in axes)
    if len(first) != len(second):
        raise ValueError(f"tensordot: {len(first)} axes of x1 against {len(second)} of x2")
    return (tuple(axis_index("tensordot", ndim1, a) for a in first),
            tuple(axis_index("tensordot", ndim2, a) for a in second))


def _as_matrix(x: Any, rows: tuple, columns: tuple) -> Any:
    """``x`` with the axes ``rows`` then ``columns``, merged into a matrix."""
    order = rows + columns
    if order != tuple(range(len(order))):
        x = Transpose.apply(x, axes=order)
    shape = tuple(x.shape)
    split = len(rows)
    return Reshape.apply(x, shape=(int(np.prod(shape[:split])), int(np.prod(shape[split:]))))


def tensordot(x1: Any, x2: Any, axes: Union[int, Sequence] = 2) -> Tensor:
    """The sum of products over the last ``axes`` axes of ``x1`` and the first ``axes`` of
    ``x2``, or over the axes given as a pair (``([1], [0])``, ``(1, 0)``); the remaining axes
    of ``x1`` then those of ``x2`` make the result. One GEMM does the work.

    >>> import fastdl
    >>> a = fastdl.reshape(fastdl.arange(6).astype("float32"), (2, 3))
    >>> fastdl.ops.tensordot(a, a)
    tensor(55.)
    >>> fastdl.ops.tensordot(a, a, axes=([0], [0])).shape
    (3, 3)
    """
    a, b = operand(x1), operand(x2)
    summed_a, summed_b = _axes_pair(axes, a.ndim, b.ndim)
    for i, j in zip(summed_a, summed_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: axis {i} of x1 (shape {tuple(a.shape)}) and axis {j} "
                             f"of x2 (shape {tuple(b.shape)}) differ in size")
    kept_a = tuple(i for i in range(a.ndim) if i not in summed_a)
    kept_b = tuple(j for j in range(b.ndim) if j not in summed_b)
    product = MatMul.apply(_as_matrix(a, kept_a, summed_a), _as_matrix(b, summed_b, kept_b))
    shape = tuple(a.shape[i] for i in kept_a) + tuple(b.shape[j] for j in kept_b)
    return Reshape.apply(product, shape=shape)


def dot(x1: Any, x2: Any) -> Tensor:
    """NumPy's ``dot``: a scalar times a tensor; the inner product of vectors; otherwise the
    sum over the last axis of ``x1`` and the second-to-last of ``x2`` (its only one if 1-D).

    >>> import fastdl
    >>> fastdl.ops.dot([1.0, 2.0], [3.0, 4.0])
    tensor(11.)
    >>> fastdl.ops.dot(fastdl.ones(2, 3, 4), fastdl.ones(5, 4, 6)).shape
    (2, 3, 5, 6)
    """
    a, b = operand(x1), operand(x2)
    if a.ndim == 0 or b.ndim == 0:
        return Mul.apply(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [max(b.ndim - 2, 0)]))


# --------------------------------------------------------------------------- einsum


def _explicit(subscripts: str, shapes: Sequence[tuple]) -> tuple:
    """einsum's ``subscripts`` with ellipses spelled out as letters and the output written
    (implicit mode: the ellipsis axes, then the letters used once, in alphabetical order), as
    (input terms, output term)."""
    inputs, arrow, output = subscripts.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(terms)} operands; "
                         f"{len(shapes)} given")
    for term, shape in zip(terms, shapes):
        if len(term.replace("...", "")) > len(shape):
            raise ValueError(f"einsum: the subscripts {term!r} name more axes than the operand "
                             f"of shape {shape} has")
    spare = [c for c in string.ascii_letters if c not in subscripts]
    broadcast = max((len(shape) - len(term.replace("...", ""))
                     for term, shape in zip(terms, shapes) if "..." in term), default=0)
    ellipsis = "".join(spare[:broadcast])

    def spelled(term: str, ndim: int) -> str:
        hidden = ndim - len(term.replace("...", ""))
        return term.replace("...", ellipsis[len(ellipsis) - hidden:] if hidden else "")

    terms = [spelled(term, len(shape)) for term, shape in zip(terms, shapes)]
    if arrow:
        return terms, output.replace("...", ellipsis)
    counts = Counter("".join(terms))
    return terms, ellipsis + "".join(sorted(c for c, n in counts.items()
                                            if n == 1 and c not in ellipsis))


def _fit(grad: Any, shape: tuple) -> Any:
    """An operand's gradient brought to its shape: summed where the operand broadcast (size 1
    against larger sizes of the others), broadcast where the others did."""
    xp = array_module(grad)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad if grad.shape == shape else xp.broadcast_to(grad, shape).copy()


class Einsum(Function):
    """einsum over explicit subscripts (no ellipsis). The gradient of each operand is another
    einsum, of the output's gradient and the other operands; letters summed over in that
    operand alone broadcast back, and a letter repeated in it (a diagonal) is put back on the
    diagonal by identity matrices."""

    @staticmethod
    def forward(ctx, *arrays, terms, output):
        if ctx.requires_grad:
            ctx.arrays, ctx.terms, ctx.output = arrays, terms, output
        subscripts = ",".join(terms) + "->" + output
        return array_module_of(*arrays).einsum(subscripts, *arrays, optimize=True)

    @staticmethod
    def backward(ctx, grad):
        return tuple(Einsum.operand_gradient(ctx, i, grad) if ctx.needs_grad(i) else None
                     for i in range(len(ctx.arrays)))

    @staticmethod
    def operand_gradient(ctx, i: int, grad: Any) -> Any:
        xp = array_module(grad)
        arrays, terms, term = ctx.arrays, ctx.terms, ctx.terms[i]
        others = [t for j, t in enumerate(terms) if j != i] + [ctx.output]
        known = set("".join(others))
        letters = "".join(dict.fromkeys(term))  # each letter once, in order
        found = "".join(c for c in letters if c in known)
        g = xp.einsum(",".join(others) + "->" + found,
                      *[a for j, a in enumerate(arrays) if j != i], grad, optimize=True)
        # Letters summed in this operand alone: size 1 here, broadcast to the operand's size.
        size = {c: arrays[i].shape[term.index(c)] for c in letters}
        g = g.reshape(tuple(g.shape[found.index(c)] if c in found else 1 for c in letters))
        g = xp.broadcast_to(g, tuple(g.shape[k] if c in found else size[c]
                                     for k, c in enumerate(letters)))
        if len(letters) < len(term):
            g = Einsum.onto_diagonals(g, letters, term, size)
        return _fit(g, arrays[i].shape).astype(arrays[i].dtype, copy=False)

    @staticmethod
    def onto_diagonals(g: Any, letters: str, term: str, size: dict) -> Any:
        """``g`` over the distinct ``letters`` spread over ``term``, where some letters repeat:
        each repeat gets a fresh letter tied to the first by an identity matrix."""
        xp = array_module(g)
        spare = iter(c for c in string.ascii_letters if c not in term)
        seen, spread, ties = set(), "", []
        for c in term:
            if c in seen:
                fresh = next(spare)
                spread += fresh
                ties.append((c + fresh, xp.eye(size[c], dtype=g.dtype)))
            else:
                seen.add(c)
                spread += c
        subscripts = ",".join([letters] + [tie for tie, _ in ties]) + "->" + spread
        return xp.einsum(subscripts, g, *[eye for _, eye in ties])


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """The Einstein summation of ``operands`` as ``subscripts`` say, with NumPy's rules:
    ellipses, implicit output (the letters used once, alphabetically), repeated letters
    (diagonals, traces), broadcasting; differentiable with respect to every operand.

    >>> import fastdl
    >>> fastdl.ops.einsum("ii", fastdl.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(5.)
    >>> fastdl.ops.einsum("...i,i->...", fastdl.ones(2, 3), [1.0, 2.0, 3.0])
    tensor([6., 6.])
    """
    arrays = [operand(x) for x in operands]
    terms, output = _explicit(subscripts, [tuple(a.shape) for a in arrays])
    try:
        return Einsum.apply(*arrays, terms=terms, output=output)
    except ValueError as e:
        shapes = [tuple(a.shape) for a in arrays]
        raise ValueError(f"einsum: {subscripts!r} does not fit operands of shapes {shapes}: "
                         f"{e}") from None
