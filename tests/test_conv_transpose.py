"""Transposed convolutions (fastdl.conv2d_transpose, conv1d_transpose): Keras 3's output sizes
and values (Keras itself, where it is installed), the adjoint identity with conv2d, and every
gradient by central differences in float64."""

import numpy as np
import pytest

import fastdl
from keras_reference import KERAS_PYTHON, run_keras

CONFIGS = [
    # (input (N, H, W, C), kernel (kh, kw, filters, C), strides, padding, output_padding, dilation)
    ((2, 5, 4, 3), (3, 3, 2, 3), 1, "valid", None, 1),
    ((2, 5, 4, 3), (3, 3, 2, 3), 2, "same", None, 1),
    ((1, 4, 4, 1), (2, 2, 1, 1), 2, "valid", None, 1),
    ((2, 3, 5, 2), (4, 4, 3, 2), 2, "same", None, 1),
    ((1, 7, 7, 4), (3, 3, 2, 4), 2, "same", 1, 1),
    ((1, 7, 6, 2), (3, 3, 2, 2), 2, "valid", 1, 1),
    ((2, 4, 4, 2), (3, 2, 3, 2), (3, 2), "valid", (2, 1), 1),
    ((1, 5, 5, 2), (3, 3, 2, 2), 3, "same", None, 1),
    ((1, 6, 6, 1), (3, 3, 1, 1), 1, "same", None, 2),
    ((1, 4, 4, 2), (5, 5, 1, 2), 1, "valid", None, 1),
    ((3, 1, 1, 5), (1, 1, 4, 5), 2, "valid", None, 1),
]

_KERAS_BODY = """
import numpy as np
from keras import ops
result = []
for x, w, strides, padding, output_padding, dilation in payload:
    y = ops.conv_transpose(x, w, strides=strides, padding=padding,
                           output_padding=output_padding, dilation_rate=dilation)
    result.append(np.asarray(y))
"""


def _inputs(rng, x_shape, w_shape, dtype=np.float64):
    return (rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype))


def test_values_and_sizes_match_keras_3():
    if not KERAS_PYTHON.is_file():
        pytest.skip(f"no Keras interpreter at {KERAS_PYTHON}")
    rng = np.random.default_rng(0)
    cases = [(*_inputs(rng, xs, ws, np.float32), s, p, op, d)
             for xs, ws, s, p, op, d in CONFIGS]
    theirs = run_keras(_KERAS_BODY, cases)
    for (x, w, s, p, op, d), want in zip(cases, theirs):
        got = fastdl.conv2d_transpose(x, w, strides=s, padding=p, output_padding=op,
                                      dilation=d).numpy()
        assert got.shape == want.shape, (x.shape, w.shape, s, p, op, d)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("config", CONFIGS)
def test_is_the_adjoint_of_conv2d(config):
    """<conv_transpose(x, w), g> = <x, conv2d(g, w)> with the geometry the transposed
    convolution resolved: it is the convolution's adjoint."""
    x_shape, w_shape, s, p, op, d = config
    rng = np.random.default_rng(1)
    x, w = _inputs(rng, x_shape, w_shape)
    y = fastdl.conv2d_transpose(x, w, strides=s, padding=p, output_padding=op, dilation=d)
    g = rng.standard_normal(y.shape)
    _, strides, padding, dilation = fastdl.backend.geometry.conv2d_transpose_geometry(
        x.shape, w.shape, s, p, op, d)
    conv = fastdl.backend.cpu.conv2d_forward(g, w, None, strides, padding, dilation)
    assert conv.shape == x.shape
    np.testing.assert_allclose(np.sum(y.numpy() * g), np.sum(x * conv), rtol=1e-10)


@pytest.mark.parametrize("config", [CONFIGS[1], CONFIGS[4], CONFIGS[6], CONFIGS[8]])
@pytest.mark.parametrize("activation", [None, "tanh"])
def test_gradients_against_finite_differences(config, activation):
    x_shape, w_shape, s, p, op, d = config
    rng = np.random.default_rng(2)
    x, w = (fastdl.tensor(a, requires_grad=True) for a in _inputs(rng, x_shape, w_shape))
    b = fastdl.tensor(rng.standard_normal(w_shape[2]), requires_grad=True)
    assert fastdl.gradcheck(
        lambda x, w, b: fastdl.conv2d_transpose(x, w, b, strides=s, padding=p, output_padding=op,
                                                dilation=d, activation=activation), [x, w, b])


ACTIVATIONS = {"relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
               "tanh": np.tanh}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
# Each path of the input gradient: scattered patches (stride 2, images finished one by one on
# two threads), the turned forward (stride 1, many channels), Winograd's transposed form
# (3x3, stride 1, a small image) and the plain product (1x1).
@pytest.mark.parametrize("x_shape, w_shape, strides, padding", [
    ((5, 7, 7, 32), (4, 4, 16, 32), 2, "same"),
    ((3, 12, 12, 24), (3, 3, 20, 24), 1, "same"),
    ((3, 8, 8, 32), (3, 3, 16, 32), 1, "valid"),
    ((3, 5, 5, 8), (1, 1, 6, 8), 1, "valid"),
])
def test_bias_and_activation_fused_into_the_kernel(x_shape, w_shape, strides, padding,
                                                   activation, dtype, set_threads):
    set_threads(2)
    rng = np.random.default_rng(4)
    x, w = _inputs(rng, x_shape, w_shape, dtype)
    b = rng.standard_normal(w_shape[2]).astype(dtype)
    plain = fastdl.conv2d_transpose(x, w, strides=strides, padding=padding).numpy()
    fused = fastdl.conv2d_transpose(x, w, b, strides=strides, padding=padding,
                                    activation=activation).numpy()
    want = ACTIVATIONS[activation](plain.astype(np.float64) + b)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fused, want, rtol=tolerance, atol=tolerance)


