"""Activation layers: LeakyReLU, ReLU, ELU, PReLU and Softmax. Values against float64 NumPy
references and against Keras 3 (one run of /opt/tfenv for the whole module, skipped where it
is absent), gradients by central differences in float64, masks passing through (and
Softmax's own mask), PReLU's weight and shared axes, configs and errors."""
import warnings

import numpy as np
import pytest

import fastdl
from fastdl import keras, layers
from keras_reference import requires_keras, run_keras

RNG = np.random.default_rng(7)


def away_from(x, kinks, gap=0.05):
    """``x`` with the values closer than ``gap`` to a kink moved ``2 * gap`` off it, so that
    central differences do not straddle it."""
    x = np.array(x, dtype=np.float64)
    for kink in kinks:
        near = np.abs(x - kink) < gap
        x[near] = kink + np.where(x[near] >= kink, 2 * gap, -2 * gap)
    return x


# --------------------------------------------------------------------------- references

def ref_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    above = x if max_value is None else np.minimum(x, max_value)
    return np.where(x > threshold, above, negative_slope * (x - threshold))


def ref_softmax(x, axis=-1, mask=None):
    if mask is not None:
        x = np.where(mask, x, -1e9)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)
    return out if mask is None else np.where(mask, out, 0.0)


def test_keras_namespace_and_names():
    for name in ("LeakyReLU", "ReLU", "ELU", "PReLU", "Softmax"):
        assert getattr(keras.layers, name) is getattr(layers, name)
    assert layers.PReLU().name.startswith("p_re_lu")
    assert layers.LeakyReLU().name.startswith("leaky_re_lu")
    assert layers.LeakyReLU().negative_slope == 0.3


@pytest.mark.parametrize("kwargs", [
    {}, {"max_value": 6.0}, {"negative_slope": 0.1}, {"threshold": 0.5},
    {"max_value": 2.0, "negative_slope": 0.2, "threshold": 0.5},
    {"max_value": 1.0, "threshold": 2.0, "negative_slope": 0.5},  # a ceiling below threshold
])
def test_relu_values_and_gradients(kwargs):
    x = away_from(RNG.normal(0, 2, (3, 7, 5)), [0.0, 0.5, 1.0, 2.0, 6.0])
    layer = layers.ReLU(dtype="float64", **kwargs)
    np.testing.assert_allclose(layer(x).numpy(), ref_relu(x, **kwargs), rtol=1e-12)
    assert layers.ReLU(**kwargs)(x.astype(np.float32)).dtype == np.float32
    assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])


def test_relu_exact_values_at_the_kinks():
    x = np.array([0.0, 0.5, 2.0, -1.0], np.float32)
    out = layers.ReLU(max_value=2.0, negative_slope=0.5, threshold=0.5)(x).numpy()
    np.testing.assert_array_equal(out, [-0.25, 0.0, 2.0, -0.75])


@pytest.mark.parametrize("slope", [0.3, 0.01, 0.0, 1.5])
def test_leaky_relu_values_and_gradients(slope):
    x = away_from(RNG.normal(0, 1, (4, 9)), [0.0])
    layer = layers.LeakyReLU(negative_slope=slope, dtype="float64")
    np.testing.assert_allclose(layer(x).numpy(), np.where(x > 0, x, slope * x), rtol=1e-12)
    assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])


def test_leaky_relu_deprecated_alpha():
    with pytest.warns(UserWarning, match="alpha is deprecated"):
        layer = layers.LeakyReLU(alpha=0.1, negative_slope=0.5)  # alpha wins, as in Keras
    assert layer.negative_slope == 0.1
    assert layer.get_config()["negative_slope"] == 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.LeakyReLU(negative_slope=0.2)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu_values_and_gradients(alpha):
    x = away_from(RNG.normal(0, 2, (5, 6)), [0.0])
    layer = layers.ELU(alpha=alpha, dtype="float64")
    np.testing.assert_allclose(layer(x).numpy(), np.where(x > 0, x, alpha * np.expm1(x)),
                               rtol=1e-12)
    assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("shape, shared_axes, alpha_shape", [
    ((2, 5), None, (5,)),
    ((2, 4, 3), None, (4, 3)),
    ((2, 5, 7, 3), [1, 2], (1, 1, 3)),
    ((2, 5, 7, 3), 3, (5, 7, 1)),
    ((3, 1, 2, 2), (1, 2, 3), (1, 1, 1)),
])
def test_prelu_weight_values_and_gradients(shape, shared_axes, alpha_shape):
    layer = layers.PReLU(shared_axes=shared_axes, dtype="float64",
                         alpha_initializer="random_uniform")
    x = away_from(RNG.normal(0, 1, shape), [0.0])
    out = layer(x)
    assert [(w.name, w.shape) for w in layer.weights] == [("alpha", alpha_shape)]
    assert len(layer.trainable_weights) == 1
    assert layer.count_params() == int(np.prod(alpha_shape))
    alpha = layer.get_weights()[0]
    np.testing.assert_allclose(out.numpy(), np.where(x > 0, x, alpha * x), rtol=1e-12)
    assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])
    # The slope's gradient: the negative inputs, weighted, summed over what shares it.
    g = RNG.normal(size=shape)
    layer.alpha.grad = None
    (layer(fastdl.tensor(x)) * g).sum().backward()
    summed = (g * np.minimum(x, 0)).sum(axis=0, keepdims=True)
    for axis in range(1, len(shape)):
        if alpha_shape[axis - 1] == 1:
            summed = summed.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(layer.alpha.grad.numpy(), summed[0], rtol=1e-10)


