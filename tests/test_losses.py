"""Loss objects and metrics against float64 NumPy formulas (Keras's definitions), the fused
softmax/sigmoid paths against the plain ones, edge values and errors. The per-sample loss
functions' values and gradients are in the table of operation cases (tests/test_op_cases.py)."""
import numpy as np
import pytest

import fastdl
import reference as ref
from fastdl import losses, metrics

EPS = 1e-7


def probabilities(rng, n=6, classes=4):
    return ref.softmax(rng.standard_normal((n, classes)))


# --------------------------------------------------------------------------- values

def test_sparse_categorical_crossentropy_object_on_probabilities(rng):
    p = probabilities(rng)
    y = rng.integers(0, 4, 6)
    expected = -np.log(np.clip(p[np.arange(6), y], EPS, 1 - EPS))
    loss = losses.SparseCategoricalCrossentropy()(y, fastdl.tensor(p))
    assert loss.item() == pytest.approx(expected.mean(), rel=1e-12)


def test_categorical_crossentropy_renormalizes_and_clips(rng):
    p = probabilities(rng) * 2.0  # unnormalized on purpose: Keras renormalizes
    t = fastdl.utils.to_categorical(rng.integers(0, 4, 6), 4, dtype="float64")
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    expected = -(t * np.log(q)).sum(-1).mean()
    assert losses.CategoricalCrossentropy()(t, p).item() == pytest.approx(expected, rel=1e-12)


def test_binary_crossentropy_clips_exact_zeros_and_ones():
    p = np.array([[0.0], [1.0], [0.3]])
    t = np.array([1.0, 0.0, 1.0])
    q = np.clip(p[:, 0], EPS, 1 - EPS)
    expected = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    np.testing.assert_allclose(losses.binary_crossentropy(t, p).numpy(), expected, rtol=1e-9)
    assert np.isfinite(losses.BinaryCrossentropy()(t, p).item())


def test_mse_and_mae(rng):
    p, t = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    assert losses.MeanSquaredError()(t, p).item() == pytest.approx(((p - t) ** 2).mean())
    assert losses.get("mae")(t, p).item() == pytest.approx(np.abs(p - t).mean())
    # (N,) targets for (N, 1) predictions, as in Keras.
    assert losses.mse(t[:, 0], p[:, :1]).shape == (5,)


@pytest.mark.parametrize("name", ["sparse_categorical_crossentropy",
                                  "categorical_crossentropy"])
def test_from_logits_equals_softmax_probabilities(name, rng):
    z = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    t = y if name.startswith("sparse") else fastdl.utils.to_categorical(y, 4, "float64")
    with_logits = losses.get(name)
    with_logits.from_logits = True
    expected = -np.log(ref.softmax(z)[np.arange(5), y]).mean()
    assert with_logits(t, z).item() == pytest.approx(expected, rel=1e-10)


def test_binary_from_logits_is_stable_at_large_logits():
    z = np.array([[80.0], [-80.0], [0.0]])
    t = np.array([1.0, 1.0, 0.0])
    expected = np.array([0.0, 80.0, np.log(2.0)])
    out = losses.binary_crossentropy(t, z, from_logits=True).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-12)


# --------------------------------------------------------------------------- fused paths

