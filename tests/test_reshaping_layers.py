"""Reshaping layers: UpSampling1D/2D (nearest and bilinear), ZeroPadding1D/2D and
Cropping1D/2D. Values against float64 NumPy references (bilinear written pixel by pixel,
from the four neighbours) and against Keras 3 (one run of /opt/tfenv for the whole module,
skipped where it is absent), gradients by central differences in float64, output shapes for
odd sizes and both data formats, masks (dropped with a warning, as in Keras), configs and
errors."""
import itertools

import numpy as np
import pytest

import fastdl
from fastdl import keras, layers
from fastdl.layers.reshaping import bilinear_upsample
from keras_reference import requires_keras, run_keras

RNG = np.random.default_rng(5)


# --------------------------------------------------------------------------- references

def ref_bilinear(image, size):
    """(batch, height, width, channels) resized by half-pixel-centered bilinear
    interpolation, each output pixel from its four neighbours (borders repeated)."""
    batch, height, width, channels = image.shape
    out = np.zeros((batch, height * size[0], width * size[1], channels))
    for i, j in itertools.product(range(out.shape[1]), range(out.shape[2])):
        y, x = (i + 0.5) / size[0] - 0.5, (j + 0.5) / size[1] - 0.5
        y0, x0 = int(np.floor(y)), int(np.floor(x))
        dy, dx = y - y0, x - x0
        rows = np.clip([y0, y0 + 1], 0, height - 1)
        cols = np.clip([x0, x0 + 1], 0, width - 1)
        out[:, i, j] = ((1 - dy) * (1 - dx) * image[:, rows[0], cols[0]]
                        + (1 - dy) * dx * image[:, rows[0], cols[1]]
                        + dy * (1 - dx) * image[:, rows[1], cols[0]]
                        + dy * dx * image[:, rows[1], cols[1]])
    return out


def ref_nearest(image, size):
    return image.repeat(size[0], axis=1).repeat(size[1], axis=2)


def to_first(a):
    return np.moveaxis(a, -1, 1)


def check_both_formats(make, image, expected, grad=True):
    """``make(data_format)`` gives ``expected`` (channels last) on ``image`` in both
    formats, in float64, and its gradient passes central differences."""
    for data_format in ("channels_last", "channels_first"):
        layer = make(data_format)
        x = image if data_format == "channels_last" else to_first(image)
        want = expected if data_format == "channels_last" else to_first(expected)
        out = layer(x)
        assert out.shape == want.shape
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-12, atol=1e-12)
        assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + want.shape[1:]
        if grad:
            assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])


def test_keras_namespace():
    for name in ("UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D",
                 "Cropping1D", "Cropping2D"):
        assert getattr(keras.layers, name) is getattr(layers, name)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("image_shape, size", [
    ((2, 3, 5, 2), (2, 2)), ((1, 4, 3, 3), (3, 2)), ((2, 1, 1, 1), (2, 3)),
    ((1, 5, 2, 1), (1, 4)), ((1, 2, 7, 2), 3),
])
def test_upsampling2d(interpolation, image_shape, size):
    image = RNG.normal(size=image_shape)
    pair = (size, size) if isinstance(size, int) else size
    ref = ref_nearest if interpolation == "nearest" else ref_bilinear
    check_both_formats(lambda f: layers.UpSampling2D(size, data_format=f, dtype="float64",
                                                     interpolation=interpolation),
                       image, ref(image, pair))


def test_upsampling2d_float32_and_uppercase_interpolation():
    image = RNG.normal(size=(2, 3, 4, 2)).astype(np.float32)
    out = layers.UpSampling2D((2, 3), interpolation="BILINEAR")(image)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref_bilinear(image.astype(np.float64), (2, 3)),
                               rtol=1e-5, atol=1e-6)