def test_prelu_starts_as_relu_and_checks_its_inputs():
    layer = layers.PReLU(shared_axes=[1])
    x = RNG.normal(size=(2, 6, 3)).astype(np.float32)
    np.testing.assert_array_equal(layer(x).numpy(), np.maximum(x, 0))
    assert layer(RNG.normal(size=(4, 9, 3)).astype(np.float32)).shape == (4, 9, 3)  # shared
    with pytest.raises(ValueError, match=r"p_re_lu.*axis 2 .*size 3.*\(2, 6, 4\)"):
        layer(np.ones((2, 6, 4), np.float32))
    with pytest.raises(ValueError, match=r"expected 3 dimensions.*\(2, 6\)"):
        layer(np.ones((2, 6), np.float32))


def test_prelu_bad_arguments():
    with pytest.raises(ValueError, match=r"PReLU.*shared_axes.*from 1 to 2.*\(None, 4, 3\)"):
        layers.PReLU(shared_axes=[0]).build((None, 4, 3))
    with pytest.raises(ValueError, match=r"PReLU.*shared_axes"):
        layers.PReLU(shared_axes=[-1]).build((None, 4, 3))
    with pytest.raises(ValueError, match=r"PReLU.*must be known.*\(None, None, 3\)"):
        layers.PReLU().build((None, None, 3))
    assert layers.PReLU(shared_axes=1).build((None, None, 3)) is None  # a shared unknown axis
    with pytest.raises(ValueError, match="shared_axes must be an int"):
        layers.PReLU(shared_axes="1")
    with pytest.raises(NotImplementedError, match="alpha_constraint"):
        layers.PReLU(alpha_constraint="non_neg")


def test_prelu_regularizer_adds_a_loss():
    layer = layers.PReLU(alpha_initializer="ones", alpha_regularizer=lambda a: 0.5 * a.sum())
    layer(np.ones((2, 3), np.float32))
    assert [float(loss.numpy()) for loss in layer.losses] == [1.5]