def test_softmax_output_feeds_the_fused_kernel_with_the_same_value_and_gradient(rng):
    z = rng.standard_normal((8, 5))
    y = rng.integers(0, 5, 8)
    logits = fastdl.tensor(z, requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy()(y, fastdl.softmax(logits))
    assert type(loss._node).__name__ == "SoftmaxCrossEntropy"  # the fused kernel ran
    loss.backward()
    onehot = fastdl.utils.to_categorical(y, 5, "float64")
    np.testing.assert_allclose(logits.grad.numpy(), (ref.softmax(z) - onehot) / 8, atol=1e-12)
    plain = -np.log(ref.softmax(z)[np.arange(8), y]).mean()
    assert loss.item() == pytest.approx(plain, rel=1e-12)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("label_shape", [(3, 7), (3, 7, 1)])
def test_sequence_logits_feed_the_fused_kernel_with_the_same_value_and_gradient(
        rng, from_logits, label_shape):
    # A language model's (batch, steps, classes): the mean over every position, as Keras's
    # sum_over_batch_size, from the same kernel as (batch, classes).
    z = rng.standard_normal((3, 7, 5))
    y = rng.integers(0, 5, (3, 7))
    logits = fastdl.tensor(z, requires_grad=True)
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    loss = loss_fn(y.reshape(label_shape), logits if from_logits else fastdl.softmax(logits))
    assert type(loss._node).__name__ == "SoftmaxCrossEntropy"
    loss.backward()
    p = ref.softmax(z.reshape(-1, 5))
    flat = y.reshape(-1)
    onehot = np.eye(5)[flat]
    assert loss.item() == pytest.approx(-np.log(p[np.arange(21), flat]).mean(), rel=1e-12)
    np.testing.assert_allclose(logits.grad.numpy(), ((p - onehot) / 21).reshape(3, 7, 5),
                               atol=1e-12)


def test_fused_path_has_no_clipping_so_confident_mistakes_cost_more():
    z = np.array([[40.0, -40.0]])
    recorded = fastdl.tensor(z, requires_grad=True)
    fused = losses.SparseCategoricalCrossentropy()([1], fastdl.softmax(recorded)).item()
    with fastdl.no_grad():
        clipped = losses.SparseCategoricalCrossentropy()([1], fastdl.softmax(
            fastdl.tensor(z))).item()
    assert fused == pytest.approx(80.0) and clipped == pytest.approx(-np.log(EPS), rel=1e-6)


def test_sigmoid_output_feeds_the_logits_path(rng):
    z = rng.standard_normal((6, 1))
    t = rng.integers(0, 2, 6).astype(np.float64)
    logits = fastdl.tensor(z, requires_grad=True)
    loss = losses.BinaryCrossentropy()(t, fastdl.sigmoid(logits))
    loss.backward()
    s = 1 / (1 + np.exp(-z[:, 0]))
    np.testing.assert_allclose(logits.grad.numpy()[:, 0], (s - t) / 6, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: fastdl.layers.Dense(1, activation="sigmoid"),
    lambda: fastdl.layers.Conv2D(1, 1, activation="sigmoid"),
    lambda: fastdl.layers.Conv2DTranspose(1, 1, activation="sigmoid"),
])
def test_a_layers_sigmoid_feeds_the_logits_path_when_saturated(make):
    """As in Keras: a layer's own sigmoid activation leaves its logits for the loss, so a
    saturated wrong output (logit -20, target 1) still has the gradient p - 1 (clipped
    probabilities would give 0 and a loss of -log(1e-7) = 16.1 instead of 20)."""
    layer = make()
    x = np.full((1, 1, 1, 1), 20.0, np.float32)
    x = x.reshape(1, 1) if isinstance(layer, fastdl.layers.Dense) else x
    layer.build(x.shape)
    layer.set_weights([np.full(w.shape, -1.0 if w.ndim > 1 else 0.0, np.float32)
                       for w in layer.get_weights()])
    with fastdl.GradientTape() as tape:
        loss = losses.BinaryCrossentropy()(np.ones(x.shape, np.float32), layer(x))
    kernel_grad = tape.gradient(loss, [layer.kernel])[0].numpy()
    assert loss.item() == pytest.approx(20.0, rel=1e-6)
    np.testing.assert_allclose(kernel_grad.ravel(), [-20.0], rtol=1e-6)


def test_loss_errors_name_the_loss_and_shapes():
    p = np.full((3, 4), 0.25)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: y_true has shape "
                                         r"\(2,\).*\(3, 4\)"):
        losses.SparseCategoricalCrossentropy()([0, 1], p)
    with pytest.raises(ValueError, match=r"categorical_crossentropy: y_true has shape \(3, 3\)"):
        losses.CategoricalCrossentropy()(np.eye(3), p)
    with pytest.raises(ValueError, match="non-integral"):
        losses.SparseCategoricalCrossentropy()([0.5, 1, 2], p)
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get("crossentropy")
    with pytest.raises(TypeError, match="from_logits"):
        losses.MeanSquaredError(from_logits=True)


def test_loss_reductions_and_callables(rng):
    p, t = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    per_sample = ((p - t) ** 2).mean(-1)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="none")(t, p).numpy(),
                               per_sample)
    assert losses.MeanSquaredError(reduction="sum")(t, p).item() == pytest.approx(
        per_sample.sum())
    custom = losses.get(lambda y_true, y_pred: ((y_pred - y_true) ** 2).sum(axis=-1))
    assert custom(t, fastdl.tensor(p)).item() == pytest.approx(((p - t) ** 2).sum(-1).mean())
    assert isinstance(losses.get(losses.sparse_categorical_crossentropy),
                      losses.SparseCategoricalCrossentropy)


# --------------------------------------------------------------------------- metrics

