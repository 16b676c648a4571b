"""MultiHeadAttention against a float64 reference built from its own weights: projections,
masks from an Embedding(mask_zero=True), causal masks, cross-attention, the attention scores,
inputs with two middle axes, training, config and errors."""
import numpy as np
import pytest

import fastdl
from fastdl import keras
from fastdl.testing import reference

from cuda_support import GPU_READY, to_cpu, to_gpu


def expected(layer, query, value, mask=None, causal=False):
    """The layer's output from its weights in float64: the three projections, attention per
    head (fastdl.testing.reference), the output projection."""
    wq, bq, wk, bk, wv, bv, wo, bo = (w.numpy().astype(np.float64) for w in layer.weights)
    q = np.einsum("btf,fnd->btnd", query, wq) + bq
    k = np.einsum("bsf,fnd->bsnd", value, wk) + bk
    v = np.einsum("bsf,fnd->bsnd", value, wv) + bv
    attended = reference.dot_product_attention(q, k, v, mask=mask, causal=causal)
    return np.einsum("btnd,nde->bte", attended, wo) + bo


def test_self_and_cross_attention_match_the_reference(rng):
    x = rng.standard_normal((3, 5, 8)).astype(np.float32)
    memory = rng.standard_normal((3, 7, 6)).astype(np.float32)
    layer = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=5)
    out = layer(x, memory)
    assert [tuple(w.shape) for w in layer.weights] == [
        (8, 3, 4), (3, 4), (6, 3, 4), (3, 4), (6, 3, 5), (3, 5), (3, 5, 8), (8,)]
    np.testing.assert_allclose(out.numpy(), expected(layer, x, memory), rtol=1e-4, atol=1e-5)
    causal = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    out = causal(x, x, use_causal_mask=True)
    np.testing.assert_allclose(out.numpy(), expected(causal, x, x, causal=True), rtol=1e-4,
                               atol=1e-5)


def test_embedding_masks_restrict_the_keys_and_pass_on(rng):
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 0]])
    embedded = keras.layers.Embedding(10, 8, mask_zero=True)(ids)
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    out = layer(embedded, embedded)
    np.testing.assert_array_equal(out._keras_mask.numpy(), ids != 0)
    keep = ids != 0
    mask = (keep[:, :, None] & keep[:, None, :])[:, None]
    want = expected(layer, embedded.numpy(), embedded.numpy(), mask=mask)
    np.testing.assert_allclose(out.numpy()[keep], want[keep], rtol=1e-4, atol=1e-5)


def test_attention_scores_are_per_head_probabilities(rng):
    x = rng.standard_normal((2, 4, 6)).astype(np.float32)
    memory = rng.standard_normal((2, 9, 6)).astype(np.float32)
    layer = keras.layers.MultiHeadAttention(num_heads=3, key_dim=2)
    out, scores = layer(x, memory, attention_mask=np.ones((2, 4, 9), bool),
                        return_attention_scores=True)
    assert scores.shape == (2, 3, 4, 9)
    np.testing.assert_allclose(scores.numpy().sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out.numpy(), layer(x, memory).numpy(), rtol=1e-5, atol=1e-6)


def test_inputs_with_two_middle_axes_attend_over_both(rng):
    image = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    out = layer(image, image)
    assert out.shape == (2, 3, 4, 5)
    flat = image.reshape(2, 12, 5)
    np.testing.assert_allclose(out.numpy().reshape(2, 12, 5), expected(layer, flat, flat),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(NotImplementedError, match="attention_axes"):
        keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(2,))(image,
                                                                                   image)


def test_trains_in_a_model_with_dropout_and_round_trips_its_config():
    inputs = keras.Input((6, 8))
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1,
                                               seed=1)(inputs, inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(attended)))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).standard_normal((32, 6, 8)).astype(np.float32)
    layer = model.layers[1]
    before = [w.numpy().copy() for w in layer.weights]
    history = model.fit(x, x[:, :1, 0], epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, layer.weights))
    clone = keras.layers.MultiHeadAttention.from_config(layer.get_config())
    assert (clone.num_heads, clone.key_dim, clone.dropout) == (2, 4, 0.1)


