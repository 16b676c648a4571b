"""Scaled dot-product attention beyond the op-case rows (fastdl/testing/op_cases/attention.py):
a query row with nothing to attend to, the thread count, the whole-matrix arithmetic the GPU
runs, Keras's documented shapes, and the errors."""
import numpy as np
import pytest

import fastdl
from fastdl import _C, keras
from fastdl.backend import dense_attention


def _qkv(rng, b=2, t=5, s=7, n=4, k=2, d=8, dv=6, dtype=np.float64):
    return (rng.standard_normal((b, t, n, d)).astype(dtype),
            rng.standard_normal((b, s, k, d)).astype(dtype),
            rng.standard_normal((b, s, k, dv)).astype(dtype))


def test_a_row_with_nothing_to_attend_to_gives_zeros_and_zero_gradients(rng):
    q, k, v = (fastdl.tensor(a, requires_grad=True) for a in _qkv(rng))
    mask = np.ones((2, 1, 5, 7), bool)
    mask[1, 0, 3] = False                       # batch 1, query 3: every key masked
    out = fastdl.ops.dot_product_attention(q, k, v, mask=mask)
    assert np.all(out.numpy()[1, 3] == 0)
    assert np.all(np.isfinite(out.numpy()))
    (out * out).sum().backward()
    for t in (q, k, v):
        assert np.all(np.isfinite(t.grad.numpy()))
    assert np.all(q.grad.numpy()[1, 3] == 0)


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_results_do_not_depend_on_the_threads(set_threads, rng, dropout):
    q, k, v = _qkv(rng, b=2, t=130, s=150, n=4, k=2, d=16, dv=16, dtype=np.float32)
    grad = rng.standard_normal((2, 130, 4, 16)).astype(np.float32)
    results = []
    for threads in (1, 2):
        set_threads(threads)
        out, lse = _C.attention_forward(q, k, v, None, None, 0.25, True, dropout, 99)
        results.append((out, lse, *_C.attention_backward(q, k, v, None, None, 0.25, True, out,
                                                         lse, grad, False, dropout, 99)[:3]))
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()


@pytest.mark.parametrize("causal, t, s", [(False, 5, 7), (True, 5, 7), (True, 300, 300),
                                           (True, 200, 330)])
def test_whole_matrix_arithmetic_matches_the_kernel(causal, t, s, rng):
    # fastdl.backend.dense_attention is what the GPU runs; here it runs on NumPy. The long
    # causal rows cross several key tiles, their diagonal ones computed in strips of rows.
    q, k, v = _qkv(rng, t=t, s=s)
    bias = np.broadcast_to(rng.standard_normal((1, 4, 1, s)), (2, 4, t, s))
    mask = rng.random((2, 4, t, s)) > 0.3
    mask[0, 1, 2] = False
    grad = rng.standard_normal((2, t, 4, 6))
    out, lse = _C.attention_forward(q, k, v, bias, mask, 0.3, causal)
    dense_out, dense_lse = dense_attention.attention_forward(np, q, k, v, bias, mask, 0.3,
                                                             causal)
    np.testing.assert_allclose(dense_out, out, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.isinf(dense_lse), np.isinf(lse))
    finite = np.isfinite(lse)
    np.testing.assert_allclose(dense_lse[finite], lse[finite], rtol=1e-12)
    kernel = _C.attention_backward(q, k, v, bias, mask, 0.3, causal, out, lse, grad, True)
    dense = dense_attention.attention_backward(np, q, k, v, bias, mask, 0.3, causal, dense_out,
                                               dense_lse, grad, True)
    for got, want in zip(dense, kernel):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def _dropout_factors(q, k, rate, seed):
    """What the dropout kernel makes of a (B, N, T, S) array of ones with this seed: 0 where
    dropped, 1 / (1 - rate) where kept."""
    ones = np.ones((q.shape[0], q.shape[2], q.shape[1], k.shape[1]), q.dtype)
    return _C.dropout_forward(ones, rate, seed)[0]


@pytest.mark.parametrize("causal, t, s", [(False, 5, 7), (True, 200, 330), (False, 130, 70),
                                           (True, 40, 40)])
def test_dropout_drops_the_probabilities_the_dropout_kernel_would(causal, t, s, rng):
    # The kernel draws each tile's mask from the stream dropout uses, at the score's index in a
    # (B, N, T, S) array: the whole-matrix arithmetic with the dropout kernel's mask is the
    # reference, forward and backward.
    q, k, v = _qkv(rng, t=t, s=s)
    mask = rng.random((2, 1, t, s)) > 0.2
    bias = np.broadcast_to(rng.standard_normal((1, 4, 1, s)), (2, 4, t, s))
    full_mask = np.broadcast_to(mask, (2, 4, t, s))
    grad = rng.standard_normal((2, t, 4, 6))
    seed, rate = 0x243F6A8885A308D3, 0.3
    factors = _dropout_factors(q, k, rate, seed)
    assert 0.25 < (factors == 0).mean() < 0.35
    out, lse = _C.attention_forward(q, k, v, bias, full_mask, 0.3, causal, rate, seed)
    dense_out, dense_lse = dense_attention.attention_forward(np, q, k, v, bias, full_mask, 0.3,
                                                             causal, factors)
    np.testing.assert_allclose(dense_out, out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dense_lse[np.isfinite(lse)], lse[np.isfinite(lse)], rtol=1e-12)
    kernel = _C.attention_backward(q, k, v, bias, full_mask, 0.3, causal, out, lse, grad, True,
                                   rate, seed)
    dense = dense_attention.attention_backward(np, q, k, v, bias, full_mask, 0.3, causal,
                                               dense_out, dense_lse, grad, True, factors)
    for got, want in zip(dense, kernel):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
    undropped, _ = _C.attention_forward(q, k, v, bias, full_mask, 0.3, causal)
    assert not np.allclose(out, undropped)


