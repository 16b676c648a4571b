"""Multi-head attention (Keras 3's ``MultiHeadAttention``) on the fused attention kernel."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from fastdl import ops
from fastdl.layers.base import Layer
from fastdl.layers.core import Dropout
from fastdl.layers.signature import layer_label
from fastdl.ops.products import linear
from fastdl.tensor import Tensor

__all__ = ["MultiHeadAttention"]


class _HeadsProjection(Layer):
    """One of MultiHeadAttention's projections, with Keras's weights: the query, key and value
    projections map the last axis to (heads, dim) with a kernel (features, heads, dim) and a
    bias (heads, dim); the output projection maps (heads, dim) back with a kernel (heads, dim,
    features) and a bias (features,). Either way one product with the kernel seen as a matrix
    (and its bias) on the kernels' GEMM. Masks pass through (MultiHeadAttention reads them)."""

    supports_masking = True

    def __init__(self, kernel_shape: tuple, use_bias: bool, kernel_initializer: Any,
                 bias_initializer: Any, to_heads: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kernel_shape, self._use_bias, self._to_heads = kernel_shape, use_bias, to_heads
        self._initializers = (kernel_initializer, bias_initializer)

    def build(self, input_shape=None):
        kernel_init, bias_init = self._initializers
        self.kernel = self.add_weight(name="kernel", shape=self._kernel_shape,
                                      initializer=kernel_init)
        bias_shape = self._kernel_shape[1:] if self._to_heads else self._kernel_shape[-1:]
        self.bias = (self.add_weight(name="bias", shape=bias_shape, initializer=bias_init)
                     if self._use_bias else None)

    def call(self, inputs: Tensor) -> Tensor:
        shape = tuple(inputs.shape)
        split = 1 if self._to_heads else 2  # the kernel's input axes
        fan_in = math.prod(self._kernel_shape[:split])
        fan_out = math.prod(self._kernel_shape[split:])
        lead = shape[:len(shape) - split]
        rows = ops.reshape(inputs, (-1, fan_in))
        bias = None if self.bias is None else ops.reshape(self.bias, (fan_out,))
        out = linear(rows, ops.reshape(self.kernel, (fan_in, fan_out)), bias)
        return ops.reshape(out, lead + self._kernel_shape[split:])


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"MultiHeadAttention: {name} must be a positive integer; received "
                         f"{name}={value!r}")
    return int(value)