def test_dropout_in_the_fused_kernel_drops_what_the_whole_matrix_path_drops(rng):
    # Two layers with one seed and the same weights: the fused kernel (a plain call) and the
    # path that holds the probabilities (return_attention_scores) draw the same key and, on
    # the CPU, the same mask; their outputs and gradients agree.
    x = rng.standard_normal((3, 7, 8)).astype(np.float32)
    layers = [keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.3, seed=11)
              for _ in range(2)]
    for layer in layers:
        layer(fastdl.Tensor(x), fastdl.Tensor(x))  # built; no dropout outside training
    layers[1].set_weights(layers[0].get_weights())
    results = []
    for layer, whole in zip(layers, (False, True)):
        t = fastdl.Tensor(x, requires_grad=True)
        out = layer(t, t, training=True, return_attention_scores=whole, use_causal_mask=True)
        out = out[0] if whole else out
        (out * out).sum().backward()
        results.append((out.numpy(), t.grad.numpy()))
    for fused, whole in zip(*results):
        np.testing.assert_allclose(fused, whole, rtol=1e-5, atol=1e-6)
    inference = layer(fastdl.Tensor(x), fastdl.Tensor(x), use_causal_mask=True).numpy()
    assert not np.allclose(inference, results[0][0], atol=1e-3)


def test_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        keras.layers.MultiHeadAttention(num_heads=0, key_dim=4)
    with pytest.raises(NotImplementedError, match="use_gate"):
        keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True)
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    with pytest.raises(ValueError, match="value and key but the last must be equal"):
        layer(fastdl.randn(2, 3, 4), fastdl.randn(2, 5, 4), fastdl.randn(2, 6, 4))


@pytest.mark.skipif(not GPU_READY, reason="needs a CUDA GPU, CuPy and fastdl's CUDA kernels")
def test_attention_and_layer_normalization_on_the_gpu_match_the_cpu(rng):
    keep = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    x = rng.standard_normal((2, 4, 8)).astype(np.float32)
    results = []
    for device, move in (("cpu", lambda a: a), ("cuda", to_gpu)):
        keras.utils.set_random_seed(3)
        attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4).to(device)
        norm = keras.layers.LayerNormalization().to(device)
        t = fastdl.Tensor(move(x), requires_grad=True)
        h = norm(t)
        out = attention(h, h, attention_mask=move(keep[:, None, :] & keep[:, :, None]),
                        use_causal_mask=True)
        out.sum().backward()
        results.append((to_cpu(out.data), to_cpu(t.grad.data)))
    for cpu, gpu in zip(*results):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not GPU_READY, reason="needs a CUDA GPU, CuPy and fastdl's CUDA kernels")
def test_dropout_attention_on_the_gpu_drops_with_the_gpu_dropout_mask(rng):
    # The GPU draws its masks from another generator than the CPU: the reference is the
    # whole-matrix arithmetic on NumPy with the mask the GPU's dropout kernel draws.
    import cupy

    from fastdl.backend import dense_attention
    from fastdl.backend.cuda import attention, dropout
    q, k, v = (rng.standard_normal((2, 5, 4, 8)).astype(np.float32) for _ in range(3))
    grad = rng.standard_normal(q.shape).astype(np.float32)
    factors = to_cpu(dropout.dropout_forward(cupy.ones((2, 4, 5, 5), np.float32), 0.25, 7)[0])
    out, lse = attention.attention_forward(*map(to_gpu, (q, k, v)), None, None, 0.3, True,
                                           0.25, 7)
    want_out, want_lse = dense_attention.attention_forward(np, q, k, v, None, None, 0.3, True,
                                                           factors)
    np.testing.assert_allclose(to_cpu(out), want_out, rtol=1e-4, atol=1e-5)
    grads = attention.attention_backward(*map(to_gpu, (q, k, v)), None, None, 0.3, True, out,
                                         lse, to_gpu(grad), False, 0.25, 7)
    want = dense_attention.attention_backward(np, q, k, v, None, None, 0.3, True, want_out,
                                              want_lse, grad, False, factors)
    for got, expected in zip(grads[:3], want[:3]):
        np.testing.assert_allclose(to_cpu(got), expected, rtol=1e-4, atol=1e-5)