def test_dropout_attention_gradients_match_finite_differences(rng):
    # Each call draws its key from a generator made afresh: the same mask every time.
    q, k, v = (fastdl.tensor(a, requires_grad=True) for a in _qkv(rng, t=6, s=9))

    def attend(q, k, v):
        return fastdl.ops.attention.dropout_attention(
            q, k, v, 0.4, is_causal=True, generator=np.random.default_rng(5))

    out = attend(q, k, v)
    weights = rng.standard_normal(out.shape)
    (out * weights).sum().backward()
    for x in (q, k, v):
        data = x.numpy()
        numeric = np.zeros_like(data)
        for index in np.ndindex(*data.shape):
            plus, minus = data.copy(), data.copy()
            plus[index] += 1e-6
            minus[index] -= 1e-6
            args = [a.numpy() if a is not x else None for a in (q, k, v)]
            values = []
            for moved in (plus, minus):
                operands = [moved if a is None else a for a in args]
                values.append((attend(*operands).numpy() * weights).sum())
            numeric[index] = (values[0] - values[1]) / 2e-6
        np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("t, s", [(0, 7), (5, 0)])
def test_no_queries_or_no_keys_give_zero_gradients(t, s, rng):
    q, k, v = _qkv(rng, t=t, s=s)
    # Whatever the gradients' memory held before, they come back as zeros.
    for _ in range(3):
        out, lse = _C.attention_forward(q, k, v, None, None, 1.0, False)
        np.empty(1 << 16)[:] = np.nan
        grads = _C.attention_backward(q, k, v, None, None, 1.0, False, out, lse,
                                      np.ones(out.shape), True)
        for grad, like in zip(grads, (q, k, v, np.zeros((2, 4, t, s)))):
            assert grad.shape == like.shape and not np.any(grad)
    assert out.shape == (2, t, 4, 6) and not np.any(out)


def test_keras_documented_shapes_and_names():
    query, key, value = fastdl.randn(2, 4, 8, 16), fastdl.randn(2, 6, 8, 16), fastdl.randn(2, 6,
                                                                                         8, 16)
    assert keras.ops.dot_product_attention(query, key, value).shape == (2, 4, 8, 16)
    # Grouped-query attention: 8 query heads over 2 key/value heads.
    out = keras.ops.dot_product_attention(query, fastdl.randn(2, 6, 2, 16),
                                          fastdl.randn(2, 6, 2, 16), is_causal=True)
    assert out.shape == (2, 4, 8, 16)


def test_the_kernel_reads_a_broadcast_mask_in_place(rng):
    q, k, v = _qkv(rng, b=1, t=3, s=4, n=2, k=2, d=4, dv=4)
    row = np.array([True, False, True, True])
    mask = np.broadcast_to(row, (1, 2, 3, 4))
    assert mask.strides == (0, 0, 0, 1)
    out, _ = _C.attention_forward(q, k, v, None, mask, 0.5, False)
    kept = fastdl.ops.dot_product_attention(q, k[:, row], v[:, row], scale=0.5).numpy()
    np.testing.assert_allclose(out, kept, rtol=1e-12)


def test_bad_arguments_name_the_operation_and_the_shapes(rng):
    q, k, v = _qkv(rng)
    op = fastdl.ops.dot_product_attention
    with pytest.raises(ValueError, match=r"dot_product_attention: query \(2, 5, 4, 8\), key "
                                         r"\(2, 7, 2, 5\).*do not match"):
        op(q, k[..., :5], v)
    with pytest.raises(ValueError, match=r"key \(2, 7, 2, 8\), value \(2, 6, 2, 6\)"):
        op(q, k, v[:, :6])
    with pytest.raises(ValueError, match="4 heads must be a multiple of the key's 3"):
        op(q, np.concatenate([k, k[:, :, :1]], axis=2), np.concatenate([v, v[:, :, :1]], axis=2))
    with pytest.raises(ValueError, match=r"mask of shape \(3, 7\) does not broadcast to the "
                                         r"scores' shape \(2, 4, 5, 7\)"):
        op(q, k, v, mask=np.ones((3, 7), bool))
    with pytest.raises(ValueError, match=r"bias of shape \(1, 1, 1, 1, 7\)"):
        op(q, k, v, bias=np.ones((1, 1, 1, 1, 7)))
    with pytest.raises(ValueError, match=r"query has shape \(2, 5, 32\); expected 4 dimensions"):
        op(q.reshape(2, 5, 32), k, v)
    with pytest.raises(ValueError, match="attn_logits_soft_cap"):
        op(q, k, v, attn_logits_soft_cap=30.0)
    with pytest.raises(TypeError, match="dot_product_attention: mask has dtype float32"):
        _C.attention_forward(q, k, v, None, np.ones((2, 4, 5, 7), np.float32), 1.0, False)
    with pytest.raises(ValueError, match=r"dot_product_attention: dropout must be in \[0, 1\)"):
        _C.attention_forward(q, k, v, None, None, 1.0, False, 1.0, 3)
    with pytest.raises(ValueError, match=r"dropout_attention: rate must be in \[0, 1\); "
                                         r"received -0.1"):
        fastdl.ops.attention.dropout_attention(q, k, v, -0.1)
