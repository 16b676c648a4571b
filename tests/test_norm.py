"""Layer and RMS normalization beyond the op-case rows (fastdl/testing/op_cases/normalization.py):
rows far from zero against float64, the thread count, the array-module arithmetic the GPU runs,
Keras's documented values, the layers' weights, configs and masks, and the errors."""
import warnings

import numpy as np
import pytest

import fastdl
from fastdl import _C, keras
from fastdl.backend import norms
from fastdl.testing import reference

KINDS = ["layer", "rms", "variance_scaling"]


@pytest.mark.parametrize("kind", ["layer", "variance_scaling"])
def test_rows_far_from_zero_match_float64(isa, kind, rng):
    # Values near 1e6 with a spread of 1: the mean must not cost the spread its digits.
    x = (1e6 + rng.standard_normal((16, 512))).astype(np.float32)
    gamma = rng.standard_normal(512).astype(np.float32)
    dy = rng.standard_normal((16, 512)).astype(np.float32)
    y, rstd = _C.norm_forward(x, gamma, None, 1e-3, kind)
    dx, dgamma, _ = _C.norm_backward(dy, x, gamma, rstd, kind, True, False)
    expected = reference.layer_normalization(x, gamma, None, (1,), 1e-3, kind)
    edx, edgamma, _ = reference.layer_normalization_grad(dy, x, gamma, None, (1,), 1e-3, kind)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    np.testing.assert_allclose(dx, edx, rtol=1e-3, atol=1e-3 * np.abs(edx).max())
    np.testing.assert_allclose(dgamma, edgamma, rtol=1e-4, atol=1e-5 * np.abs(edgamma).max())


@pytest.mark.parametrize("kind", KINDS)
def test_parameter_gradients_do_not_depend_on_the_threads(set_threads, kind, rng):
    x = rng.standard_normal((999, 130)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    gamma = rng.standard_normal(130).astype(np.float32)
    need_beta = kind == "layer"
    results = []
    for threads in (1, 2):
        set_threads(threads)
        _, rstd = _C.norm_forward(x, gamma, None, 1e-5, kind)
        results.append(_C.norm_backward(dy, x, gamma, rstd, kind, True, need_beta))
    for one, two in zip(*results):
        if one is not None:
            assert one.tobytes() == two.tobytes()


@pytest.mark.parametrize("dtype, cols", [(np.float32, 1024), (np.float64, 512), (np.float32, 1000)])
def test_outputs_larger_than_the_caches_match_those_computed_in_pieces(isa, rng, dtype, cols):
    # From 16 MiB the kernels store y and dx past the caches (where every row starts on a vector
    # boundary: 1000 columns of float32 do not, and take the ordinary stores): the values must
    # be those of the same kernels on pieces below that size.
    rows = (16 << 20) // (np.dtype(dtype).itemsize * cols) + 3
    x = (rng.standard_normal((rows, cols)) * 2 + 1).astype(dtype)
    dy = rng.standard_normal((rows, cols)).astype(dtype)
    gamma, beta = rng.standard_normal(cols).astype(dtype), rng.standard_normal(cols).astype(dtype)
    y, rstd = _C.norm_forward(x, gamma, beta, 1e-3, "layer")
    dx, dgamma, dbeta = _C.norm_backward(dy, x, gamma, rstd, "layer", True, True)
    pieces = np.array_split(np.arange(rows), 3)
    np.testing.assert_array_equal(y, np.concatenate(
        [_C.norm_forward(x[p], gamma, beta, 1e-3, "layer")[0] for p in pieces]))
    np.testing.assert_array_equal(dx, np.concatenate(
        [_C.norm_backward(dy[p], x[p], gamma, rstd[p], "layer", False, False)[0]
         for p in pieces]))
    sample = slice(None, None, 97)
    np.testing.assert_allclose(y[sample], reference.layer_normalization(
        x[sample], gamma, beta, (1,), 1e-3, "layer"), rtol=1e-4, atol=1e-4)
    expected = reference.layer_normalization_grad(dy, x, gamma, beta, (1,), 1e-3, "layer")
    np.testing.assert_allclose(dx[sample], expected[0][sample], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(dgamma, expected[1], rtol=1e-3, atol=1e-3 * np.sqrt(rows))
    np.testing.assert_allclose(dbeta, expected[2], rtol=1e-3, atol=1e-3 * np.sqrt(rows))


@pytest.mark.parametrize("kind", KINDS)
def test_array_module_arithmetic_matches_the_kernels(kind, rng):
    # fastdl.backend.norms is what the GPU runs; here it runs on NumPy against the CPU kernels.
    x = rng.standard_normal((37, 45)) * 3 + 2
    gamma = rng.standard_normal(45)
    beta = rng.standard_normal(45) if kind == "layer" else None
    dy = rng.standard_normal(x.shape)
    y, rstd = _C.norm_forward(x, gamma, beta, 1e-3, kind)
    ny, nrstd = norms.norm_forward(np, x, gamma, beta, 1e-3, kind)
    np.testing.assert_allclose(ny, y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nrstd, rstd, rtol=1e-12)
    grads = _C.norm_backward(dy, x, gamma, rstd, kind, True, beta is not None)
    ngrads = norms.norm_backward(np, dy, x, gamma, nrstd, kind, True, beta is not None)
    for got, want in zip(ngrads, grads):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_keras_documented_values():
    # keras.ops.layer_normalization(keras.ops.arange(5, dtype="float32")), from Keras's docs.
    y = fastdl.ops.layer_normalization(np.arange(5, dtype=np.float32))
    np.testing.assert_allclose(y.numpy(), [-1.4142135, -0.70710677, 0.0, 0.7071067, 1.4142135],
                               rtol=1e-6, atol=1e-6)


def test_layer_normalization_layer_weights_and_config():
    layer = keras.layers.LayerNormalization(axis=[1, 2], epsilon=1e-5)
    y = layer(np.ones((2, 3, 4, 5), np.float32))
    assert y.shape == (2, 3, 4, 5)
    assert [(w.name, w.shape) for w in layer.weights] == [("gamma", (3, 4)), ("beta", (3, 4))]
    config = layer.get_config()
    assert (config["axis"], config["epsilon"], config["center"], config["scale"]) == \
        ([1, 2], 1e-5, True, True)
    clone = keras.layers.LayerNormalization.from_config(config)
    clone.build((2, 3, 4, 5))
    assert [w.shape for w in clone.weights] == [(3, 4), (3, 4)]
    assert keras.layers.LayerNormalization(center=False, scale=False)(np.ones((2, 3))).shape \
        == (2, 3)


def test_layer_normalization_rms_scaling_is_keras_deprecated_variant(rng):
    with pytest.warns(UserWarning, match="rms_scaling"):
        layer = keras.layers.LayerNormalization(rms_scaling=True)
    x = (rng.standard_normal((3, 8)) + 4).astype(np.float32)
    y = layer(x)
    assert [w.name for w in layer.weights] == ["gamma"]
    # Divided by sqrt(var + eps), not centered: Keras's (deprecated) arithmetic.
    expected = x / np.sqrt(x.astype(np.float64).var(axis=-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)


def test_rms_normalization_layer_over_several_axes(rng):
    layer = keras.layers.RMSNormalization(axis=[0, 1], epsilon=0.0)
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    y = layer(x)
    assert [(w.name, w.shape) for w in layer.weights] == [("scale", (3, 4))]
    expected = x / np.sqrt((x.astype(np.float64) ** 2).mean(axis=(0, 1), keepdims=True))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)


def test_layers_train_in_a_model_and_pass_masks():
    model = keras.Sequential([keras.Input((6,), dtype="int32"),
                              keras.layers.Embedding(10, 8, mask_zero=True),
                              keras.layers.LayerNormalization(),
                              keras.layers.RMSNormalization(),
                              keras.layers.LSTM(4)])
    ids = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]], np.int32)
    normalized = model.layers[1](model.layers[0](ids))
    np.testing.assert_array_equal(normalized._keras_mask.numpy(), ids != 0)
    model.compile(optimizer="adam", loss="mse")
    before = [w.numpy().copy() for w in model.layers[1].weights]
    model.fit(ids, np.ones((2, 4), np.float32), epochs=2, verbose=0)
    after = [w.numpy() for w in model.layers[1].weights]
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))


