"""Calling layers as Keras 3 does: several tensor arguments, positional or keyword and nested;
outputs that are tuples, lists or dicts; lazy builds from shapes by argument name; the
training flag reaching nested layers; masks; add_weight's forms. Eagerly and in functional
models (symbolic tensors), against float64 NumPy references."""
import threading
import warnings

import numpy as np
import pytest

import fastdl
from fastdl import initializers, keras, layers, ops


# --------------------------------------------------------------------------- several tensors

class Attend(layers.Layer):
    """softmax(q (v w)^T, masked) v: two tensor arguments and a keyword tensor."""

    def build(self, query_shape, value_shape):
        self.built_with = (query_shape, value_shape)
        self.w = self.add_weight(shape=(value_shape[-1], value_shape[-1]), name="w")

    def call(self, query, value, attention_mask=None):
        keys = ops.matmul(value, self.w)
        scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
        if attention_mask is not None:
            scores = ops.where(attention_mask, scores, -1e9)
        return ops.matmul(ops.softmax(scores), value)

    def compute_output_shape(self, query_shape, value_shape):
        return query_shape[:-1] + value_shape[-1:]


def attend_reference(q, v, w, mask):
    scores = np.where(mask, q @ np.swapaxes(v @ w, 1, 2), -1e9)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v


