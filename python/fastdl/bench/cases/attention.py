"""Scaled dot-product attention, forward and forward+backward (the gradients of query, key and
value), causal and not, float32, at the shapes the table of operation cases gives it
(fastdl.testing.op_cases.attention: B8 H8 T512 D64, B1 H8 T2048 D64 causal, B4 H4 T64 D32).

* ``fastdl``: ``fastdl.backend.cpu.attention_forward`` / ``attention_backward``, the fused
  kernels ``ops.dot_product_attention`` runs (tiles, online softmax, nothing of T x S held).
* ``numpy``: the whole matrix of scores in NumPy (``fastdl.backend.dense_attention``, the
  arithmetic the kernels are tested against).
* ``torch``: ``torch.nn.functional.scaled_dot_product_attention`` on (B, N, T, D) tensors made
  contiguous beforehand, forward under ``no_grad``, forward+backward through autograd.

GFLOP/s counts the products: ``4 B N T S D`` forward (``2 B N T S D`` each for q k^T and p v;
half of it when causal and T = S), and 2.5 times that forward+backward (the scores again, and
four products).

:func:`peak_memory` measures, in a fresh process per library, how much the peak resident memory
grows during one causal forward+backward at B1 H8 T4096 D64, beside what one T x T matrix of
scores per head would take.
"""
from __future__ import annotations

import subprocess
import sys
from typing import Any, Callable, Optional

import numpy as np

import fastdl.backend.cpu as cpu
from fastdl.backend import dense_attention
from fastdl.bench.harness import Case, Context, Impls, require
from fastdl.testing import op_cases

FAMILY = "attention"


def _label(batch: int, q_len: int, kv_len: int, heads: int, dim: int) -> str:
    length = f"T{q_len}" if q_len == kv_len else f"T{q_len} S{kv_len}"
    return f"B{batch} H{heads} {length} D{dim}"


def _torch_impl(torch: Any, q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float,
                causal: bool, grad: Optional[np.ndarray]) -> Callable[[], Any]:
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def heads_first(a: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 2, 1, 3)))

    tq, tk, tv = heads_first(q), heads_first(k), heads_first(v)
    if grad is None:
        def forward():
            with torch.no_grad():
                return sdpa(tq, tk, tv, is_causal=causal, scale=scale).transpose(1, 2)
        return forward
    tg = heads_first(grad)

    def step():
        leaves = [t.detach().requires_grad_() for t in (tq, tk, tv)]
        out = sdpa(*leaves, is_causal=causal, scale=scale)
        grads = torch.autograd.grad(out, leaves, tg)
        return (out.detach().transpose(1, 2), *(g.transpose(1, 2) for g in grads))
    return step


def attention_case(shapes: tuple, causal: bool, backward: bool) -> Case:
    (batch, q_len, heads, dim), (_, kv_len, _, _), _ = shapes

    def setup(ctx: Context) -> Impls:
        forward, backward_kernel = (require(cpu, "attention_forward"),
                                    require(cpu, "attention_backward"))
        q, k, v = (ctx.rng.standard_normal(shape, dtype=np.float32) for shape in shapes)
        scale = 1.0 / np.sqrt(dim)
        grad = ctx.rng.standard_normal(q.shape[:3] + (v.shape[3],), dtype=np.float32)

        def fastdl_step():
            out, lse = forward(q, k, v, None, None, scale, causal)
            if not backward:
                return out
            return (out, *backward_kernel(q, k, v, None, None, scale, causal, out, lse, grad,
                                          False)[:3])

        def numpy_step():
            out, lse = dense_attention.attention_forward(np, q, k, v, None, None, scale, causal)
            if not backward:
                return out
            return (out, *dense_attention.attention_backward(np, q, k, v, None, None, scale,
                                                             causal, out, lse, grad, False)[:3])

        impls: Impls = {"fastdl": fastdl_step, "numpy": numpy_step}
        if ctx.torch is not None:
            impls["torch"] = _torch_impl(ctx.torch, q, k, v, scale, causal,
                                         grad if backward else None)
        return impls

    products = 4.0 * batch * heads * q_len * kv_len * dim
    if causal and q_len == kv_len:
        products /= 2
    name = f"attention{' causal' if causal else ''} {'fwd+bwd' if backward else 'fwd'}"
    return Case(FAMILY, name, _label(batch, q_len, kv_len, heads, dim), setup,
                flops=products * (2.5 if backward else 1.0), rtol=1e-3, atol=1e-4,
                quick=batch * heads * q_len * kv_len <= 1 << 22)


def cases() -> list[Case]:
    """Every attention case, in report order, at the table's shapes."""
    out = []
    for backward in (False, True):
        for row, causal in (("dot_product_attention", False),
                            ("dot_product_attention(is_causal=True)", True)):
            for bench in op_cases.case_named(row).bench:
                out.append(attention_case(bench.shapes, causal, backward))
    return out


#: The shape :func:`peak_memory` measures at: (batch, length, heads, head dim).
MEMORY_SHAPE = (1, 4096, 8, 64)

_MEMORY_SCRIPT = """
import resource, sys
import numpy as np
library, shape = sys.argv[1], tuple(int(d) for d in sys.argv[2:])
rng = np.random.default_rng(0)
q, k, v, g = (rng.standard_normal(shape, dtype=np.float32) for _ in range(4))
scale = 1.0 / shape[3] ** 0.5
if library == "torch":
    import torch
    q, k, v, g = (torch.from_numpy(np.ascontiguousarray(a.transpose(0, 2, 1, 3)))
                  for a in (q, k, v, g))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    leaves = [t.requires_grad_() for t in (q, k, v)]
    out = torch.nn.functional.scaled_dot_product_attention(*leaves, is_causal=True, scale=scale)
    torch.autograd.grad(out, leaves, g)
else:
    from fastdl.backend import cpu
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out, lse = cpu.attention_forward(q, k, v, None, None, scale, True)
    cpu.attention_backward(q, k, v, None, None, scale, True, out, lse, g, False)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def peak_memory(libraries: tuple = ("fastdl", "torch"),
                shape: tuple = MEMORY_SHAPE) -> dict[str, float]:
    """MiB by which each library's peak resident memory grows during one causal forward and
    backward of attention at ``shape`` (B, T, N, D), each in a fresh process (the peak of a
    process only grows); a library that cannot run is left out.

    >>> sizes = peak_memory(("fastdl",), (1, 256, 2, 16))
    >>> 0 <= sizes["fastdl"] < 64
    True
    """
    sizes = {}
    for library in libraries:
        done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, library,
                               *map(str, shape)], capture_output=True, text=True)
        if done.returncode == 0:
            sizes[library] = float(done.stdout.strip().splitlines()[-1])
    return sizes


def peak_memory_lines(sizes: dict[str, float], shape: tuple = MEMORY_SHAPE) -> list[str]:
    """The report's lines for :func:`peak_memory`'s ``sizes``."""
    batch, length, heads, dim = shape
    whole = batch * heads * length * length * 4 / 2**20
    lines = [f"attention memory, causal forward+backward B{batch} H{heads} T{length} D{dim}: "
             f"peak resident memory growth (one T x T float32 matrix per head: {whole:.0f} MiB)"]
    lines += [f"  {library:7s} {mib:8.1f} MiB" for library, mib in sizes.items()]
    return lines