def test_regularizer_adds_a_loss_and_constraints_are_refused():
    layer = keras.layers.LayerNormalization(gamma_regularizer=lambda w: 2.0 * fastdl.ops.sum(w))
    layer(np.ones((2, 3), np.float32))
    assert [float(loss.numpy()) for loss in layer.losses] == [6.0]
    with pytest.raises(NotImplementedError, match="gamma_constraint"):
        keras.layers.LayerNormalization(gamma_constraint="non_neg")
    with pytest.raises(NotImplementedError, match="beta_regularizer"):
        keras.layers.LayerNormalization(beta_regularizer="l2")


def test_bad_arguments_name_the_operation_and_the_shapes():
    x = np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"layer_normalization: gamma has shape \(4,\).*"
                                         r"expected 5 values"):
        fastdl.ops.layer_normalization(x, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="rms_normalization: axis 2 is out of range"):
        fastdl.ops.rms_normalization(x, axis=2)
    with pytest.raises(ValueError, match="names an axis twice"):
        fastdl.ops.layer_normalization(x, axis=(1, -1))
    with pytest.raises(ValueError, match="rms_scaling=True takes no beta"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fastdl.ops.layer_normalization(x, np.ones(5), np.ones(5), rms_scaling=True)
    with pytest.raises(TypeError, match="LayerNormalization: axis must be an int"):
        keras.layers.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match=r"axis 3 is out of bounds for input shape \(4, 5\)"):
        keras.layers.LayerNormalization(axis=3)(x)


def test_native_entry_points_check_their_arguments():
    x = np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match="norm_forward: unknown kind 'group'"):
        _C.norm_forward(x, None, None, 1e-3, "group")
    with pytest.raises(ValueError, match="norm_forward: kind 'rms' takes no beta"):
        _C.norm_forward(x, None, np.ones(5, np.float32), 1e-3, "rms")
    with pytest.raises(ValueError, match=r"norm_forward: gamma has shape \(4,\)"):
        _C.norm_forward(x, np.ones(4, np.float32), None, 1e-3, "layer")
    with pytest.raises(TypeError, match="norm_forward"):
        _C.norm_forward(x, np.ones(5, np.float64), None, 1e-3, "layer")
    with pytest.raises(TypeError, match="norm_forward"):
        _C.norm_forward(x.astype(np.int32), None, None, 1e-3, "layer")
    _, rstd = _C.norm_forward(x, None, None, 1e-3, "layer")
    with pytest.raises(ValueError, match=r"norm_backward: rstd has shape \(3,\)"):
        _C.norm_backward(x, x, None, rstd[:3], "layer", False, False)
    with pytest.raises(ValueError, match="norm_backward: grad has shape"):
        _C.norm_backward(x[:2], x, None, rstd, "layer", False, False)
    with pytest.raises(ValueError, match="kind 'rms' has no beta"):
        _C.norm_backward(x, x, None, rstd, "rms", False, True)