def test_two_tensors_and_a_keyword_tensor_eagerly_and_in_a_model(rng):
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    mask = rng.random((2, 3, 5)) > 0.3
    layer = Attend(dtype="float64")
    out = layer(q, v, attention_mask=mask)
    assert layer.built_with == ((2, 3, 4), (2, 5, 4))
    np.testing.assert_allclose(out.numpy(), attend_reference(q, v, layer.w.numpy(), mask),
                               rtol=1e-10)

    qi, vi = layers.Input((3, 4)), layers.Input((5, 4))
    mi = layers.Input((3, 5), dtype="bool")
    shared = Attend()
    symbolic = shared(qi, value=vi, attention_mask=mi)
    assert symbolic.shape == (None, 3, 4)  # from compute_output_shape
    assert shared.built_with == ((None, 3, 4), (None, 5, 4))
    assert {id(t) for t in symbolic.node.inputs} == {id(qi), id(vi), id(mi)}
    model = keras.Model([qi, vi, mi], symbolic)
    expected = attend_reference(q, v, shared.w.numpy().astype(np.float64), mask)
    np.testing.assert_allclose(model.predict([q, v, mask]), expected, rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_tensor_argument(rng):
    layer = Attend(dtype="float64")
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    mask = rng.random((2, 3, 5)) > 0.3
    layer(q, v)
    assert fastdl.gradcheck(lambda a, b: layer(a, b, attention_mask=mask),
                            [fastdl.tensor(q, requires_grad=True),
                             fastdl.tensor(v, requires_grad=True)])


def test_build_with_one_argument_gets_the_first_tensor_shape():
    class Sum(layers.Layer):
        def build(self, input_shape):
            self.got = input_shape

        def call(self, a, b):
            return b

    layer = Sum()
    layer(np.ones((2, 3)), np.ones((2, 3)))
    assert layer.got == (2, 3)  # as Keras 3 (checked with keras 3.15.1)
    nested = Sum()
    nested([np.ones((2, 3)), np.ones((4, 3))], b=np.ones(1))
    assert nested.got == [(2, 3), (4, 3)]  # a list of tensors: a list of shapes


def test_build_arguments_must_name_call_arguments():
    class Bad(layers.Layer):
        def build(self, a_shape, c_shape):
            pass

        def call(self, a, b):
            return a

    with pytest.raises(ValueError, match=r"'bad_layer'.*build\(\).*'c_shape'.*a, b"):
        Bad(name="bad_layer")(np.ones((1, 2)), np.ones((1, 2)))
    assert not Bad().built


def test_compute_output_shape_for_several_inputs():
    class Outer(layers.Layer):
        def call(self, a, b):
            return a[:, :, None] * b[:, None, :]

    assert Outer().compute_output_shape((None, 3), (None, 4)) == (None, 3, 4)
    assert Outer().compute_output_shape((None, 3), b_shape=(None, 5)) == (None, 3, 5)
    assert Attend().compute_output_shape((None, 2, 4), (None, 6, 8)) == (None, 2, 8)
    # The single-input fallback: the layer is built and run on one sample of zeros.
    dense = layers.Dense(3)
    assert dense.compute_output_shape((None, 5)) == (None, 3) and dense.built


def test_outputs_may_be_tuples_lists_and_dicts_in_a_model(rng):
    class Split(layers.Layer):
        def call(self, x):
            return {"head": x[:, :2], "tail": x[:, 2:]}, (x * 2.0, [x - 1.0])

    inputs = layers.Input((5,))
    parts, (doubled, [shifted]) = Split()(inputs)
    assert parts["head"].shape == (None, 2) and parts["tail"].shape == (None, 3)
    model = keras.Model(inputs, {"a": layers.Activation("tanh")(parts["tail"]),
                                 "b": [doubled, shifted]})
    x = rng.standard_normal((4, 5)).astype(np.float32)
    out = model(x)
    np.testing.assert_allclose(out["a"].numpy(), np.tanh(x[:, 2:]), rtol=1e-6)
    np.testing.assert_array_equal(out["b"][0].numpy(), x * 2)
    np.testing.assert_array_equal(out["b"][1].numpy(), x - 1)


def test_nested_arguments_are_converted_by_position_and_keyword():
    seen = {}

    class Look(layers.Layer):
        def call(self, inputs, extras=None, note=None):
            seen.update(inputs=inputs, extras=extras, note=note)
            return inputs["x"]

    layer = Look()
    layer({"x": np.ones((1, 2)), "y": [np.zeros((1, 2), np.int64)]},
          extras={"flags": np.ones((1, 2), bool), "scale": np.ones(2)}, note="kept")
    assert seen["inputs"]["x"].dtype == np.float32
    # A user's call gets integer data as Keras passes it (fastdl's own layers, their dtype).
    assert seen["inputs"]["y"][0].dtype == np.int64
    assert seen["extras"]["flags"].dtype == np.bool_  # keyword masks keep their dtype
    assert seen["extras"]["scale"].dtype == np.float32
    assert seen["note"] == "kept"
    with pytest.raises(TypeError, match=r"'look'.*positional.*'kept'"):
        layer({"x": np.ones((1, 2))}, None, "kept")


def test_a_users_embedding_layer_gets_its_token_ids_as_integers():
    class TokenAndPosition(layers.Layer):
        def __init__(self):
            super().__init__()
            self.tokens, self.positions = layers.Embedding(10, 4), layers.Embedding(3, 4)

        def call(self, ids):
            return self.tokens(ids) + self.positions(fastdl.ops.arange(ids.shape[-1]))

    ids = np.array([[1, 2, 9]], np.int32)
    layer = TokenAndPosition()
    out = layer(ids)
    expected = layer.tokens.embeddings.numpy()[ids] + layer.positions.embeddings.numpy()[:3]
    np.testing.assert_allclose(out.numpy(), expected)
    inputs = keras.Input((3,), dtype="int32")                  # and in a functional model
    model = keras.Model(inputs, TokenAndPosition()(inputs))
    assert model.predict(ids, verbose=0).shape == (1, 3, 4)
    # fastdl's own layers still take integer data in their dtype.
    assert layers.Dense(2)(np.ones((1, 3), np.int64)).dtype == np.float32


def test_tensors_and_other_values_do_not_mix_in_one_argument():
    class Two(layers.Layer):
        def call(self, inputs, pair=None):
            return inputs

    with pytest.raises(ValueError, match="'pair' mixes tensors"):
        Two()(np.ones((1, 2)), pair=[fastdl.ones(1, 2), 3])


# --------------------------------------------------------------------------- training flag

class Probe(layers.Layer):
    """Records the training flag each call receives."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flags = []

    def call(self, x, training=None):
        self.flags.append(training)
        return x


class Block(layers.Layer):
    """A custom layer whose call takes no training flag, around a Probe and a Dropout."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.probe = Probe()
        self.dropout = layers.Dropout(0.5, seed=0)

    def call(self, x):
        return self.dropout(self.probe(x))


def test_training_flag_reaches_layers_nested_in_a_custom_layer():
    block = Block()
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), block, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 1), np.float32)
    block.probe.flags.clear()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert block.probe.flags == [True, True]  # active in fit
    block.probe.flags.clear()
    model.predict(x, batch_size=8)
    model.evaluate(x, y, batch_size=8, verbose=0)
    assert block.probe.flags == [False, False]  # inactive at inference
    block.probe.flags.clear()
    model(x)
    assert block.probe.flags == [None]  # a plain call sets no flag
    ones = fastdl.ones(64, 4)
    assert (block(ones, training=True).numpy() == 0).any()  # the Dropout drops
    assert (block(ones).numpy() == 1).all()