@pytest.mark.parametrize("axis", [-1, 1, 0, [1, 2], (2,)])
def test_softmax_values_and_gradients(axis):
    x = RNG.normal(0, 2, (3, 4, 5))
    layer = layers.Softmax(axis=axis, dtype="float64")
    ref_axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    np.testing.assert_allclose(layer(x).numpy(), ref_softmax(x, ref_axis), rtol=1e-12)
    assert fastdl.gradcheck(layer, [fastdl.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("mask_shape", [(3, 4, 5), (3, 1, 5), (5,), (4, 1)])
def test_softmax_mask_values_and_gradients(mask_shape):
    x = RNG.normal(0, 2, (3, 4, 5))
    mask = RNG.random(mask_shape) > 0.3
    layer = layers.Softmax(dtype="float64")
    np.testing.assert_allclose(layer(x, mask=mask).numpy(), ref_softmax(x, -1, mask),
                               rtol=1e-12, atol=1e-300)
    assert fastdl.gradcheck(lambda t: layer(t, mask=mask),
                            [fastdl.tensor(x, requires_grad=True)])


def test_softmax_mask_of_numbers_and_whole_rows_masked():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    numbers = np.array([[0.3, 0.6, 1.0], [0.0, 0.5, 0.2]], np.float32)
    keep = numbers > 0.5
    for mask in (numbers, fastdl.tensor(numbers), numbers.tolist()):
        out = layers.Softmax()(x, mask=mask).numpy()
        np.testing.assert_allclose(out, ref_softmax(x.astype(np.float64), -1, keep), atol=1e-7)
    np.testing.assert_array_equal(out[1], 0.0)


def test_softmax_reads_the_mask_of_its_input():
    x = np.array([[[1.0, 2.0, 0.5], [0.0, 0.0, 0.0], [3.0, 1.0, 1.0]]], np.float32)
    masked = layers.Masking()(x)  # mask (1, 3), which broadcasts against (1, 3, 3)
    out = layers.Softmax()(masked)
    kept = np.array([True, False, True])
    np.testing.assert_allclose(out.numpy(), ref_softmax(np.where(kept[:, None], x, 0.0), -1,
                                                        kept), atol=1e-7)
    np.testing.assert_array_equal(out._keras_mask.numpy(), [kept])
    with pytest.raises(ValueError, match=r"softmax.*mask must broadcast.*\(1, 3, 2\).*\(1, 3\)"):
        layers.Softmax()(layers.Masking()(x[:, :, :2]))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(1, 2, 3\)"):
        layers.Softmax()(np.ones((2, 3), np.float32), mask=np.ones((1, 2, 3), bool))


@pytest.mark.parametrize("make", [
    lambda: layers.LeakyReLU(), lambda: layers.ReLU(max_value=1.0), lambda: layers.ELU(),
    lambda: layers.PReLU(), lambda: layers.Softmax(),
])
def test_masks_pass_through(make):
    x = np.array([[[1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [-3.0, 1.0, 1.0]]], np.float32)
    layer = make()
    assert layer.supports_masking
    out = layer(layers.Masking()(x))
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False, True]])
    if isinstance(layer, layers.Softmax):
        return  # its mask masks features: tested on its own above
    # ... and in a functional model, up to a pooling that reads it.
    inputs = layers.Input(shape=(3, 3))
    model = keras.Model(inputs, layers.GlobalAveragePooling1D()(make()(layers.Masking()(inputs))))
    expected = make()(x[:, [0, 2]]).numpy().mean(axis=1)
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6)


def test_symbolic_shapes_configs_and_built():
    inputs = layers.Input(shape=(5, 7))
    for layer in (layers.LeakyReLU(0.2), layers.ReLU(6.0, 0.1, 0.5), layers.ELU(0.7),
                  layers.PReLU(shared_axes=[1]), layers.Softmax(axis=[1, 2])):
        assert layer(inputs).shape == (None, 5, 7)
        assert layer.compute_output_shape((None, 5, 7)) == (None, 5, 7)
        config = layer.get_config()
        copy = type(layer).from_config(config)
        assert copy.get_config() == config
    assert all(cls().built for cls in (layers.LeakyReLU, layers.ReLU, layers.ELU,
                                       layers.Softmax))
    assert not layers.PReLU().built


def test_bad_arguments():
    for make, match in [
        (lambda: layers.LeakyReLU(negative_slope=-0.1), r"LeakyReLU: negative_slope.*-0.1"),
        (lambda: layers.LeakyReLU(negative_slope=None), "LeakyReLU: negative_slope"),
        (lambda: layers.ReLU(max_value=-1.0), "ReLU: max_value"),
        (lambda: layers.ReLU(negative_slope=-1.0), "ReLU: negative_slope"),
        (lambda: layers.ReLU(threshold=-1.0), "ReLU: threshold"),
        (lambda: layers.ReLU(threshold=None), "ReLU: threshold"),
    ]:
        with pytest.raises(ValueError, match=match):
            make()


def test_layers_train_in_a_model():
    fastdl.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = (x[:, :1] * np.where(x[:, :1] > 0, 1.0, 0.25)).astype(np.float32)
    model = keras.Sequential([layers.Input(shape=(4,)), layers.Dense(1, use_bias=False),
                              layers.PReLU()])
    model.layers[0].set_weights([np.array([[1.0], [0.0], [0.0], [0.0]], np.float32)])
    model.layers[0].trainable = False
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.fit(x, y, epochs=40, batch_size=64, verbose=0)
    assert abs(float(model.layers[1].get_weights()[0][0]) - 0.25) < 0.02


# --------------------------------------------------------------------------- Keras 3

