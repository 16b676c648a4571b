"""Keras 3's model API as keras.io's guides use it, checked against what Keras 3.15 does with
the same programs: model inputs (keras.Input in a Sequential model, InputLayer, layer
input/output), subclassing (keyword arguments, add_loss, configs), utilities, and models
with several inputs and outputs (values printed by Keras running the same programs)."""
import numpy as np
import pytest

from fastdl import keras
from fastdl.keras import layers
from summary_text import summary_lines


# --------------------------------------------------------------------------- model inputs

def test_sequential_takes_keras_input_as_its_first_element():
    # keras.io's MNIST convnet, as a new user writes it.
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    assert model.built and model.output_shape == (None, 10)
    assert len(model.layers) == 5  # the input is not a layer of the stack
    assert model.count_params() == 54410


@pytest.mark.parametrize("first", [
    lambda: keras.Input(shape=(4,)), lambda: layers.Input((4,)),
    lambda: layers.InputLayer(shape=(4,)), lambda: layers.InputLayer(input_shape=(4,)),
    lambda: keras.layers.InputLayer(batch_shape=(None, 4)),
    lambda: keras.Input(batch_shape=(None, 4))])
def test_every_way_to_declare_the_input_of_a_sequential_model(first):
    model = keras.Sequential()
    model.add(first())
    model.add(layers.Dense(2, activation="relu"))
    assert model.built and model.output_shape == (None, 2) and len(model.layers) == 1
    assert model.inputs[0].shape == (None, 4) and model.input_shape == (None, 4)


def test_input_batch_shape_and_layers_input_is_keras_input():
    assert layers.Input is keras.Input
    x = keras.Input(batch_shape=(16, 10, 5), name="series")
    assert x.shape == (16, 10, 5) and x.node.layer.name == "series"
    with pytest.raises(ValueError, match="either shape= .* or batch_shape="):
        keras.Input(shape=(3,), batch_shape=(None, 3))


def test_sequential_refuses_what_keras_refuses():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, name="same")])
    with pytest.raises(ValueError, match=r"configured for input shape \(None, 4\)"):
        model.add(keras.Input((5,)))
    with pytest.raises(ValueError, match="only layers can be added.*int"):
        model.add(3)
    with pytest.raises(ValueError, match="already has a layer named 'same'"):
        model.add(layers.Dense(3, name="same"))


def test_incremental_add_and_summary_show_the_shape_so_far():
    # The sequential-model guide's debugging workflow: add() then summary().
    model = keras.Sequential()
    model.add(keras.Input(shape=(250, 250, 3)))
    model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    assert model.output_shape == (None, 40, 40, 32)
    assert "(None, 40, 40, 32)" in "\n".join(summary_lines(model))
    model.pop()
    assert len(model.layers) == 2 and model.output_shape == (None, 121, 121, 32)