def test_an_explicit_training_flag_wins_and_the_context_is_restored():
    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner, self.after = Probe(), Probe()

        def call(self, x):
            x = self.inner(x, training=False)  # explicit: wins over the enclosing True
            return self.after(x)  # the enclosing flag again

    outer = Outer()
    outer(fastdl.ones(1, 2), training=True)
    assert outer.inner.flags == [False] and outer.after.flags == [True]
    assert fastdl.layers.calling.current_training() is None


def test_the_call_default_of_training_reaches_nested_layers():
    class Defaulted(layers.Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, x, training=True):
            return self.probe(x)

    layer = Defaulted()
    layer(fastdl.ones(1, 2))
    layer(fastdl.ones(1, 2), training=False)
    assert layer.probe.flags == [True, False]


def test_the_training_flag_is_restored_after_an_error_and_is_per_thread():
    class Failing(layers.Layer):
        def call(self, x):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Failing()(fastdl.ones(1, 2), training=True)
    assert fastdl.layers.calling.current_training() is None

    seen = []

    class Waits(layers.Layer):
        def call(self, x):
            started.set()
            release.wait(5)
            return x

    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=lambda: Waits()(fastdl.ones(1, 2), training=True))
    worker.start()
    started.wait(5)
    probe = Probe()
    probe(fastdl.ones(1, 2))  # meanwhile, in this thread: no flag
    seen.extend(probe.flags)
    release.set()
    worker.join()
    assert seen == [None]


def test_training_reaches_call_only_when_its_signature_takes_it():
    class Plain(layers.Layer):
        def call(self, x):
            return x

    class Catchall(layers.Layer):
        def call(self, x, **kwargs):
            self.kwargs = kwargs
            return x

    Plain()(fastdl.ones(1), training=True)  # no TypeError
    catchall = Catchall()
    catchall(fastdl.ones(1), training=True)
    assert catchall.kwargs == {"training": True}


# --------------------------------------------------------------------------- masks

class NonZero(layers.Layer):
    """Makes a mask: the steps whose features are not all zero."""

    def call(self, x):
        return x * 2.0

    def compute_mask(self, x, mask=None):
        return fastdl.Tensor((x.numpy() != 0).any(axis=-1))


class MaskedSum(layers.Layer):
    """Consumes the mask: sums the kept steps."""

    def call(self, x, mask=None):
        self.mask = mask
        return (x * fastdl.Tensor(mask.numpy()[..., None].astype(x.dtype))).sum(axis=1)


SEQUENCES = np.array([[[1., 2.], [0., 0.], [3., 0.]],
                      [[0., 0.], [1., 1.], [0., 0.]]], np.float32)
KEPT = (SEQUENCES != 0).any(axis=-1)


def masked_sum_reference(x, w):
    return ((x * 2.0) @ w * KEPT[..., None]).sum(axis=1)