def test_bilinear_upsample_along_one_axis():
    x = fastdl.tensor([[0.0, 1.0, 3.0]], dtype="float64", requires_grad=True)
    out = bilinear_upsample(x, 2, axis=1)
    np.testing.assert_allclose(out.numpy(), [[0.0, 0.25, 0.75, 1.5, 2.5, 3.0]])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 2.0, 2.0]])  # each value spread fully


@pytest.mark.parametrize("size", [1, 2, 3])
def test_upsampling1d(size):
    x = RNG.normal(size=(2, 5, 3))
    layer = layers.UpSampling1D(size, dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), x.repeat(size, axis=1))
    assert layer.compute_output_shape((None, 5, 3)) == (None, 5 * size, 3)
    assert layer.compute_output_shape((None, None, 3)) == (None, None, 3)
    assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("padding, amounts", [
    (1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))), (((1, 0), (2, 3)), ((1, 0), (2, 3))),
    ([[0, 0], 1], ((0, 0), (1, 1))), (0, ((0, 0), (0, 0))),
])
def test_zero_padding2d(padding, amounts):
    image = RNG.normal(size=(2, 3, 5, 2))
    layer = layers.ZeroPadding2D(padding)
    assert layer.padding == amounts
    expected = np.pad(image, ((0, 0),) + amounts + ((0, 0),))
    check_both_formats(lambda f: layers.ZeroPadding2D(padding, data_format=f, dtype="float64"),
                       image, expected)


@pytest.mark.parametrize("cropping, amounts", [
    (((0, 0), (0, 0)), ((0, 0), (0, 0))), (1, ((1, 1), (1, 1))), ((1, 2), ((1, 1), (2, 2))),
    (((1, 0), (0, 2)), ((1, 0), (0, 2))), (((0, 2), (3, 0)), ((0, 2), (3, 0))),
])
def test_cropping2d(cropping, amounts):
    image = RNG.normal(size=(2, 5, 7, 3))
    (top, bottom), (left, right) = amounts
    expected = image[:, top:5 - bottom, left:7 - right]
    assert layers.Cropping2D(cropping).cropping == amounts
    check_both_formats(lambda f: layers.Cropping2D(cropping, data_format=f, dtype="float64"),
                       image, expected)


@pytest.mark.parametrize("padding", [1, (2, 0), (0, 3)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_zero_padding1d(padding, data_format):
    x = RNG.normal(size=(2, 5, 3))
    pair = (padding, padding) if isinstance(padding, int) else padding
    layer = layers.ZeroPadding1D(padding, data_format=data_format, dtype="float64")
    axis = 1 if data_format == "channels_last" else 2
    widths = [(0, 0)] * 3
    widths[axis] = pair
    np.testing.assert_array_equal(layer(x).numpy(), np.pad(x, widths))
    expected_shape = list(x.shape)
    expected_shape[axis] += sum(pair)
    assert layer.compute_output_shape((None, 5, 3)) == (None,) + tuple(expected_shape[1:])
    assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("cropping, pair", [((1, 1), (1, 1)), (2, (2, 2)), ((0, 3), (0, 3)),
                                            ((4, 0), (4, 0))])
def test_cropping1d(cropping, pair):
    x = RNG.normal(size=(2, 5, 3))
    layer = layers.Cropping1D(cropping, dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), x[:, pair[0]:5 - pair[1]])
    assert layer.compute_output_shape((None, 5, 3)) == (None, 5 - sum(pair), 3)
    assert layer.compute_output_shape((None, None, 3)) == (None, None, 3)
    assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])


