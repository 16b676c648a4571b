"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot) and
their functional forms: values against float64 NumPy and Keras 3, gradients by central
differences, broadcasting and shape rules, masks, errors, and use in functional models."""
import numpy as np
import pytest

import fastdl
from fastdl import keras, layers
from fastdl.layers import base as layer_base

ELEMENTWISE = {
    "Add": (layers.Add, layers.add, lambda xs: sum(xs)),
    "Subtract": (layers.Subtract, layers.subtract, lambda xs: xs[0] - xs[1]),
    "Multiply": (layers.Multiply, layers.multiply, lambda xs: np.prod(xs, axis=0)),
    "Average": (layers.Average, layers.average, lambda xs: sum(xs) / len(xs)),
    "Maximum": (layers.Maximum, layers.maximum, lambda xs: np.max(xs, axis=0)),
    "Minimum": (layers.Minimum, layers.minimum, lambda xs: np.min(xs, axis=0)),
}


def with_mask(values, mask):
    tensor = fastdl.tensor(np.asarray(values, np.float32))
    tensor._keras_mask = None if mask is None else fastdl.Tensor(np.asarray(mask))
    return tensor


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_merges_match_numpy_in_class_and_functional_forms(name, rng):
    cls, function, reference = ELEMENTWISE[name]
    count = 2 if name == "Subtract" else 3
    xs = [rng.standard_normal((4, 3, 5)) for _ in range(count)]
    expected = reference(xs)
    np.testing.assert_allclose(cls(dtype="float64")(xs).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(function(xs, dtype="float64").numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(cls()(xs).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert getattr(keras.layers, name) is cls and getattr(keras.layers, name.lower()) is function


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_merge_gradients(name, rng):
    cls = ELEMENTWISE[name][0]
    layer = cls(dtype="float64")
    inputs = [fastdl.tensor(rng.standard_normal((3, 4)), requires_grad=True),
              fastdl.tensor(rng.standard_normal((3, 1)), requires_grad=True)]  # broadcast
    assert fastdl.gradcheck(lambda a, b: layer([a, b]), inputs)


def test_elementwise_merges_broadcast_as_keras():
    # Shapes from keras 3.15.1: a lower-rank input gains axes after the batch axis.
    low, high = np.ones((2, 3)), np.arange(24.0).reshape(2, 4, 3)
    out = layers.Add()([low, high])
    assert out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out.numpy(), high + 1)
    assert layers.Add()([np.ones((2, 1, 3)), high]).shape == (2, 4, 3)
    assert layers.Maximum()([np.ones((2, 3)), np.ones((2, 1))]).shape == (2, 3)
    assert layers.Add().compute_output_shape([(None, 3), (None, 4, 3)]) == (None, 4, 3)
    assert layers.Add().compute_output_shape([(None, 1, 3), (None, 4, 1)]) == (None, 4, 3)
    assert layers.Add().compute_output_shape([(5, None), (None, 3)]) == (5, None)


# Values and masks printed by keras 3.15.1 (TensorFlow backend) for these inputs, each merge
# called on [A masked by MASK_A, B masked by MASK_B] ("both") and on [A masked by MASK_A, B]
# ("first"); every output mask of "first" was None.
A = [[[1., -2.], [3., 4.], [5., 6.]], [[-1., 2.], [0.5, -4.], [2., 1.]]]
B = [[[2., 1.], [-3., 0.5], [1., 7.]], [[3., -2.], [1.5, 4.], [-2., 2.]]]
MASK_A = [[True, False, True], [False, True, True]]
MASK_B = [[True, True, False], [False, False, True]]
KERAS_OR_MASK = [[True, True, True], [False, True, True]]
KERAS_MASKED = {
    "Add": ([[[3, -1], [0, 4.5], [6, 13]], [[2, 0], [2, 0], [0, 3]]],) * 2,
    "Subtract": ([[[-1, -3], [6, 3.5], [4, -1]], [[-4, 4], [-1, -8], [4, -1]]],) * 2,
    "Average": ([[[1.5, -0.5], [0, 2.25], [3, 6.5]], [[1, 0], [1, 0], [0, 1.5]]],) * 2,
    "Multiply": ([[[2, -2], [-3, 0.5], [5, 6]], [[0, 0], [0.5, -4], [-4, 2]]],
                 [[[2, -2], [-3, 0.5], [5, 42]], [[3, -2], [0.75, -16], [-4, 2]]]),
    "Maximum": ([[[2, 1], [-3, 0.5], [5, 6]], [[-1, 2], [0.5, -4], [2, 2]]],
                [[[2, 1], [-3, 0.5], [5, 7]], [[3, -2], [1.5, 4], [2, 2]]]),
    "Minimum": ([[[1, -2], [-3, 0.5], [5, 6]], [[-1, 2], [0.5, -4], [-2, 1]]],
                [[[1, -2], [-3, 0.5], [1, 6]], [[3, -2], [0.5, -4], [-2, 1]]]),
}


@pytest.mark.parametrize("name", sorted(KERAS_MASKED))
def test_masked_elementwise_merges_match_keras(name):
    cls = ELEMENTWISE[name][0]
    both_expected, first_expected = KERAS_MASKED[name]
    both = cls()([with_mask(A, MASK_A), with_mask(B, MASK_B)])
    np.testing.assert_allclose(both.numpy(), both_expected, rtol=1e-6)
    np.testing.assert_array_equal(both._keras_mask.numpy(), KERAS_OR_MASK)
    first = cls()([with_mask(A, MASK_A), with_mask(B, None)])
    np.testing.assert_allclose(first.numpy(), first_expected, rtol=1e-6)
    assert first._keras_mask is None


def test_masked_multiply_gradient_skips_masked_steps(rng):
    layer = layers.Multiply(dtype="float64")
    mask = np.array([[True, False, True]])
    a = fastdl.tensor(rng.standard_normal((1, 3, 2)), requires_grad=True)
    b = fastdl.tensor(rng.standard_normal((1, 3, 2)), requires_grad=True)

    def merged(x, y):
        x._keras_mask = fastdl.Tensor(mask)
        return layer([x, y])

    assert fastdl.gradcheck(merged, [a, b])
    merged(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy()[0, 1], [0, 0])  # the masked step of a


# --------------------------------------------------------------------------- Concatenate

def test_concatenate_matches_numpy_and_its_gradient(rng):
    xs = [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 1, 4))]
    out = layers.Concatenate(axis=1, dtype="float64")(xs)
    np.testing.assert_array_equal(out.numpy(), np.concatenate(xs, axis=1))
    np.testing.assert_array_equal(layers.concatenate([xs[0], xs[0]]).numpy(),
                                  np.concatenate([xs[0], xs[0]], axis=-1).astype(np.float32))
    layer = layers.Concatenate(axis=-2, dtype="float64")
    assert fastdl.gradcheck(lambda a, b: layer([a, b]),
                            [fastdl.tensor(x, requires_grad=True) for x in xs])


def test_concatenate_shapes_and_masks_match_keras():
    # Shapes and masks from keras 3.15.1 for the same calls.
    three = layers.Input((3, 2))
    assert layers.Concatenate(axis=1)([three, layers.Input((None, 2))]).shape == (None, None, 2)
    assert layers.Concatenate()([three, layers.Input((3, 5))]).shape == (None, 3, 7)
    last = layers.Concatenate()([with_mask(A, MASK_A), with_mask(B, None)])
    assert last.shape == (2, 3, 4)
    np.testing.assert_array_equal(last._keras_mask.numpy(), np.ones((2, 3), bool))
    steps = layers.Concatenate(axis=1)([with_mask(A, MASK_A), with_mask(B, MASK_B)])
    np.testing.assert_array_equal(steps._keras_mask.numpy(),
                                  [[True, False, True, True, True, False],
                                   [False, True, True, False, False, True]])
    assert layers.Concatenate()([with_mask(A, None), with_mask(B, None)])._keras_mask is None


# --------------------------------------------------------------------------- Dot

def dot_reference(x, y, axes, normalize=False):
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=axes[0], keepdims=True), 1e-7)
        y = y / np.maximum(np.linalg.norm(y, axis=axes[1], keepdims=True), 1e-7)
    out = np.stack([np.tensordot(a, b, axes=(axes[0] - 1, axes[1] - 1)) for a, b in zip(x, y)])
    return out.reshape(len(x), 1) if out.ndim == 1 else out


@pytest.mark.parametrize("shapes,axes", [
    (((4, 5), (4, 5)), 1),
    (((4, 3, 5), (4, 5)), (2, 1)),
    (((4, 5), (4, 5, 3)), (1, 1)),
    (((4, 3, 2), (4, 3, 6)), 1),
    (((4, 3, 2), (4, 5, 2)), -1),
    (((2, 2, 3, 4), (2, 4, 5)), (3, 1)),
    (((2, 3, 4), (2, 6, 5, 3)), (1, -1)),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_matches_numpy_and_its_gradient(shapes, axes, normalize, rng):
    x, y = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    layer = layers.Dot(axes=axes, normalize=normalize, dtype="float64")
    pair = (axes, axes) if isinstance(axes, int) else axes
    positive = [a % len(s) for a, s in zip(pair, shapes)]
    out = layer([x, y])
    np.testing.assert_allclose(out.numpy(), dot_reference(x, y, positive, normalize),
                               rtol=1e-10, atol=1e-12)
    assert layer.compute_output_shape([(None,) + s[1:] for s in shapes]) == \
        (None,) + out.shape[1:]
    assert fastdl.gradcheck(lambda a, b: layer([a, b]),
                            [fastdl.tensor(x, requires_grad=True),
                             fastdl.tensor(y, requires_grad=True)])


def test_dot_matches_keras():
    # Printed by keras 3.15.1 for the same inputs.
    np.testing.assert_allclose(
        layers.Dot(axes=(2, 2))([np.array(A), np.array(B)]).numpy(),
        [[[0, -4, -13], [10, -7, 31], [16, -12, 47]],
         [[-7, 6.5, 6], [9.5, -15.25, -9], [4, 7, -2]]], rtol=1e-6)
    np.testing.assert_allclose(layers.Dot(axes=1)([np.array(A), np.array(B)]).numpy(),
                               [[[-2, 37.5], [-10, 42]], [[-6.25, 8], [-2, -18]]], rtol=1e-6)
    np.testing.assert_allclose(
        layers.Dot(axes=-1, normalize=True)([np.array(A), np.array(B)]).numpy(),
        [[[0.0, -0.588171660900116, -0.8221921920776367],
          [0.8944271802902222, -0.4603171944618225, 0.8768124580383301],
          [0.9161572456359863, -0.5051791667938232, 0.851036012172699]],
         [[-0.8682431578636169, 0.6804510951042175, 0.9486832618713379],
          [0.6536198854446411, -0.8855472207069397, -0.7893521785736084],
          [0.49613893032073975, 0.7327935099601746, -0.3162277638912201]]],
        rtol=1e-5, atol=1e-6)
    x = np.array([[1., 2., 3.], [0., -1., 2.]])
    np.testing.assert_array_equal(layers.dot([x, np.array([[2., 0., 1.], [1., 1., 1.]])],
                                             axes=1),
                                  [[5], [1]])
    np.testing.assert_array_equal(layers.dot([x, np.zeros((2, 3))], axes=1, normalize=True),
                                  [[0], [0]])  # a zero vector stays zero
    assert layers.Dot(axes=(2, 2))([with_mask(A, MASK_A), with_mask(B, MASK_B)]) \
        ._keras_mask is None
    shapes = [layers.Dot(axes=(1, 1))([layers.Input((3, 2)), layers.Input((3, 4))]).shape,
              layers.Dot(axes=2)([layers.Input((3, 2)), layers.Input((5, 2))]).shape,
              layers.Dot(axes=1)([layers.Input((3,)), layers.Input((3,))]).shape]
    assert shapes == [(None, 2, 4), (None, 3, 5), (None, 1)]


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call,error,pattern", [
    (lambda: layers.Add(name="total")([np.ones((2, 3)), np.ones((2, 4))]), ValueError,
     r"'total' \(Add\).*\(2, 3\), \(2, 4\) do not broadcast"),
    (lambda: layers.Add()([np.ones((2, 3)), np.ones((3, 3))]), ValueError,
     r"different batch sizes.*\(2, 3\), \(3, 3\)"),
    (lambda: layers.Subtract()([np.ones((2, 3))] * 3), ValueError,
     r"\(Subtract\) takes 2 input tensor\(s\); received 3"),
    (lambda: layers.Add()(np.ones((2, 3))), ValueError,
     r"\(Add\) must be called on a list of tensors.*\(2, 3\)"),
    (lambda: layers.Concatenate()([np.ones((2, 3, 4)), np.ones((2, 4, 4))]), ValueError,
     r"same shape except along the concatenation axis -1.*\(2, 3, 4\), \(2, 4, 4\)"),
    (lambda: layers.Concatenate()([np.ones((2, 3)), np.ones((2, 3, 4))]), ValueError,
     r"same rank.*\(2, 3\), \(2, 3, 4\)"),
    (lambda: layers.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))]), ValueError,
     r"\(Dot\): axis 1 of the first input has size 3 but axis 1 of the second has size 4"),
    (lambda: layers.Dot(axes=0)([np.ones((2, 3)), np.ones((2, 3))]), ValueError,
     r"\(Dot\): axes=0 include the batch axis"),
    (lambda: layers.Dot(axes=(1, 2, 3)), ValueError, "pair of ints"),
    (lambda: layers.Dot(axes="x"), TypeError, "pair of ints"),
])
def test_merge_errors_name_the_layer_and_the_shapes(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_shapes_are_checked_at_every_call_and_symbolically():
    layer = layers.Add(name="sum")
    layer([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match=r"'sum'.*\(2, 3\), \(2, 4\)"):
        layer([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match=r"\(None, 3\), \(None, 4\)"):
        layers.multiply([layers.Input((3,)), layers.Input((4,))])


# --------------------------------------------------------------------------- in models

def test_merges_in_a_functional_model_replay_and_train(rng):
    fastdl.manual_seed(0)
    a, b = layers.Input((4,)), layers.Input((4,))
    merged = layers.concatenate([layers.add([a, b]), layers.multiply([a, b]),
                                 layers.Dot(axes=1)([a, b])])
    assert merged.shape == (None, 9)
    model = keras.Model([a, b], layers.Dense(1)(merged))
    xa = rng.standard_normal((64, 4)).astype(np.float32)
    xb = rng.standard_normal((64, 4)).astype(np.float32)
    features = np.concatenate([xa + xb, xa * xb, (xa * xb).sum(1, keepdims=True)], axis=1)
    dense = model.layers[-1]
    np.testing.assert_allclose(model.predict([xa, xb]),
                               features @ dense.kernel.numpy() + dense.bias.numpy(),
                               rtol=1e-5, atol=1e-5)
    y = (xa * xb).sum(1, keepdims=True)  # learnable exactly from the Dot feature
    model.compile(optimizer=fastdl.optimizers.Adam(0.05), loss="mse")
    history = model.fit([xa, xb], y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]


def test_a_built_merge_on_plain_tensors_takes_the_short_call_and_still_checks_shapes(
        monkeypatch):
    a, b = fastdl.ones(4, 3), fastdl.full((4, 3), 2.0)
    add = layers.Add()
    add([a, b])

    def general_call(*args, **kwargs):
        raise AssertionError("the general call path was taken")

    monkeypatch.setattr(layer_base, "call_layer", general_call)
    np.testing.assert_array_equal(add([a, b]).numpy(), np.full((4, 3), 3.0))
    with pytest.raises(ValueError, match=r"\(4, 3\), \(4, 5\) do not broadcast together"):
        add([a, fastdl.ones(4, 5)])
    masked = fastdl.ones(4, 3)
    masked._keras_mask = fastdl.tensor(np.ones(4, bool))
    with pytest.raises(AssertionError, match="general call path"):  # masks take the long way
        add([masked, b])
