"""Attention layers with Keras 3's semantics: MultiHeadAttention on the fused attention kernel;
Attention (Luong-style, dot-product scores) and AdditiveAttention (Bahdanau-style), which hold
their (batch, query length, key length) scores."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from fastdl import ops
from fastdl.backend import is_gpu_array, to_device
from fastdl.layers.base import Layer
from fastdl.layers.core import Dropout
from fastdl.layers.signature import layer_label
from fastdl.ops.attention import dropout_attention
from fastdl.ops.products import linear
from fastdl.tensor import Tensor

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]


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
    attention probabilities (``dropout`` > 0 while training) runs inside the fused kernel
    (``ops.attention.dropout_attention``); only ``return_attention_scores`` (``(batch, heads,
    query length, key length)``) holds the whole matrix of scores. Inputs of more than three
    axes attend over all their middle axes at once (Keras's default ``attention_axes``). A
    query position that may attend to no key gives zeros before the output projection (Keras
    attends to every key equally there).

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
        # Where the dropout masks' keys come from, in the fused kernel and in _attend_whole
        # alike: the layer's own generator when it has a seed, else fastdl's.
        self._generator = None if seed is None else np.random.default_rng(seed)
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
                                    attention_mask)
        drop = self.dropout > 0.0 and bool(training)
        scores = None
        if return_attention_scores:
            attended, scores = self._attend_whole(q, k, v, mask, use_causal_mask, drop)
        else:
            attended = dropout_attention(q, k, v, self.dropout if drop else 0.0, mask=mask,
                                         scale=self._scale, is_causal=use_causal_mask,
                                         generator=self._generator)
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
                        key_mask: Any, attention_mask: Any) -> Optional[np.ndarray]:
        """Keras's merged boolean mask, (B or 1, 1, T, S), or None. The causal mask is not
        in it: the kernel applies it (``is_causal``), as does ``_attend_whole``."""
        def as_bool(m: Any) -> np.ndarray:
            data = _as_array(m)
            return data.astype(bool).reshape(data.shape[0], -1)

        merged = None
        if query_mask is not None:
            merged = as_bool(query_mask)[:, :, None]
        for m in (value_mask, key_mask):
            if m is not None:
                keys = as_bool(m)[:, None, :]
                merged = keys if merged is None else merged & keys
        if attention_mask is not None:
            given = _as_array(attention_mask)
            given = given.astype(bool).reshape((given.shape[0], q_len, kv_len))
            merged = given if merged is None else merged & given
        return None if merged is None else merged[:, None]

    def _attend_whole(self, q: Tensor, k: Tensor, v: Tensor, mask: Any, causal: bool,
                      drop: bool) -> tuple:
        """Attention with the (B, N, T, S) probabilities held, for return_attention_scores.
        Masked scores get Keras's large negative number, so that a row with nothing to attend
        to attends to every key equally, as Keras's does."""
        scores = ops.einsum("btnd,bsnd->bnts", q * self._scale, k)
        allowed = np.ones((1, 1) + tuple(scores.shape[2:]), bool)
        if causal:
            allowed = allowed & np.tril(np.ones(scores.shape[2:], bool))
        if mask is not None:
            allowed = allowed & mask
        if mask is not None or causal:
            scores = ops.where(to_device(allowed, scores.device), scores, -1e9)
        probabilities = ops.softmax(scores, axis=-1)
        kept = (ops.dropout(probabilities, self.dropout, generator=self._generator) if drop
                else probabilities)
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


# Keras's offset for masked scores: exp(score - 1e9) is 0 beside any score that is not masked,
# and a row with every score masked attends to every key equally.
_MASKED_OFFSET = 1e9


