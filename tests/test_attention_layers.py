"""Attention and AdditiveAttention against NumPy written from Keras's formulas: scores, masks
(value, query, causal), returned weights, training in a model, configs and errors."""
import numpy as np
import pytest

from fastdl import keras


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def expected(scores, value, query_mask=None, value_mask=None, causal=False):
    allowed = np.ones(scores.shape, bool)
    if value_mask is not None:
        allowed &= value_mask[:, None, :]
    if causal:
        allowed &= np.tril(np.ones(scores.shape[-2:], bool))
    weights = softmax(np.where(allowed, scores, scores - 1e9))
    out = weights @ value
    if query_mask is not None:
        out = np.where(query_mask[..., None], out, 0.0)
    return out, weights


@pytest.fixture
def inputs(rng):
    q = rng.standard_normal((2, 3, 4)).astype(np.float32)
    v = rng.standard_normal((2, 5, 4)).astype(np.float32)
    k = rng.standard_normal((2, 5, 4)).astype(np.float32)
    query_mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    value_mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    return q, v, k, query_mask, value_mask


@pytest.mark.parametrize("causal", [False, True])
def test_dot_product_scores_with_masks(inputs, causal):
    q, v, k, query_mask, value_mask = inputs
    layer = keras.layers.Attention(use_scale=True)
    layer([q, v, k])
    layer.set_weights([np.float32(1.7)])
    out, weights = layer([q, v, k], mask=[query_mask, value_mask],
                         return_attention_scores=True, use_causal_mask=causal)
    want, want_weights = expected(1.7 * q.astype(np.float64) @ k.transpose(0, 2, 1), v,
                                  query_mask, value_mask, causal)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights.numpy(), want_weights, rtol=1e-5, atol=1e-6)


def test_concat_and_additive_scores(inputs):
    q, v, k, _, value_mask = inputs
    summed = q[:, :, None, :].astype(np.float64) + k[:, None, :, :]
    concat = keras.layers.Attention(use_scale=True, score_mode="concat")
    concat([q, v, k])
    concat.set_weights([np.float32(0.5), np.float32(2.0)])
    want, _ = expected(2.0 * np.tanh(0.5 * summed).sum(-1), v, value_mask=value_mask)
    np.testing.assert_allclose(concat([q, v, k], mask=[None, value_mask]).numpy(), want,
                               rtol=1e-5, atol=1e-6)
    additive = keras.layers.AdditiveAttention()
    additive([q, v, k])
    scale = np.array([0.3, -1.0, 2.0, 0.5], np.float32)
    additive.set_weights([scale])
    want, _ = expected((scale * np.tanh(summed)).sum(-1), v)
    np.testing.assert_allclose(additive([q, v, k]).numpy(), want, rtol=1e-5, atol=1e-6)
    assert "score_mode" not in additive.get_config()


def test_masks_from_embeddings_reach_the_layer_and_the_query_mask_passes_on():
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 0]])
    embedded = keras.layers.Embedding(8, 4, mask_zero=True)(ids)
    out = keras.layers.Attention()([embedded, embedded])
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)
    assert np.all(out.numpy()[ids == 0] == 0)


def test_trains_with_dropout_in_a_functional_model(rng):
    query, value = keras.Input((3, 4)), keras.Input((5, 4))
    attended = keras.layers.AdditiveAttention(dropout=0.2, seed=0)([query, value])
    model = keras.Model([query, value], keras.layers.Dense(1)(keras.layers.Flatten()(attended)))
    model.compile(optimizer="adam", loss="mse")
    x = [rng.standard_normal((16, 3, 4)).astype(np.float32),
         rng.standard_normal((16, 5, 4)).astype(np.float32)]
    history = model.fit(x, np.ones((16, 1), np.float32), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    clone = keras.layers.AdditiveAttention.from_config(model.layers[2].get_config())
    assert clone.dropout == 0.2 and clone.use_scale


def test_bad_arguments_name_the_layer(inputs):
    q, v, *_ = inputs
    with pytest.raises(ValueError, match="score_mode must be 'dot' or 'concat'"):
        keras.layers.Attention(score_mode="general")
    with pytest.raises(ValueError, match=r"called on a list \[query, value\]"):
        keras.layers.Attention()(q)