def test_symbolic_shapes_with_unknown_sizes():
    inputs = layers.Input(shape=(None, 7, 3))
    assert layers.UpSampling2D((2, 3))(inputs).shape == (None, None, 21, 3)
    assert layers.ZeroPadding2D(((1, 2), (0, 1)))(inputs).shape == (None, None, 8, 3)
    assert layers.Cropping2D(((1, 2), (0, 1)))(inputs).shape == (None, None, 6, 3)
    first = layers.Input(shape=(3, None, 5))
    assert layers.UpSampling2D(2, data_format="channels_first")(first).shape == \
        (None, 3, None, 10)
    assert layers.Cropping2D(1, data_format="channels_first")(first).shape == \
        (None, 3, None, 3)
    steps = layers.Input(shape=(None, 4))
    assert layers.UpSampling1D(3)(steps).shape == (None, None, 4)
    assert layers.ZeroPadding1D((1, 2))(steps).shape == (None, None, 4)
    assert layers.Cropping1D((1, 2))(steps).shape == (None, None, 4)


def test_a_model_of_them_trains():
    fastdl.manual_seed(1)
    model = keras.Sequential([
        layers.Input(shape=(6, 6, 1)), layers.ZeroPadding2D(1), layers.Conv2D(2, 3),
        layers.Cropping2D(((1, 1), (0, 2))), layers.UpSampling2D(interpolation="bilinear"),
        layers.Flatten(), layers.Dense(1)])
    assert model.layers[-3].output_shape == (None, 8, 8, 2)
    x = np.random.default_rng(0).normal(size=(32, 6, 6, 1)).astype(np.float32)
    y = x.sum(axis=(1, 2, 3))[:, None].astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=60, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]


def test_masks_are_dropped_with_a_warning():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]]], np.float32)
    for layer in (layers.UpSampling1D(), layers.ZeroPadding1D(), layers.Cropping1D()):
        assert not layer.supports_masking
        with pytest.warns(UserWarning, match="does not support masking"):
            out = layer(layers.Masking()(x))
        assert out._keras_mask is None


