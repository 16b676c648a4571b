"""EinsumDense against NumPy's einsum from its own weights: plain and elided equations, the
kernel and bias shapes Keras gives them, activation, training, config and errors."""
import numpy as np
import pytest

from fastdl import keras


@pytest.mark.parametrize("equation, output_shape, bias_axes, input_shape, kernel, bias", [
    ("ab,bc->ac", (4,), "c", (3, 5), (5, 4), (4,)),
    ("abc,cde->abde", (None, 2, 4), "de", (3, 6, 5), (5, 2, 4), (2, 4)),
    ("...b,bc->...c", (7,), None, (2, 3, 4, 5), (5, 7), None),
    ("abc,cd->abd", (4, 3), "bd", (2, 4, 5), (5, 3), (4, 3)),
    ("abc,cd->abd", (None, 3), "b", (2, 4, 5), (5, 3), (4, 1)),
])
def test_matches_numpy_einsum(equation, output_shape, bias_axes, input_shape, kernel, bias, rng):
    layer = keras.layers.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes,
                                     activation="relu", bias_initializer="glorot_uniform")
    x = rng.standard_normal(input_shape).astype(np.float32)
    out = layer(x)
    assert tuple(layer.kernel.shape) == kernel
    assert (None if layer.bias is None else tuple(layer.bias.shape)) == bias
    want = np.einsum(equation, x.astype(np.float64), layer.kernel.numpy().astype(np.float64))
    if layer.bias is not None:
        want = want + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), np.maximum(want, 0), rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape(input_shape) == out.shape


def test_trains_in_a_model_and_round_trips_its_config(rng):
    inputs = keras.Input((6, 5))
    hidden = keras.layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3),
                                      bias_axes="de")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(hidden)))
    model.compile(optimizer="adam", loss="mse")
    layer = model.layers[1]
    before = layer.kernel.numpy().copy()
    model.fit(rng.standard_normal((8, 6, 5)).astype(np.float32), np.ones((8, 1)), epochs=2,
              verbose=0)
    assert not np.array_equal(before, layer.kernel.numpy())
    clone = keras.layers.EinsumDense.from_config(layer.get_config())
    assert (clone.equation, clone.partial_output_shape, clone.bias_axes) == \
        ("abc,cde->abde", (None, 2, 3), "de")


def test_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="is not of the form"):
        keras.layers.EinsumDense("ab...,bc->ac...", output_shape=(3,))(np.ones((2, 4)))
    with pytest.raises(ValueError, match="names 'z', which is not an output axis"):
        keras.layers.EinsumDense("ab,bc->ac", output_shape=(3,), bias_axes="z")(np.ones((2, 4)))
    with pytest.raises(ValueError, match="names 3 input axes"):
        keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 3))(np.ones((2, 4)))
    with pytest.raises(NotImplementedError, match="kernel_constraint"):
        keras.layers.EinsumDense("ab,bc->ac", output_shape=(3,), kernel_constraint="non_neg")