class MultiHeadAttention(Layer):
    """Keras 3's multi-head attention: the query, key and value projected to ``num_heads`` heads
    (``key_dim`` wide for the query and key, ``value_dim`` for the value), scaled dot-product
    attention per head on the fused kernel (``ops.dot_product_attention``), and the heads
    projected back to the query's last axis (or ``output_shape``). Keras's weights in Keras's
    order: the query, key, value and output projections' kernels (``(features, heads, dim)``;
    the output's ``(heads, value_dim, features)``) and biases.

    Called as ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)``: the masks the inputs carry (an ``Embedding`` with
    ``mask_zero``) restrict it as Keras's do, and the output carries the query's. Dropout on the
    attention probabilities (``dropout`` > 0 while training) and ``return_attention_scores``
    (``(batch, heads, query length, key length)``) hold the whole matrix of scores; every other
    call never does. Inputs of more than three axes attend over all their middle axes at once
    (Keras's default ``attention_axes``). A query position that may attend to no key gives
    zeros before the output projection (Keras attends to every key equally there).

    >>> import fastdl
    >>> layer = fastdl.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = fastdl.randn(3, 5, 8)
    >>> layer(x, x, use_causal_mask=True).shape
    (3, 5, 8)
    >>> [tuple(w.shape) for w in layer.weights]
    [(8, 2, 4), (2, 4), (8, 2, 4), (2, 4), (8, 2, 4), (2, 4), (2, 4, 8), (8,)]
    """

    supports_masking = True

    def __init__(self, num_heads: int, key_dim: int, value_dim: Optional[int] = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Any = None,
                 attention_axes: Any = None, sliding_window: Optional[int] = None,
                 flash_attention: Optional[bool] = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, use_gate: bool = False, seed: Optional[int] = None,
                 **kwargs: Any) -> None:
        unavailable = {"sliding_window": sliding_window, "kernel_regularizer": kernel_regularizer,
                       "bias_regularizer": bias_regularizer,
                       "activity_regularizer": activity_regularizer,
                       "kernel_constraint": kernel_constraint, "bias_constraint": bias_constraint}
        for name, value in unavailable.items():
            if value is not None:
                raise NotImplementedError(f"MultiHeadAttention: {name} is not available in "
                                          f"fastdl; received {name}={value!r} (leave it None)")
        if use_gate:
            raise NotImplementedError("MultiHeadAttention: use_gate is not available in fastdl")
        super().__init__(**kwargs)
        self.num_heads = _positive_int("num_heads", num_heads)
        self.key_dim = _positive_int("key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else _positive_int("value_dim",
                                                                               value_dim)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1); received {dropout}")
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        self._dropout_layer = Dropout(self.dropout, seed=seed) if self.dropout > 0 else None
        if output_shape is not None:
            output_shape = ((int(output_shape),) if isinstance(output_shape, (int, np.integer))
                            else tuple(int(d) for d in output_shape))
        self._output_shape = output_shape
        self.attention_axes = attention_axes
        self.flash_attention = flash_attention
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def _projection(self, name: str, kernel_shape: tuple, to_heads: bool) -> _HeadsProjection:
        return _HeadsProjection(kernel_shape, self.use_bias, self.kernel_initializer,
                                self.bias_initializer, to_heads, name=name)

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{layer_label(self)}: all dimensions of value and key but the "
                             f"last must be equal; received value_shape={tuple(value_shape)} "
                             f"and key_shape={tuple(key_shape)}")
        rank = len(query_shape)
        if self.attention_axes is not None:
            given = (self.attention_axes if isinstance(self.attention_axes, (list, tuple))
                     else (self.attention_axes,))
            if sorted(int(a) % rank for a in given) != list(range(1, rank - 1)):
                raise NotImplementedError(
                    f"{layer_label(self)}: attention_axes={self.attention_axes!r} on inputs of "
                    f"rank {rank}: fastdl attends over all the axes between the batch and the "
                    f"features (the default, attention_axes=None)")
        heads, out = self.num_heads, self._output_shape or (query_shape[-1],)
        self.query_dense = self._projection("query", (query_shape[-1], heads, self.key_dim),
                                            True)
        self.key_dense = self._projection("key", (key_shape[-1], heads, self.key_dim), True)
        self.value_dense = self._projection("value", (value_shape[-1], heads, self.value_dim),
                                            True)
        self.output_dense = self._projection("attention_output",
                                             (heads, self.value_dim) + tuple(out), False)
        for projection in (self.query_dense, self.key_dense, self.value_dense,
                           self.output_dense):
            projection.build()

    def call(self, query: Tensor, value: Tensor, key: Optional[Tensor] = None,
             query_mask: Any = None, value_mask: Any = None, key_mask: Any = None,
             attention_mask: Any = None, return_attention_scores: bool = False,
             training: Optional[bool] = None, use_causal_mask: bool = False) -> Any:
        query_mask = getattr(query, "_keras_mask", None) if query_mask is None else query_mask
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key is not None and key is not value and key_mask is None:
            key_mask = getattr(key, "_keras_mask", None)
        key = value if key is None else key
        q = self._flat_positions(self.query_dense(query))
        k = self._flat_positions(self.key_dense(key))
        v = self._flat_positions(self.value_dense(value))
        mask = self._attention_mask(q.shape[1], k.shape[1], query_mask, value_mask, key_mask,
                                    attention_mask, use_causal_mask)
        drop = self.dropout > 0.0 and bool(training)
        scores = None
        if drop or return_attention_scores:
            attended, scores = self._attend_whole(q, k, v, mask, use_causal_mask, drop)
        else:
            attended = ops.dot_product_attention(q, k, v, mask=mask, scale=self._scale,
                                                 is_causal=use_causal_mask)
        positions = tuple(query.shape[1:-1])
        attended = ops.reshape(attended, (attended.shape[0],) + positions
                               + (self.num_heads, self.value_dim))
        out = self.output_dense(attended)
        if query_mask is not None and isinstance(out, Tensor):
            out._keras_mask = query_mask if isinstance(query_mask, Tensor) else Tensor(
                np.asarray(query_mask))
        return (out, scores) if return_attention_scores else out

    @property
    def _scale(self) -> float:
        return 1.0 / math.sqrt(self.key_dim)

    @staticmethod
    def _flat_positions(x: Tensor) -> Tensor:
        """(batch, ..., heads, dim) with its middle axes as one: the kernel's (B, T, N, D)."""
        shape = tuple(x.shape)
        return x if len(shape) == 4 else ops.reshape(x, (shape[0], -1) + shape[-2:])

    def _attention_mask(self, q_len: int, kv_len: int, query_mask: Any, value_mask: Any,
                        key_mask: Any, attention_mask: Any, causal: bool) -> Optional[np.ndarray]:
        """Keras's merged boolean mask, (B or 1, 1, T, S), or None; the causal mask stays the
        kernel's (is_causal) unless the scores are held whole."""
        def as_bool(m: Any) -> np.ndarray:
            data = m.numpy() if isinstance(m, Tensor) else np.asarray(m)
            return data.astype(bool).reshape(data.shape[0], -1)

        merged = None
        if query_mask is not None:
            merged = as_bool(query_mask)[:, :, None]
        for m in (value_mask, key_mask):
            if m is not None:
                keys = as_bool(m)[:, None, :]
                merged = keys if merged is None else merged & keys
        if attention_mask is not None:
            given = attention_mask.numpy() if isinstance(attention_mask, Tensor) else np.asarray(
                attention_mask)
            given = given.astype(bool).reshape((given.shape[0], q_len, kv_len))
            merged = given if merged is None else merged & given
        return None if merged is None else merged[:, None]

    def _attend_whole(self, q: Tensor, k: Tensor, v: Tensor, mask: Any, causal: bool,
                      drop: bool) -> tuple:
        """Attention with the (B, N, T, S) probabilities held: for dropout on them and for
        return_attention_scores. Masked scores get Keras's large negative number, so that a
        row with nothing to attend to attends to every key equally, as Keras's does."""
        scores = ops.einsum("btnd,bsnd->bnts", q * self._scale, k)
        allowed = np.ones((1, 1) + tuple(scores.shape[2:]), bool)
        if causal:
            allowed = allowed & np.tril(np.ones(scores.shape[2:], bool))
        if mask is not None:
            allowed = allowed & mask
        if mask is not None or causal:
            scores = ops.where(allowed, scores, -1e9)
        probabilities = ops.softmax(scores, axis=-1)
        kept = self._dropout_layer(probabilities, training=True) if drop else probabilities
        return ops.einsum("bnts,bsnd->btnd", kept, v), probabilities

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None) -> tuple:
        out = self._output_shape or (query_shape[-1],)
        return tuple(query_shape[:-1]) + tuple(out)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self._output_shape, "attention_axes": self.attention_axes,
                "flash_attention": self.flash_attention,
                "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer, "seed": self.seed}