_KERAS_BODY = """
import warnings
import numpy as np
import keras
result = []
for case in payload:
    args = dict(case["args"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = getattr(keras.layers, case["layer"])(**args)
    x = case["x"]
    if case.get("weights") is not None:
        layer.build(x.shape)
        layer.set_weights(case["weights"])
    if case.get("masking"):
        x = keras.layers.Masking()(x)
    kwargs = {} if case.get("mask") is None else {"mask": case["mask"]}
    y = layer(x, **kwargs)
    mask = getattr(y, "_keras_mask", None)
    result.append({"y": np.asarray(y), "mask": None if mask is None else np.asarray(mask),
                   "weights": [tuple(w.shape) for w in layer.weights],
                   "shape": tuple(layer.compute_output_shape((None,) + case["x"].shape[1:]))})
"""


def _keras_cases():
    rng = np.random.default_rng(11)
    x = rng.normal(0, 2, (3, 5, 4)).astype(np.float32)
    x[0, 1] = 0.0  # a step that Masking masks
    image = rng.normal(0, 1, (2, 3, 5, 4)).astype(np.float32)
    cases = [
        ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.05}), ("LeakyReLU", {"alpha": 0.2}),
        ("ReLU", {}), ("ReLU", {"max_value": 1.5}), ("ReLU", {"negative_slope": 0.1}),
        ("ReLU", {"threshold": 0.4}), ("ReLU", {"max_value": 6, "negative_slope": 0.3}),
        ("ReLU", {"max_value": 2.0, "negative_slope": 0.2, "threshold": 0.5}),
        ("ReLU", {"max_value": 1.0, "negative_slope": 0.5, "threshold": 2.0}),
        ("ELU", {}), ("ELU", {"alpha": 0.3}),
        ("Softmax", {}), ("Softmax", {"axis": 1}), ("Softmax", {"axis": [1, 2]}),
        ("Softmax", {"axis": [2]}),
    ]
    found = [dict(layer=name, args=args, x=x) for name, args in cases]
    found += [dict(layer=name, args=args, x=x, masking=True)
              for name, args in cases if name != "Softmax"]
    found += [
        dict(layer="Softmax", args={}, x=x, mask=rng.random((3, 5, 4)) > 0.4),
        dict(layer="Softmax", args={}, x=x, mask=rng.random((3, 1, 4)) > 0.4),
        dict(layer="Softmax", args={"axis": 1}, x=x, mask=rng.random((5, 1)) > 0.4),
        dict(layer="Softmax", args={}, x=x, mask=(rng.random((4,)) > 0.4).astype(np.float32)),
        dict(layer="Softmax", args={}, x=x[:, :, :3] + 0, mask=np.zeros((1, 3), bool)),
        dict(layer="Softmax", args={}, x=x[:, :3, :3] + 0, masking=True),
        dict(layer="Softmax", args={}, x=np.ones((1, 3, 4), np.float32) * 1e30),
    ]
    for shape, shared_axes in (((3, 5, 4), None), ((3, 5, 4), [1]), ((2, 3, 5, 4), [1, 2]),
                               ((2, 3, 5, 4), 3)):
        data = x if len(shape) == 3 else image
        probe = layers.PReLU(shared_axes=shared_axes)
        probe.build(shape)
        alpha = rng.uniform(0.1, 0.9, probe.alpha.shape).astype(np.float32)
        found.append(dict(layer="PReLU", args={"shared_axes": shared_axes}, x=data,
                          weights=[alpha]))
        found.append(dict(layer="PReLU", args={"shared_axes": shared_axes}, x=data,
                          weights=[alpha], masking=len(shape) == 3))
    return found


def _fastdl_layer(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = getattr(layers, case["layer"])(**case["args"])
    x = case["x"]
    if case.get("weights") is not None:
        layer.build(x.shape)
        layer.set_weights(case["weights"])
    return layer


@requires_keras
def test_against_keras():
    cases = _keras_cases()
    theirs = run_keras(_KERAS_BODY, cases)
    for case, their in zip(cases, theirs):
        label = f"{case['layer']}({case['args']}) masking={case.get('masking')}"
        layer = _fastdl_layer(case)
        x = case["x"]
        if case.get("masking"):
            x = layers.Masking()(x)
        mine = layer(x, mask=case.get("mask"))
        np.testing.assert_allclose(mine.numpy(), their["y"], rtol=1e-5, atol=1e-6,
                                   err_msg=label)
        if their["mask"] is None:
            assert mine._keras_mask is None or case.get("mask") is not None, label
        else:
            np.testing.assert_array_equal(mine._keras_mask.numpy(), their["mask"], label)
        assert [tuple(w.shape) for w in layer.weights] == their["weights"], label
        assert layer.compute_output_shape((None,) + case["x"].shape[1:]) == their["shape"], \
            label