class Attention(Layer):
    """Keras 3's dot-product attention layer (Luong-style): called on ``[query, value]`` or
    ``[query, value, key]`` (``(batch, Tq, dim)``, ``(batch, Tv, dim)``), the scores
    ``query @ key^T`` (times a learned scalar ``scale`` with ``use_scale``; or, with
    ``score_mode="concat"``, ``concat_score_weight * sum(tanh(scale * (query + key)))``), a
    softmax over the keys the value's mask (and ``use_causal_mask``) leave, dropout on it while
    training, then the weighted sum of the values; positions the query's mask drops give zeros.
    ``return_attention_scores=True`` also returns the (batch, Tq, Tv) weights.

    >>> import fastdl
    >>> query, value = fastdl.randn(2, 3, 4), fastdl.randn(2, 5, 4)
    >>> fastdl.layers.Attention()([query, value]).shape
    (2, 3, 4)
    """

    supports_masking = True

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{type(self).__name__}: score_mode must be 'dot' or 'concat'; "
                             f"received score_mode={score_mode!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1); received "
                             f"{dropout}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = float(dropout), seed
        self._dropout_layer = Dropout(self.dropout, seed=seed) if self.dropout > 0 else None

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self.scale = (self.add_weight(name="scale", shape=(), initializer="ones")
                      if self.use_scale else None)
        self.concat_score_weight = (self.add_weight(name="concat_score_weight", shape=(),
                                                    initializer="ones")
                                    if self.score_mode == "concat" else None)

    def _check_inputs(self, inputs: Any) -> None:
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{layer_label(self)} is called on a list [query, value] or "
                             f"[query, value, key]; received {type(inputs).__name__}"
                             + (f" of {len(inputs)}" if isinstance(inputs, (list, tuple))
                                else ""))

    def _scores(self, query: Tensor, key: Tensor) -> Tensor:
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
            return scores * self.scale if self.scale is not None else scores
        summed = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)
        if self.scale is not None:
            summed = summed * self.scale
        return self.concat_score_weight * ops.sum(ops.tanh(summed), axis=-1)

    def call(self, inputs: Any, mask: Any = None, training: Optional[bool] = None,
             return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        self._check_inputs(inputs)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        if mask is None:
            mask = [getattr(t, "_keras_mask", None) for t in inputs]
        query_mask, value_mask = (list(mask) + [None, None])[:2]
        scores = self._scores(query, key)
        allowed = None
        if value_mask is not None:
            allowed = _as_array(value_mask).astype(bool)[:, None, :]
        if use_causal_mask:
            causal = np.tril(np.ones(tuple(scores.shape[-2:]), bool))[None]
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:
            scores = ops.where(to_device(allowed, scores.device), scores, scores - _MASKED_OFFSET)
        weights = ops.softmax(scores, axis=-1)
        if training and self._dropout_layer is not None:
            weights_used = self._dropout_layer(weights, training=True)
        else:
            weights_used = weights
        out = ops.matmul(weights_used, value)
        if query_mask is not None:
            kept = _as_array(query_mask).astype(bool)[..., None]
            out = ops.where(to_device(kept, out.device), out, 0.0)
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None or mask[0] is None:
            return None
        return mask[0] if isinstance(mask[0], Tensor) else Tensor(np.asarray(mask[0]))

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self) -> dict:
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Keras 3's additive attention layer (Bahdanau-style): as :class:`Attention`, with the
    scores ``sum(scale * tanh(query + key))`` over the features, ``scale`` a learned vector
    (glorot-uniform at first) with ``use_scale`` (the default), else ones.

    >>> import fastdl
    >>> layer = fastdl.layers.AdditiveAttention()
    >>> layer([fastdl.randn(2, 3, 4), fastdl.randn(2, 5, 4)]).shape, layer.scale.shape
    ((2, 3, 4), (4,))
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        self.scale = (self.add_weight(name="scale", shape=(input_shape[0][-1],),
                                      initializer="glorot_uniform")
                      if self.use_scale else None)

    def _scores(self, query: Tensor, key: Tensor) -> Tensor:
        tanh = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))
        return ops.sum(tanh * self.scale if self.scale is not None else tanh, axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["score_mode"]
        return config


def _as_array(mask: Any) -> np.ndarray:
    """A mask (a Tensor or an array, on either device) as a NumPy array."""
    data = mask.data if isinstance(mask, Tensor) else mask
    return np.asarray(to_device(data, "cpu") if is_gpu_array(data) else data)