def test_a_mask_is_made_carried_through_dense_and_consumed():
    made = NonZero()(SEQUENCES)
    np.testing.assert_array_equal(made._keras_mask.numpy(), KEPT)
    dense = layers.Dense(3)
    hidden = dense(made)
    np.testing.assert_array_equal(hidden._keras_mask.numpy(), KEPT)
    consumer = MaskedSum()
    with pytest.warns(UserWarning, match=r"'masked_sum' \(MaskedSum\).*does not support "
                                         r"masking"):
        out = consumer(hidden)  # consuming the mask is not passing it on (as Keras warns)
    np.testing.assert_array_equal(consumer.mask.numpy(), KEPT)
    np.testing.assert_allclose(out.numpy(), masked_sum_reference(SEQUENCES,
                                                                 dense.kernel.numpy()),
                               rtol=1e-6)
    assert out._keras_mask is None


@pytest.mark.parametrize("make", [lambda: layers.Dense(2), lambda: layers.Activation("relu"),
                                  lambda: layers.Dropout(0.5)])
def test_keras_masking_layers_pass_the_mask_on(make):
    layer = make()
    assert layer.supports_masking
    for training in (False, True):
        out = layer(NonZero()(SEQUENCES), training=training)
        np.testing.assert_array_equal(out._keras_mask.numpy(), KEPT)


def test_layers_that_change_the_steps_drop_the_mask_with_a_warning():
    for layer in (layers.Flatten(), layers.Reshape((6,))):
        assert not layer.supports_masking
        with pytest.warns(UserWarning, match=f"'{layer.name}'.*mask"):
            assert layer(NonZero()(SEQUENCES))._keras_mask is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mask, no warning
        layers.Flatten()(SEQUENCES)


def test_supports_masking_defaults_as_in_keras():
    class Plain(layers.Layer):
        def call(self, x):
            return x

    class Declines(NonZero):
        supports_masking = False

    assert not layers.Layer.supports_masking and not Plain.supports_masking
    assert NonZero.supports_masking and not Declines.supports_masking
    with pytest.warns(UserWarning, match="does not support masking"):
        Declines()(NonZero()(SEQUENCES))


@pytest.mark.filterwarnings("ignore:.*does not support masking")
def test_masks_flow_through_sequential_and_functional_models():
    fastdl.manual_seed(0)
    sequential = keras.Sequential([NonZero(), layers.Dense(3), MaskedSum()])
    out = sequential(SEQUENCES)
    kernel = sequential.layers[1].kernel.numpy()
    np.testing.assert_allclose(out.numpy(), masked_sum_reference(SEQUENCES, kernel), rtol=1e-6)

    inputs = layers.Input((3, 2))
    made = NonZero()(inputs)
    assert made._keras_mask.shape == (None, 3) and made._keras_mask.dtype == np.bool_
    dense = layers.Dense(3)
    hidden = dense(made)
    assert hidden._keras_mask is not None
    model = keras.Model(inputs, MaskedSum()(hidden))
    np.testing.assert_allclose(model.predict(SEQUENCES),
                               masked_sum_reference(SEQUENCES, dense.kernel.numpy()),
                               rtol=1e-6)


def test_masks_of_several_tensors_go_to_arg_mask_arguments():
    class Pair(layers.Layer):
        def call(self, query, value, query_mask=None, value_mask=None):
            self.masks = (query_mask, value_mask)
            return query

    made = NonZero()(SEQUENCES)
    pair = Pair()
    with pytest.warns(UserWarning):
        pair(made, SEQUENCES)
    np.testing.assert_array_equal(pair.masks[0].numpy(), KEPT)
    assert pair.masks[1] is None
    explicit = np.ones((2, 3), bool)
    with pytest.warns(UserWarning):
        pair(made, made, value_mask=explicit)
    np.testing.assert_array_equal(pair.masks[1].numpy(), explicit)  # given: it wins


def test_an_explicit_mask_wins_and_needs_a_call_that_takes_it():
    consumer = MaskedSum()
    explicit = np.array([[True, True, True], [False, False, True]])
    with pytest.warns(UserWarning):
        consumer(NonZero()(SEQUENCES), mask=explicit)
    np.testing.assert_array_equal(consumer.mask.numpy(), explicit)
    dense = layers.Dense(2)
    out = dense(SEQUENCES, mask=None)  # None: no mask
    assert out._keras_mask is None
    with pytest.raises(TypeError, match=r"'activation.*unexpected keyword argument 'mask'"):
        layers.Activation("relu")(SEQUENCES, mask=explicit)