def test_feature_extraction_from_the_layers_of_a_sequential_model():
    # The sequential-model guide: a model of every layer's output.
    initial = keras.Sequential([
        keras.Input(shape=(25, 25, 3)),
        layers.Conv2D(4, 5, strides=2, activation="relu"),
        layers.Conv2D(4, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(4, 3, activation="relu"),
    ])
    extractor = keras.Model(inputs=initial.inputs,
                            outputs=[layer.output for layer in initial.layers])
    features = extractor(np.ones((1, 25, 25, 3), np.float32))
    assert [f.shape for f in features] == [(1, 11, 11, 4), (1, 9, 9, 4), (1, 7, 7, 4)]
    single = keras.Model(inputs=initial.inputs,
                         outputs=initial.get_layer(name="my_intermediate_layer").output)
    np.testing.assert_allclose(single(np.ones((1, 25, 25, 3), np.float32)).numpy(),
                               features[1].numpy())


def test_a_sequential_model_built_by_a_call_gets_its_input_then():
    model = keras.Sequential([layers.Dense(2)])
    with pytest.raises(AttributeError, match="no defined inputs yet"):
        model.inputs
    with pytest.raises(ValueError, match="not built yet"):
        model.count_params()
    model(np.ones((3, 4), np.float32))
    assert model.inputs[0].shape == (None, 4) and model.layers[0].output.shape == (None, 2)
    assert model.count_params() == 10


def test_layer_input_and_output_are_those_of_the_first_call():
    x = keras.Input((3,))
    dense = layers.Dense(2)
    y = dense(x)
    dense(keras.Input((3,)))
    assert dense.input is x and dense.output is y
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(2).output
    model = keras.Model(x, y)
    assert model.inputs == [x] and model.input is x
    assert model.outputs == [y] and model.output is y


def test_functional_models_are_named_as_in_keras():
    x = keras.Input((3,))
    assert keras.Model(x, layers.Dense(2)(x)).name.startswith("functional")
    assert keras.Sequential().name.startswith("sequential")


# --------------------------------------------------------------------------- subclassing

class Linear(layers.Layer):
    """The subclassing guide's layer, forwarding name/dtype/trainable to Layer."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return inputs @ self.w + self.b


def test_layer_keyword_arguments_reach_the_base_class():
    layer = Linear(4, name="projection", dtype="float64", trainable=False)
    out = layer(np.ones((2, 3)))
    assert layer.name == "projection" and layer.dtype == "float64" and not layer.trainable
    assert out.dtype == np.float64 and len(layer.non_trainable_weights) == 2
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Linear"):
        Linear(4, nmae="typo")


def test_sublayers_may_be_set_before_the_base_class_init():
    class Block(layers.Layer):
        def __init__(self, **kwargs):
            self.inner = layers.Dense(3)  # before super().__init__: Keras allows it
            super().__init__(**kwargs)

        def call(self, x):
            return self.inner(x)

    block = Block(name="block")
    block(np.ones((1, 2), np.float32))
    assert len(block.weights) == 2


def test_model_keyword_arguments_in_subclasses():
    class MLP(keras.Model):
        def __init__(self, hidden=8, **kwargs):
            super().__init__(**kwargs)
            self.dense_1 = layers.Dense(hidden, activation="relu")
            self.dense_2 = layers.Dense(2)

        def call(self, inputs):
            return self.dense_2(self.dense_1(inputs))

    mlp = MLP(name="mlp_model", trainable=False)
    assert mlp.name == "mlp_model" and not mlp.trainable
    mlp(np.zeros((1, 5), np.float32))
    assert mlp.count_params() == 5 * 8 + 8 + 8 * 2 + 2 and not mlp.trainable_weights

    class Functional(keras.Model):  # a functional model subclassed: named after its class
        def __init__(self, **kwargs):
            x = keras.Input((3,))
            super().__init__(x, layers.Dense(2)(x), **kwargs)

    assert Functional().name.startswith("functional") and Functional(name="f").name == "f"


def test_weights_made_in_init_and_non_trainable_running_totals():
    # The subclassing guide's first layers: weights made in __init__, a non-trainable total.
    class EagerLinear(layers.Layer):
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal",
                                     trainable=True)
            self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

        def call(self, inputs):
            return inputs @ self.w + self.b

    class ComputeSum(layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,),
                                         trainable=False)

        def call(self, inputs):
            self.total.assign_add(inputs.sum(axis=0))
            return self.total

    linear = EagerLinear(4, 2)
    assert linear(np.ones((2, 2), np.float32)).shape == (2, 4)
    assert linear.weights == [linear.w, linear.b]
    my_sum = ComputeSum(2)
    my_sum(np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(my_sum(np.ones((2, 2), np.float32)).numpy(), [4.0, 4.0])
    assert len(my_sum.weights) == 1 and len(my_sum.non_trainable_weights) == 1
    assert my_sum.trainable_weights == []


def test_nested_layers_are_tracked_and_configs_round_trip():
    class MLPBlock(layers.Layer):
        def __init__(self):
            super().__init__()
            self.linear_1, self.linear_2, self.linear_3 = Linear(32), Linear(32), Linear(1)

        def call(self, inputs):
            x = self.linear_2(self.linear_1(inputs))
            return self.linear_3(x)

    mlp = MLPBlock()
    mlp(np.ones((3, 64), np.float32))
    assert len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6

    class Configurable(Linear):
        def get_config(self):
            config = super().get_config()
            config.update({"units": self.units})
            return config

    layer = Configurable(64, name="lin")
    config = layer.get_config()
    assert config == {"name": "lin", "trainable": True, "dtype": "float32", "units": 64}
    assert Configurable.from_config(config).units == 64


def test_add_loss_holds_the_losses_of_the_last_call():
    # The subclassing guide's activity regularization, inside an outer layer.
    class ActivityRegularizationLayer(layers.Layer):
        def __init__(self, rate=1e-2):
            super().__init__()
            self.rate = rate

        def call(self, inputs):
            self.add_loss(self.rate * inputs.mean())
            return inputs

    class OuterLayer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularizationLayer(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = OuterLayer()
    assert len(layer.losses) == 0  # no losses yet since the layer has never been called
    layer(np.zeros((1, 1), np.float32))
    assert len(layer.losses) == 1
    layer(np.ones((1, 1), np.float32))  # the losses of the call before are gone
    assert len(layer.losses) == 1 and layer.losses[0].item() == pytest.approx(0.01)
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, ActivityRegularizationLayer()(inputs))
    assert model.losses == []  # building the graph adds none
    model(np.full((2, 3), 2.0, np.float32))
    assert [loss.item() for loss in model.losses] == [pytest.approx(0.02)]


def test_build_of_a_subclassed_model_creates_its_weights():
    # Keras 3 marks such a model built without weights (and warns); fastdl runs it once on
    # zeros, so that summary, count_params and a later compile see the weights.
    class MLP(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden, self.classes = layers.Dense(5), layers.Dense(2)

        def call(self, x):
            return self.classes(self.hidden(x))

    model = MLP()
    model.build((None, 4))
    assert model.built and model.count_params() == 37
    model.compile(optimizer="sgd", loss="mse")
    before = model.hidden.kernel.numpy().copy()
    model.fit(np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32), verbose=0)
    assert not np.array_equal(model.hidden.kernel.numpy(), before)


def test_build_called_directly_builds_the_layer():
    layer = layers.Dense(3)
    with pytest.raises(ValueError, match="not built yet"):
        layer.count_params()
    layer.build((None, 4))
    assert layer.built and layer.count_params() == 15


# --------------------------------------------------------------------------- utilities

def test_to_categorical_as_keras():
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 1, 2, 3], num_classes=4),
                                  np.eye(4))
    assert keras.utils.to_categorical(np.array([[1], [0]]), 3).shape == (2, 3)  # (N, 1) too
    assert keras.utils.to_categorical(np.array([[1, 2], [0, 1]])).shape == (2, 2, 3)
    labels = keras.datasets.fashion_mnist.load_sample()[0][1][:5]
    onehot = keras.utils.to_categorical(labels, 10)
    assert onehot.shape == (5, 10) and (onehot.argmax(-1) == labels).all()
    with pytest.raises(ValueError, match="does not fit num_classes=2"):
        keras.utils.to_categorical([0, 2], num_classes=2)


# --------------------------------------------------------------------------- several outputs

def two_headed_model():
    """A score and a 3-class head on a shared layer, with weights set by a formula so that
    Keras 3.15 ran the same numbers (the values below are its)."""
    a = keras.Input(shape=(4,), name="a")
    h = layers.Dense(8, activation="relu", name="hidden")(a)
    model = keras.Model(a, [layers.Dense(1, name="score")(h),
                            layers.Dense(3, activation="softmax", name="klass")(h)])
    model.set_weights([((np.arange(v.size) * 37 % 17) / 17.0 - 0.5).reshape(v.shape)
                       for v in model.get_weights()])
    x = ((np.arange(80) * 7 % 11) / 11.0).reshape(20, 4).astype("float32")
    y1 = ((np.arange(20) * 5 % 13) / 13.0).reshape(20, 1).astype("float32")
    return model, x, y1, np.arange(20) % 3


# An output without a loss leaves its layer without gradients: Keras warns too.
@pytest.mark.filterwarnings("ignore:SGD. no gradients")
@pytest.mark.parametrize("compile_kwargs,targets,history_keys,results", [
    (dict(loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5],
          metrics=[["mae"], ["accuracy"]]), "list",
     ["klass_accuracy", "klass_loss", "loss", "score_loss", "score_mae"],
     [1.14629, 0.58801, 1.11657, 0.35, 0.70831]),
    (dict(loss={"score": "mse", "klass": "sparse_categorical_crossentropy"},
          metrics={"klass": ["accuracy"]}), "dict",
     ["klass_accuracy", "klass_loss", "loss", "score_loss"], [1.70429, 0.58786, 1.11643, 0.35]),
    (dict(loss=[None, "sparse_categorical_crossentropy"], metrics=[[], ["accuracy"]]), "list",
     ["klass_accuracy", "loss"], [1.11674, 0.35]),
    (dict(loss={"score": "mse", "klass": "sparse_categorical_crossentropy"},
          loss_weights={"score": 2.0, "klass": 0.1}), "list",
     ["klass_loss", "loss", "score_loss"], [1.22144, 0.5549, 1.11638]),
])
def test_losses_and_metrics_per_output_as_keras(compile_kwargs, targets, history_keys,
                                                results):
    # One SGD step on the whole batch, then evaluate: Keras's names, order and values.
    model, x, y1, y2 = two_headed_model()
    y = [y1, y2] if targets == "list" else {"score": y1, "klass": y2}
    model.compile("sgd", **compile_kwargs)
    history = model.fit(x, y, epochs=1, batch_size=20, shuffle=False, verbose=0)
    assert sorted(history.history) == history_keys
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=20, verbose=0), results,
                               rtol=1e-4)
    assert list(model.evaluate(x, y, verbose=0, return_dict=True)) == history_keys


def test_one_loss_for_every_output_with_sample_weights_as_keras():
    model, x, y1, y2 = two_headed_model()
    onehot = np.eye(3, dtype=np.float32)[y2]
    weights = (np.arange(20) % 4 + 1).astype(np.float32)
    model.compile("sgd", loss="mse")
    history = model.fit(x, [y1, onehot], epochs=1, batch_size=20, shuffle=False,
                        sample_weight=weights, verbose=0)
    assert sorted(history.history) == ["klass_loss", "loss", "score_loss"]
    np.testing.assert_allclose(model.evaluate(x, [y1, onehot], batch_size=20,
                                              sample_weight=weights, verbose=0),
                               [1.99901, 1.44309, 0.55593], rtol=1e-4)


def test_several_outputs_predict_lists_and_errors():
    model, x, y1, y2 = two_headed_model()
    predictions = model.predict(x, verbose=0)
    assert isinstance(predictions, list) and [p.shape for p in predictions] == [(20, 1), (20, 3)]
    single = keras.Model(model.inputs, model.outputs[0])
    single.compile("sgd", loss="mse", loss_weights=2.0)
    assert single.evaluate(x, y1, verbose=0) == pytest.approx(1.24467, rel=1e-4)  # Keras's
    with pytest.raises(ValueError, match=r"names 'nope', which are not outputs.*'score', "
                                         r"'klass'"):
        model.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="1 entries for the model's 2 outputs"):
        model.compile("sgd", loss=["mse"])
    with pytest.raises(ValueError, match="needs a list of lists .* or a dict by output name"):
        model.compile("sgd", loss="mse", metrics=["mae"])  # Keras refuses it too
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match="2 outputs .* but 1 target"):
        model.evaluate(x, y1, verbose=0)


def test_inputs_and_targets_by_name():
    # guides/training_with_built_in_methods.py: several inputs and outputs, fed as dicts.
    image_input = keras.Input(shape=(32, 32, 3), name="img_input")
    timeseries_input = keras.Input(shape=(None, 10), name="ts_input")
    x1 = layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3)(image_input))
    x2 = layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3)(timeseries_input))
    x = layers.concatenate([x1, x2])
    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, name="class_output")(x)
    model = keras.Model(inputs=[image_input, timeseries_input],
                        outputs=[score_output, class_output])
    assert timeseries_input.shape == (None, None, 10) and x2.shape == (None, 3)
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={"score_output": keras.losses.MeanSquaredError(),
              "class_output": keras.losses.CategoricalCrossentropy()},
        metrics={"score_output": [keras.metrics.MeanAbsoluteError()],
                 "class_output": [keras.metrics.CategoricalAccuracy()]},
        loss_weights={"score_output": 2.0, "class_output": 1.0})
    rng = np.random.default_rng(0)
    img_data, ts_data = rng.random((20, 32, 32, 3)), rng.random((20, 20, 10))
    score_targets, class_targets = rng.random((20, 1)), rng.random((20, 5))
    history = model.fit({"img_input": img_data, "ts_input": ts_data},
                        {"score_output": score_targets, "class_output": class_targets},
                        batch_size=8, epochs=1, verbose=0)
    assert sorted(history.history) == [
        "class_output_categorical_accuracy", "class_output_loss", "loss",
        "score_output_loss", "score_output_mean_absolute_error"]
    by_list = model.evaluate([img_data, ts_data], [score_targets, class_targets], verbose=0)
    by_name = model.evaluate({"ts_input": ts_data, "img_input": img_data},
                             {"class_output": class_targets, "score_output": score_targets},
                             verbose=0)
    np.testing.assert_allclose(by_list, by_name, rtol=1e-6)
    with pytest.raises(ValueError, match="no data for its input.*'ts_input'"):
        model.predict({"img_input": img_data})
    called = model({"ts_input": ts_data[:2].astype("float32"),
                    "img_input": img_data[:2].astype("float32")})
    np.testing.assert_allclose(called[1].numpy(), model.predict(
        [img_data[:2], ts_data[:2]], verbose=0)[1], rtol=1e-5)