def test_accuracy_metrics_and_their_running_means():
    m = metrics.get("accuracy", loss_name="sparse_categorical_crossentropy")
    m.update_state([0, 1], np.array([[0.9, 0.1], [0.8, 0.2]]))
    m.update_state([1, 1, 1], np.array([[0.1, 0.9]] * 3))
    assert m.result() == pytest.approx(4 / 5) and m.name == "accuracy"
    m.reset_state()
    assert m.result() == 0.0
    binary = metrics.get("acc", loss_name="binary_crossentropy")
    binary.update_state([1, 0, 1], np.array([[0.7], [0.6], [0.2]]))
    assert binary.result() == pytest.approx(1 / 3) and binary.name == "acc"
    onehot = metrics.get("accuracy", loss_name="categorical_crossentropy")
    onehot.update_state(np.eye(3), np.eye(3)[[0, 2, 2]])
    assert onehot.result() == pytest.approx(2 / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_argmax_matches_counts_numpys_argmax_hits(rng, dtype):
    scores = rng.standard_normal((200, 7)).astype(dtype)
    scores[:20, 3] = scores[:20, 5] = 9.0       # ties: the first column wins
    scores[20:30, 4] = np.nan                     # a NaN wins, the first NaN
    scores[25:30, 6] = np.nan
    labels = rng.integers(0, 7, 200)
    labels[:10] = 3
    labels[10:20] = 5
    labels[30:35] = [-1, 7, 100, -5, 8]           # never a hit
    for lab in (labels, labels.astype(np.int32)):
        want = int(np.sum(scores.argmax(axis=-1) == lab))
        assert fastdl._C.argmax_matches(scores, lab) == want
    assert fastdl._C.argmax_matches(scores[:, :1], np.zeros(200, np.uint8)) == 200


def test_argmax_matches_checks_its_arguments():
    with pytest.raises(ValueError, match=r"labels has shape \(3,\); expected labels of shape "
                                         r"\(2,\)"):
        fastdl._C.argmax_matches(np.zeros((2, 4), np.float32), np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="expected an integer array"):
        fastdl._C.argmax_matches(np.zeros((2, 4), np.float32), np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="an empty last axis has no largest score"):
        fastdl._C.argmax_matches(np.zeros((2, 0), np.float32), np.zeros(2, np.int64))


@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_sparse_accuracy_counted_natively_matches_the_per_sample_definition(rng, label_shape):
    # fit's batches take the native count; weighted ones the per-sample values: same means.
    native = metrics.get("accuracy", loss_name="sparse_categorical_crossentropy")
    per_sample = metrics.MeanMetricWrapper(metrics.sparse_categorical_accuracy)
    for rows in (64, 64, 17):
        scores = rng.standard_normal((rows, 10)).astype(np.float32)
        labels = rng.integers(0, 10, rows).astype(np.uint8)
        if label_shape == "column":
            labels = labels[:, None]
        native.update_state(labels, scores)
        per_sample.update_state(labels, scores)
    assert isinstance(native, metrics.SparseCategoricalAccuracy) and native.name == "accuracy"
    assert native.result() == pytest.approx(per_sample.result(), abs=1e-15)
    native.update_state([1, 2], np.eye(3)[[1, 0]], sample_weight=[1.0, 3.0])
    per_sample.update_state([1, 2], np.eye(3)[[1, 0]], sample_weight=[1.0, 3.0])
    assert native.result() == pytest.approx(per_sample.result(), abs=1e-15)


def test_accuracy_guessed_from_shapes_without_a_known_loss():
    y = np.zeros((4, 3))
    assert metrics.get("accuracy", y_true=y, output_shape=(None, 3)).fn is \
        metrics.categorical_accuracy
    assert metrics.get("accuracy", y_true=np.zeros(4), output_shape=(None, 3)).fn is \
        metrics.sparse_categorical_accuracy
    assert metrics.get("accuracy", y_true=np.zeros(4), output_shape=(None, 1)).fn is \
        metrics.binary_accuracy


def test_regression_metrics(rng):
    p, t = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    assert metrics.get("mae")(t, p) == pytest.approx(np.abs(p - t).mean())
    assert metrics.MeanSquaredError()(t, p) == pytest.approx(((p - t) ** 2).mean())
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.get("precision@k")


# --------------------------------------------------------------------------- against Keras 3

def keras_data(shape):
    """Targets in [0, 1) and predictions in (0.05, 0.95), the same arithmetic that made
    Keras's values below."""
    n = int(np.prod(shape))
    t = ((np.arange(n) * 7 % 11) / 11.0).reshape(shape).astype(np.float32)
    p = (0.05 + 0.9 * ((np.arange(n) * 5 % 13) / 13.0)).reshape(shape).astype(np.float32)
    onehot = np.eye(shape[-1], dtype=np.float32)[
        (np.arange(n // shape[-1]) % shape[-1]).reshape(shape[:-1])]
    labels = (np.arange(n // shape[-1]) * 3 % shape[-1]).reshape(shape[:-1])
    return t, p, onehot, labels


# Keras 3.15's keras.losses.<function>(y_true, y_pred) on keras_data((2, 2, 3, 4)): per-pixel
# losses of shape (2, 2, 3), the first four values.
KERAS_4D = {
    "mean_squared_error": [0.2000033, 0.19443531, 0.08410228, 0.08813011],
    "mean_absolute_error": [0.37010491, 0.35489511, 0.24895105, 0.24125874],
    "binary_crossentropy": [0.85688549, 1.0572181, 0.61793798, 0.79464227],
    "categorical_crossentropy": [3.3155837, 1.0088181, 0.71192706, 0.88149548],
    "sparse_categorical_crossentropy": [3.3155837, 1.2777542, 0.71192712, 3.5792363],
}


@pytest.mark.parametrize("name", sorted(KERAS_4D))
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (2, 2, 3, 4)])
def test_loss_functions_reduce_the_last_axis_as_keras(name, shape):
    t, p, onehot, labels = keras_data(shape)
    target = {"categorical_crossentropy": onehot,
              "sparse_categorical_crossentropy": labels}.get(name, t)
    out = getattr(losses, name)(target, fastdl.tensor(p))
    assert out.shape == shape[:-1]  # one loss per row of the last axis, as in Keras
    if len(shape) == 4:
        np.testing.assert_allclose(out.numpy().ravel()[:4], KERAS_4D[name], rtol=1e-5)


def test_loss_objects_reduce_every_axis_as_keras():
    t, p, onehot, labels = keras_data((2, 2, 3, 4))
    image_bce = losses.BinaryCrossentropy()(t, fastdl.tensor(p))  # VAE reconstruction style
    assert image_bce.shape == () and image_bce.item() == pytest.approx(0.90073556, rel=1e-5)
    assert losses.BinaryCrossentropy(reduction="none")(t, p).shape == (2, 2, 3)
    assert losses.MeanSquaredError(reduction="sum")(t, p).item() == pytest.approx(
        1.8996657, rel=1e-5)
    assert losses.SparseCategoricalCrossentropy()(labels, p).item() == pytest.approx(
        2.2627146, rel=1e-5)


def test_sample_weights_reductions_and_label_smoothing_as_keras():
    t, p, _, _ = keras_data((4, 3))
    w = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
    assert losses.MeanSquaredError()(t, p, sample_weight=w).item() == pytest.approx(
        0.08569137, rel=1e-5)
    assert losses.MeanSquaredError()(t, p, sample_weight=w[:, None]).item() == \
        pytest.approx(0.08569137, rel=1e-5)
    assert losses.MeanSquaredError(reduction="mean_with_sample_weight")(
        t, p, sample_weight=w).item() == pytest.approx(0.09793299, rel=1e-5)
    assert losses.MeanAbsoluteError(reduction="sum")(t, p, sample_weight=w).item() == \
        pytest.approx(0.90658504, rel=1e-5)
    np.testing.assert_allclose(
        losses.BinaryCrossentropy(reduction="none")(t, p, sample_weight=w).numpy(),
        [0.63047045, 0.0, 1.3901826, 0.3604997], rtol=1e-5)
    assert losses.BinaryCrossentropy(label_smoothing=0.1)(t, p).item() == pytest.approx(
        0.85068792, rel=1e-5)
    onehot = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
    assert losses.CategoricalCrossentropy(label_smoothing=0.2)(onehot, p).item() == \
        pytest.approx(1.4816122, rel=1e-5)
    np.testing.assert_allclose(
        losses.categorical_crossentropy(onehot, p, label_smoothing=0.2).numpy(),
        [2.8505573, 0.73544085, 0.6720662, 1.6683847], rtol=1e-5)
    assert losses.SparseCategoricalCrossentropy()([0, 2, 1, 2], p, sample_weight=w).item() \
        == pytest.approx(1.2694004, rel=1e-5)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\) does not fit"):
        losses.MeanSquaredError()(t, p, sample_weight=w[:3])


def test_the_mask_of_the_predictions_weights_the_losses_as_keras():
    t, p, _, _ = keras_data((2, 3, 4))
    predictions = fastdl.tensor(p)
    predictions._keras_mask = fastdl.tensor(np.array([[True, True, False],
                                                      [True, False, False]]))
    assert losses.MeanSquaredError()(t, predictions).item() == pytest.approx(
        0.16085625, rel=1e-5)  # the mean over the three kept steps
    assert losses.MeanSquaredError(reduction="sum")(t, predictions).item() == \
        pytest.approx(0.48256874, rel=1e-5)
    weights = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    assert losses.MeanSquaredError()(t, predictions, sample_weight=weights).item() == \
        pytest.approx(0.3137981, rel=1e-5)