def test_a_model_given_a_mask_passes_it_to_its_layers():
    inputs = layers.Input((3, 2))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    explicit = np.array([[True, False, True], [False, True, True]])
    with pytest.warns(UserWarning, match="'functional"):  # a model does not support masking
        out = model(SEQUENCES, mask=explicit)
    np.testing.assert_array_equal(out._keras_mask.numpy(), explicit)


def test_batch_normalization_trains_on_the_moments_of_the_kept_steps(rng):
    x = np.array([[[1., 2.], [0., 0.], [3., -1.]], [[0., 0.], [1., 4.], [2., 2.]]], np.float32)
    mask = np.array([[True, False, True], [False, True, True]])
    bn = layers.BatchNormalization(momentum=0.5)
    masked = fastdl.tensor(x)
    masked._keras_mask = fastdl.Tensor(mask)
    out = bn(masked, training=True)
    # Printed by keras 3.15.1 for the same layer and masked input.
    np.testing.assert_allclose(
        out.numpy(),
        [[[-0.903876781463623, 0.14000606536865234], [-2.10904598236084, -0.9800423383712769],
          [1.5064616203308105, -1.5400664806365967]],
         [[-2.10904598236084, -0.9800423383712769], [-0.903876781463623, 1.2600544691085815],
          [0.30129241943359375, 0.14000606536865234]]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_mean.numpy(), [0.875, 0.875], rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), [0.84375, 2.09375], rtol=1e-6)
    np.testing.assert_array_equal(out._keras_mask.numpy(), mask)
    np.testing.assert_array_equal(bn(masked)._keras_mask.numpy(), mask)  # inference too

    kept = x[mask].astype(np.float64)  # float64 reference: moments over the kept steps
    mean, var = kept.mean(0), kept.var(0)
    np.testing.assert_allclose(out.numpy(), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-5,
                               atol=1e-6)
    f64 = layers.BatchNormalization(dtype="float64")
    f64(x.astype(np.float64))

    def normalized(t):
        t._keras_mask = fastdl.Tensor(mask)
        return f64(t, training=True)

    assert fastdl.gradcheck(normalized, [fastdl.tensor(rng.standard_normal((2, 3, 2)),
                                                       requires_grad=True)])
    with pytest.raises(ValueError, match="one axis less"):
        bn(x, mask=np.ones((2, 3, 2), bool), training=True)


# --------------------------------------------------------------------------- add_weight

def test_add_weight_keras_and_positional_forms():
    layer = layers.Layer()
    fastdl.manual_seed(5)
    kernel = layer.add_weight(shape=(3, 4), name="kernel")
    fastdl.manual_seed(5)
    expected = initializers.get("glorot_uniform")((3, 4), "float32")
    np.testing.assert_array_equal(kernel.numpy(), expected)  # None: glorot_uniform
    step = layer.add_weight(shape=(), dtype="int64")
    assert step.shape == () and step.dtype == np.int64 and step.numpy() == 0  # zeros
    assert not step.trainable and not step.requires_grad
    positional = layer.add_weight((2,), "ones", "float64")
    assert positional.dtype == np.float64 and positional.numpy().tolist() == [1, 1]
    legacy = layer.add_weight("moving", (2,), "zeros", False)
    assert legacy.name == "moving" and not legacy.trainable
    assert [v.name for v in layer.weights] == ["kernel", "variable_1", "variable", "moving"]


def test_add_weight_errors_name_the_layer():
    layer = layers.Layer(name="host")
    with pytest.raises(TypeError, match="'host'.*shape both positionally and as a keyword"):
        layer.add_weight((2,), shape=(3,))
    with pytest.raises(ValueError, match=r"'host'.*fully known shape.*\(None, 2\)"):
        layer.add_weight(shape=(None, 2))
    with pytest.raises(TypeError, match="at most 3 positional"):
        layer.add_weight((2,), "zeros", "float32", True)