@pytest.mark.parametrize("make, match", [
    (lambda: layers.ZeroPadding2D((1, 2, 3)), r"ZeroPadding2D: padding must be an int.*"
                                              r"\(1, 2, 3\)"),
    (lambda: layers.ZeroPadding2D(((1, 2, 3), 1)), r"ZeroPadding2D: padding of the height"),
    (lambda: layers.ZeroPadding2D(-1), r"ZeroPadding2D: padding.*>= 0.*-1"),
    (lambda: layers.ZeroPadding2D(((1, -2), 0)), r"ZeroPadding2D.*\(1, -2\)"),
    (lambda: layers.ZeroPadding2D(1.5), r"ZeroPadding2D: padding"),
    (lambda: layers.ZeroPadding1D((1, 2, 3)), r"ZeroPadding1D: padding.*\(1, 2, 3\)"),
    (lambda: layers.ZeroPadding1D(-2), r"ZeroPadding1D: padding"),
    (lambda: layers.Cropping2D(-1), r"Cropping2D: cropping.*-1"),
    (lambda: layers.Cropping2D((1, (2, 3, 4))), r"Cropping2D: cropping of the width"),
    (lambda: layers.Cropping1D((1,)), r"Cropping1D: cropping"),
    (lambda: layers.UpSampling2D(0), r"UpSampling2D: size.*> 0.*0"),
    (lambda: layers.UpSampling2D((2, -1)), r"UpSampling2D: size"),
    (lambda: layers.UpSampling2D(interpolation="cubic"), r"UpSampling2D: interpolation"),
    (lambda: layers.UpSampling2D(data_format="nhwc"), r"UpSampling2D: data_format"),
    (lambda: layers.UpSampling1D(0), r"UpSampling1D: size must be a positive"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_other_argument_errors():
    with pytest.raises(TypeError, match="UpSampling1D: size must be an int"):
        layers.UpSampling1D(1.5)
    with pytest.raises(NotImplementedError, match="bicubic"):
        layers.UpSampling2D(interpolation="bicubic")


def test_crops_larger_than_the_input():
    with pytest.raises(ValueError, match=r"cropping2d.*\(Cropping2D\).*3 \+ 2.*axis 1 of size 5"
                                         r".*\(2, 5, 7, 3\)"):
        layers.Cropping2D(((3, 2), (0, 0)))(np.ones((2, 5, 7, 3), np.float32))
    with pytest.raises(ValueError, match=r"Cropping2D.*axis 3 of size 7.*\(None, 3, 5, 7\)"):
        layers.Cropping2D(((0, 0), (4, 3)), data_format="channels_first").compute_output_shape(
            (None, 3, 5, 7))
    with pytest.raises(ValueError, match=r"Cropping1D.*cropping=\(2, 3\).*\(4, 5, 2\)"):
        layers.Cropping1D((2, 3))(np.ones((4, 5, 2), np.float32))


@pytest.mark.parametrize("make, shape, hint", [
    (lambda: layers.UpSampling2D(), (2, 3, 4), r"4 dimensions \(batch, height, width, "
                                               r"channels\).*\(2, 3, 4\)"),
    (lambda: layers.ZeroPadding2D(data_format="channels_first"), (2, 3),
     r"4 dimensions \(batch, channels, height, width\).*\(2, 3\)"),
    (lambda: layers.Cropping2D(), (1, 2, 3, 4, 5), r"4 dimensions.*\(1, 2, 3, 4, 5\)"),
    (lambda: layers.UpSampling1D(), (2, 3), r"3 dimensions \(batch, steps, features\)"),
    (lambda: layers.ZeroPadding1D(), (2, 3, 4, 5), r"3 dimensions \(batch, steps"),
    (lambda: layers.Cropping1D(), (6,), r"3 dimensions.*\(6,\)"),
])
def test_wrong_ranks(make, shape, hint):
    layer = make()
    with pytest.raises(ValueError, match=rf"{layer.name}.*{hint}"):
        layer(np.ones(shape, np.float32))


def test_configs():
    for layer in (layers.UpSampling1D(3), layers.UpSampling2D((2, 3), "channels_first",
                                                              "bilinear"),
                  layers.ZeroPadding1D((1, 2)), layers.ZeroPadding2D(((1, 0), (2, 3))),
                  layers.Cropping1D((0, 2)), layers.Cropping2D(((1, 0), (2, 3)))):
        config = layer.get_config()
        copy = type(layer).from_config(config)
        assert copy.get_config() == config
    assert layers.UpSampling2D().get_config()["size"] == (2, 2)
    assert layers.Cropping1D().get_config()["cropping"] == (1, 1)
    assert layers.ZeroPadding2D().padding == ((1, 1), (1, 1))


# --------------------------------------------------------------------------- Keras 3

_KERAS_BODY = """
import numpy as np
import keras
result = {"cases": [], "errors": []}
for case in payload["cases"]:
    layer = getattr(keras.layers, case["layer"])(**case["args"])
    x = case["x"]
    result["cases"].append({
        "y": np.asarray(layer(x)),
        "shape": tuple(layer.compute_output_shape((None,) + x.shape[1:])),
        "unknown": tuple(layer.compute_output_shape((None,) * x.ndim)),
    })
for name, args, shape in payload["errors"]:
    try:
        getattr(keras.layers, name)(**args)(np.ones(shape, "float32"))
        result["errors"].append(None)
    except Exception as error:
        result["errors"].append(type(error).__name__)
"""


def _keras_payload():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(2, 3, 5, 2)).astype(np.float32)
    first = np.ascontiguousarray(to_first(image))
    tiny = rng.normal(size=(1, 1, 2, 3)).astype(np.float32)
    tall = rng.normal(size=(1, 7, 1, 1)).astype(np.float32)
    seq = rng.normal(size=(2, 5, 3)).astype(np.float32)
    cases = []
    for interpolation, size in itertools.product(("nearest", "bilinear"),
                                                 ((2, 2), (3, 2), (1, 4), 3)):
        for x, data_format in ((image, "channels_last"), (first, "channels_first"),
                               (tiny, "channels_last"), (tall, "channels_last")):
            cases.append(dict(layer="UpSampling2D", x=x, args=dict(
                size=size, data_format=data_format, interpolation=interpolation)))
    for padding in (1, (2, 0), ((1, 0), (2, 3)), ((0, 0), 2)):
        for x, data_format in ((image, "channels_last"), (first, "channels_first")):
            cases.append(dict(layer="ZeroPadding2D", x=x,
                              args=dict(padding=padding, data_format=data_format)))
    for cropping in (((0, 0), (0, 0)), 1, (1, 2), ((1, 0), (0, 2)), ((2, 0), (3, 1))):
        for x, data_format in ((image, "channels_last"), (first, "channels_first")):
            if data_format == "channels_first" and cropping == ((2, 0), (3, 1)):
                continue
            cases.append(dict(layer="Cropping2D", x=x,
                              args=dict(cropping=cropping, data_format=data_format)))
    cases += [dict(layer="UpSampling1D", x=seq, args=dict(size=s)) for s in (1, 2, 3)]
    cases += [dict(layer="ZeroPadding1D", x=seq, args=dict(padding=p, data_format=f))
              for p in (1, (0, 2), (3, 1)) for f in ("channels_last", "channels_first")]
    cases += [dict(layer="Cropping1D", x=seq, args=dict(cropping=c))
              for c in ((1, 1), 2, (0, 3), (4, 0))]
    errors = [
        ("ZeroPadding2D", dict(padding=(1, 2, 3)), (1, 3, 3, 1)),
        ("ZeroPadding2D", dict(padding=((1, 2, 3), 1)), (1, 3, 3, 1)),
        ("ZeroPadding1D", dict(padding=-1), (1, 3, 1)),
        ("Cropping2D", dict(cropping=-1), (1, 3, 3, 1)),
        ("Cropping2D", dict(cropping=((2, 1), (0, 0))), (1, 3, 3, 1)),
        ("Cropping2D", dict(cropping=((0, 0), (2, 2)), data_format="channels_first"),
         (1, 1, 5, 4)),
        ("Cropping1D", dict(cropping=(2, 3)), (1, 5, 2)),
        ("UpSampling2D", dict(size=0), (1, 3, 3, 1)),
        ("UpSampling1D", dict(size=0), (1, 3, 1)),
        ("UpSampling1D", dict(size=1.5), (1, 3, 1)),
        ("UpSampling2D", dict(), (1, 3, 3)),
        ("ZeroPadding2D", dict(), (1, 3)),
        ("Cropping1D", dict(), (1, 3, 3, 1)),
        ("UpSampling2D", dict(data_format="nhwc"), (1, 3, 3, 1)),
        ("Cropping2D", dict(cropping=((1, 1), (1, 1))), (1, 3, 3, 1)),  # fine
    ]
    return {"cases": cases, "errors": errors}


@requires_keras
def test_against_keras():
    payload = _keras_payload()
    theirs = run_keras(_KERAS_BODY, payload)
    for case, their in zip(payload["cases"], theirs["cases"]):
        label = f"{case['layer']}({case['args']}) on {case['x'].shape}"
        layer = getattr(layers, case["layer"])(**case["args"])
        x = case["x"]
        np.testing.assert_allclose(layer(x).numpy(), their["y"], rtol=1e-5, atol=1e-6,
                                   err_msg=label)
        assert layer.compute_output_shape((None,) + x.shape[1:]) == their["shape"], label
        assert layer.compute_output_shape((None,) * x.ndim) == their["unknown"], label
    for (name, args, shape), their in zip(payload["errors"], theirs["errors"]):
        try:
            getattr(layers, name)(**args)(np.ones(shape, np.float32))
            mine = None
        except (ValueError, TypeError) as error:
            mine = type(error).__name__
        assert mine == their, f"{name}({args}) on {shape}"