def test_the_kernel_checks_the_bias_against_the_output_channels():
    with pytest.raises(ValueError, match=r"conv2d_backward_input: b has shape \(3,\); "
                                         r"expected \(2,\)"):
        fastdl._C.conv2d_backward_input(np.ones((1, 2, 2, 4), np.float32),
                                        np.ones((3, 3, 2, 4), np.float32), (1, 4, 4, 2),
                                        (1, 1), (0, 0, 0, 0), (1, 1), np.ones(3, np.float32))


def test_channels_first_and_1d():
    rng = np.random.default_rng(3)
    x, w = _inputs(rng, (2, 5, 4, 3), (3, 3, 2, 3))
    nhwc = fastdl.conv2d_transpose(x, w, strides=2, padding="same").numpy()
    nchw = fastdl.conv2d_transpose(x.transpose(0, 3, 1, 2), w, strides=2, padding="same",
                                   data_format="channels_first").numpy()
    np.testing.assert_allclose(nchw.transpose(0, 2, 3, 1), nhwc, rtol=1e-12)
    x1, w1 = _inputs(rng, (2, 6, 3), (3, 2, 3))
    y1 = fastdl.conv1d_transpose(x1, w1, strides=2, padding="same").numpy()
    y2 = fastdl.conv2d_transpose(x1[:, None], w1[None], strides=(1, 2), padding="same").numpy()
    np.testing.assert_allclose(y1, y2[:, 0], rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: fastdl.conv2d_transpose(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 2))),
     r"conv2d_transpose.*3 input channels|conv2d_transpose.*2 input channels"),
    (lambda: fastdl.conv2d_transpose(np.ones((4, 4, 3)), np.ones((3, 3, 2, 3))),
     r"conv2d_transpose.*\(4, 4, 3\)"),
    (lambda: fastdl.conv2d_transpose(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 3)), strides=2,
                                     output_padding=2), r"output_padding.*\[0, 2\)"),
    (lambda: fastdl.conv2d_transpose(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 3)),
                                     padding="causal"), r"padding must be 'valid' or 'same'"),
])
def test_bad_arguments_name_the_operation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("isa_name", ["avx512", "avx2", "generic"])
def test_every_kernel_set_gives_the_same_values(isa_name):
    from fastdl import _C
    if not _C.isa_available(isa_name):
        pytest.skip(f"{isa_name} is not available here")
    rng = np.random.default_rng(4)
    x, w = _inputs(rng, (2, 7, 7, 16), (3, 3, 8, 16), np.float32)
    want = fastdl.conv2d_transpose(x.astype(np.float64), w.astype(np.float64), strides=2,
                                   padding="same").numpy()
    previous = _C.active_isa()
    try:
        _C.set_isa(isa_name)
        got = fastdl.conv2d_transpose(x, w, strides=2, padding="same").numpy()
    finally:
        _C.set_isa(previous)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)




_KERAS_LAYERS = """
import numpy as np
import keras
result = []
for name, kwargs, x, weights in payload:
    layer = getattr(keras.layers, name)(**kwargs)
    layer.build(x.shape)
    shapes = [tuple(w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    result.append((np.asarray(layer(x)), shapes, tuple(layer.compute_output_shape(x.shape))))
"""

LAYER_CASES = [
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=(4, 3), strides=(2, 3), padding="valid",
                             output_padding=(1, 2), activation="relu"), (1, 4, 3, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, padding="same", use_bias=False,
                             data_format="channels_first"), (2, 2, 5, 5)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same",
                             activation="tanh"), (2, 7, 4)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=2, strides=3, padding="valid"), (1, 5, 3)),
]


def test_layers_match_keras_3():
    """Weight shapes, output shapes and values of Keras 3's layers given the same weights."""
    if not KERAS_PYTHON.is_file():
        pytest.skip(f"no Keras interpreter at {KERAS_PYTHON}")
    rng = np.random.default_rng(5)
    cases, ours = [], []
    for name, kwargs, shape in LAYER_CASES:
        layer = getattr(fastdl.layers, name)(**kwargs)
        x = rng.standard_normal(shape).astype(np.float32)
        layer(x)
        weights = [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]
        layer.set_weights(weights)
        cases.append((name, kwargs, x, weights))
        ours.append(layer)
    theirs = run_keras(_KERAS_LAYERS, cases)
    for (name, kwargs, x, _), layer, (want, shapes, out_shape) in zip(cases, ours, theirs):
        assert [tuple(w.shape) for w in layer.get_weights()] == shapes, (name, kwargs)
        assert tuple(layer.compute_output_shape(x.shape)) == out_shape, (name, kwargs)
        np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-4, atol=1e-4,
                                   err_msg=f"{name} {kwargs}")
