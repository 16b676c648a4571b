"""The idioms of keras.io's guides and examples, run with ``from fastdl import keras`` and
checked against what Keras 3 does with the same program (the expected values below were
printed by Keras 3.15 running it)."""
import numpy as np
import pytest

from fastdl import keras
from fastdl.keras import layers


def summary_lines(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def summary_rows(lines):
    """The cells of each row of a summary's table, the lines of a wrapped cell joined."""
    rows, current = [], None
    for line in lines:
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.split("│")[1:-1]]
            current = cells if current is None else [
                f"{a} {b}".strip() for a, b in zip(current, cells)]
        elif current is not None:
            rows.append(current)
            current = None
    return rows


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


def test_build_called_directly_builds_the_layer():
    layer = layers.Dense(3)
    with pytest.raises(ValueError, match="not built yet"):
        layer.count_params()
    layer.build((None, 4))
    assert layer.built and layer.count_params() == 15


# --------------------------------------------------------------------------- summary

CONVNET_SUMMARY = """\
Model: "convnet"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ conv_a (Conv2D)                 │ (None, 26, 26, 32)     │           320 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ pool_a (MaxPooling2D)           │ (None, 13, 13, 32)     │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv_b (Conv2D)                 │ (None, 11, 11, 64)     │        18,496 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ pool_b (MaxPooling2D)           │ (None, 5, 5, 64)       │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flat (Flatten)                  │ (None, 1600)           │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ drop (Dropout)                  │ (None, 1600)           │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ classes (Dense)                 │ (None, 10)             │        16,010 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 34,826 (136.04 KB)
 Trainable params: 34,826 (136.04 KB)
 Non-trainable params: 0 (0.00 B)"""

GAN_SUMMARY = """\
Model: "gan"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━┓
┃ Layer (type)                ┃ Output Shape          ┃    Param # ┃ Trai… ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━┩
│ generator (Sequential)      │ (None, 28, 28, 1)     │     13,536 │   Y   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ g_dense (Dense)        │ (None, 16)            │        144 │   Y   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ g_norm                 │ (None, 16)            │         64 │   Y   │
│ (BatchNormalization)        │                       │            │       │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ g_pixels (Dense)       │ (None, 784)           │     13,328 │   Y   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ g_image (Reshape)      │ (None, 28, 28, 1)     │          0 │   -   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ discriminator (Sequential)  │ (None, 1)             │        717 │   N   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ d_conv (Conv2D)        │ (None, 13, 13, 4)     │         40 │   N   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ d_flat (Flatten)       │ (None, 676)           │          0 │   -   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│    └ d_score (Dense)        │ (None, 1)             │        677 │   N   │
└─────────────────────────────┴───────────────────────┴────────────┴───────┘
 Total params: 14,253 (55.68 KB)
 Trainable params: 13,504 (52.75 KB)
 Non-trainable params: 749 (2.93 KB)"""

TWO_HEADS_SUMMARY = """\
Model: "two_heads"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ image (InputLayer)  │ (None, 28, 28, 1) │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ conv (Conv2D)       │ (None, 26, 26, 8) │         80 │ image[0][0]       │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ pool                │ (None, 8)         │          0 │ conv[0][0]        │
│ (GlobalMaxPooling2… │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ meta (InputLayer)   │ (None, 3)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ joined              │ (None, 11)        │          0 │ pool[0][0],       │
│ (Concatenate)       │                   │            │ meta[0][0]        │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ score (Dense)       │ (None, 1)         │         12 │ joined[0][0]      │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ klass (Dense)       │ (None, 5)         │         60 │ joined[0][0]      │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 152 (608.00 B)
 Trainable params: 152 (608.00 B)
 Non-trainable params: 0 (0.00 B)"""


@pytest.fixture
def terminal_80_columns(monkeypatch):
    """Keras's default width is that of the terminal less 4 (at most 88, or 108)."""
    monkeypatch.setenv("COLUMNS", "80")


def gan_models():
    generator = keras.Sequential([
        keras.Input((8,)), layers.Dense(16, activation="relu", name="g_dense"),
        layers.BatchNormalization(name="g_norm"),
        layers.Dense(28 * 28, activation="sigmoid", name="g_pixels"),
        layers.Reshape((28, 28, 1), name="g_image")], name="generator")
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(4, 3, strides=2, name="d_conv"),
        layers.Flatten(name="d_flat"), layers.Dense(1, activation="sigmoid", name="d_score")],
        name="discriminator")
    return generator, discriminator


def test_summary_of_the_mnist_convnet_is_keras_table(terminal_80_columns):
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu", name="conv_a"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool_a"),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu", name="conv_b"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool_b"),
        layers.Flatten(name="flat"),
        layers.Dropout(0.5, name="drop"),
        layers.Dense(10, activation="softmax", name="classes"),
    ], name="convnet")
    assert summary_lines(model) == CONVNET_SUMMARY.split("\n")


def test_summary_of_nested_models_gan_pattern(terminal_80_columns):
    generator, discriminator = gan_models()
    discriminator.trainable = False
    gan = keras.Sequential([generator, discriminator], name="gan")
    assert summary_lines(gan, expand_nested=True, show_trainable=True) == \
        GAN_SUMMARY.split("\n")
    z = keras.Input((8,), name="z")
    functional_gan = keras.Model(z, discriminator(generator(z)), name="functional_gan")
    table = summary_lines(functional_gan)
    assert [line.split("│")[1].strip() for line in table if line.startswith("│")] == [
        "z (InputLayer)", "generator (Sequential)", "discriminator (Sequential)"]
    assert table[-3:] == GAN_SUMMARY.split("\n")[-3:]


def test_summary_of_a_graph_names_the_inputs_of_each_layer(terminal_80_columns):
    image, meta = keras.Input((28, 28, 1), name="image"), keras.Input((3,), name="meta")
    x = layers.Conv2D(8, 3, activation="relu", name="conv")(image)
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    x = layers.concatenate([x, meta], name="joined")
    score = layers.Dense(1, name="score")(x)
    klass = layers.Dense(5, activation="softmax", name="klass")(x)
    model = keras.Model([image, meta], [score, klass], name="two_heads")
    assert summary_lines(model) == TWO_HEADS_SUMMARY.split("\n")


def test_summary_of_an_unbuilt_and_a_called_subclassed_model(terminal_80_columns):
    class MLP(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = layers.Dense(5, name="first")
            self.second = layers.Dense(2, name="second")

        def call(self, x):
            return self.second(self.first(x))

    mlp = MLP(name="mlp")
    rows = [line for line in summary_lines(mlp) if line.startswith("│")]
    assert rows[0] == "│ first (Dense)                   │ ?                      │   0 (unbuilt) │"
    mlp(np.ones((3, 4), np.float32))
    rows = [line for line in summary_lines(mlp) if line.startswith("│")]
    assert "(None, 5)" in rows[0] and rows[0].endswith("25 │")  # Keras shows (3, 5)


def test_summary_options():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="a"),
                              layers.Dense(2, name="b"), layers.Dense(1, name="c")])
    lines = summary_lines(model, line_length=50, positions=[0.3, 0.6, 1.0],
                          layer_range=("b", "c"))
    assert all(len(line) == 50 for line in lines[1:-3])
    assert [line.split("│")[1].strip() for line in lines if line.startswith("│")] == \
        ["b (Dense)", "c (Dense)"]
    with pytest.raises(ValueError, match="no layer matches 'd'"):
        model.summary(layer_range=("a", "d"))
    with pytest.raises(ValueError, match="3 columns .* need 3 positions"):
        model.summary(positions=[0.5, 1.0])


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


# --------------------------------------------------------------------------- keras.io examples
# Each test below is a keras.io example written again with the same idioms, on little data
# (a real Fashion-MNIST sample where the example uses MNIST) and one short epoch.

@pytest.fixture(scope="module")
def fashion():
    """keras.io's MNIST preparation, on the Fashion-MNIST sample fastdl ships (real images)."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_sample()
    return (x_train[:640], y_train[:640]), (x_test[:200], y_test[:200])


def test_example_mnist_convnet(fashion):
    # examples/vision/mnist_convnet.py
    keras.utils.set_random_seed(0)
    num_classes = 10
    input_shape = (28, 28, 1)
    (x_train, y_train), (x_test, y_test) = fashion
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])
    assert model.count_params() == 34826  # Keras's summary: Total params: 34,826
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.1,
                        verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    score = model.evaluate(x_test, y_test, verbose=0)
    assert len(score) == 2 and score[1] > 0.2  # test loss, test accuracy; chance is 0.1


def test_guide_sequential_model():
    # guides/sequential_model.py
    model = keras.Sequential([
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ])
    x = np.ones((3, 3), np.float32)
    y = model(x)
    layer1 = layers.Dense(2, activation="relu", name="layer1")
    layer2 = layers.Dense(3, activation="relu", name="layer2")
    layer3 = layers.Dense(4, name="layer3")
    assert layer3(layer2(layer1(x))).shape == y.shape == (3, 4)

    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    model.pop()
    assert len(model.layers) == 2
    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu", name="layer1"))
    assert model.name == "my_sequential"

    layer = layers.Dense(3)
    assert layer.weights == []  # no weights before the layer sees its input
    layer(np.ones((1, 4), np.float32))
    assert [w.shape for w in layer.weights] == [(4, 3), (3,)]

    model = keras.Sequential([layers.Dense(2, activation="relu"),
                              layers.Dense(3, activation="relu"), layers.Dense(4)])
    model(np.ones((1, 4), np.float32))
    assert len(model.weights) == 6
    assert "Total params: 35" in "\n".join(summary_lines(model))

    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))
    assert len(model.layers) == 1 and model.output_shape == (None, 2)
    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu", input_shape=(4,)))
    assert model.built and len(model.weights) == 2

    # The add() + summary() workflow, down to a classifier.
    model = keras.Sequential()
    model.add(keras.Input(shape=(250, 250, 3)))
    model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    assert model.output_shape == (None, 40, 40, 32)
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(2))
    assert model.output_shape == (None, 4, 4, 32)
    model.add(layers.GlobalMaxPooling2D())
    model.add(layers.Dense(10))
    assert model.output_shape == (None, 10)


def test_guide_sequential_model_transfer_learning():
    # guides/sequential_model.py: freeze all layers but the last, then recompile and train.
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(10),
    ])
    for layer in model.layers[:-1]:
        layer.trainable = False
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    frozen = [w.numpy().copy() for w in model.layers[0].weights]
    last = model.layers[-1].kernel.numpy().copy()
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 784), np.float32), rng.integers(0, 10, 64), epochs=1, verbose=0)
    assert all((w.numpy() == before).all() for w, before in zip(model.layers[0].weights, frozen))
    assert not np.array_equal(model.layers[-1].kernel.numpy(), last)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 6

    # A built model as the first layer of another, frozen (the base-model pattern).
    base_model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, activation="relu")])
    base_model.trainable = False
    model = keras.Sequential([base_model, layers.Dense(3)])
    assert model.built and model.output_shape == (None, 3)
    assert len(model.trainable_weights) == 2 and model.count_params() == 36 + 15


def test_guide_functional_api(fashion):
    # guides/functional_api.py: a first model, trained and evaluated.
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(784,))
    assert inputs.shape == (None, 784) and inputs.dtype == "float32"
    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    assert model.name == "mnist_model" and model.count_params() == 55050
    (x_train, y_train), (x_test, y_test) = fashion
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=1, validation_split=0.2,
                        verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    test_scores = model.evaluate(x_test, y_test, verbose=0)
    assert test_scores[1] > 0.2  # Test loss, Test accuracy

    # One graph of layers, two models; a model called like a layer.
    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    assert [line.split("│")[1].strip() for line in summary_lines(encoder)
            if line.startswith("│")][0] == "img (InputLayer)"
    assert encoder.output_shape == (None, 16) and encoder.count_params() == 18672
    x = layers.Reshape((4, 4, 1))(encoder_output)
    assert keras.Model(encoder_input, x).output_shape == (None, 4, 4, 1)
    autoencoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
    nested = keras.Model(autoencoder_input, encoder(autoencoder_input))
    images = np.ones((2, 28, 28, 1), np.float32)
    np.testing.assert_allclose(nested.predict(images, verbose=0), encoder.predict(images),
                               rtol=1e-6)


def test_guide_functional_api_ensembling():
    # guides/functional_api.py: models averaged into one.
    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    outputs = layers.average([model1(inputs), model2(inputs), model3(inputs)])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    x = np.random.default_rng(0).random((4, 128), np.float32)
    expected = (model1.predict(x) + model2.predict(x) + model3.predict(x)) / 3
    np.testing.assert_allclose(ensemble_model.predict(x), expected, rtol=1e-5)
    assert ensemble_model.count_params() == 3 * 129


def test_guide_functional_api_toy_resnet():
    # guides/functional_api.py: residual connections (random images stand in for CIFAR-10).
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs, outputs, name="toy_resnet")
    assert model.count_params() == 223242  # Keras's summary: Total params: 223,242
    lines = summary_lines(model, line_length=108)  # the same table as Keras's, line for line
    assert lines[2].endswith("┃ Connected to               ┃")  # not a chain
    second_add = next(row for row in summary_rows(lines)
                      if row[0] == f"{model.layers[9].name} (Add)")
    assert second_add[3].count("[0][0]") == 2  # its two inputs
    rng = np.random.default_rng(0)
    x_train = rng.random((40, 32, 32, 3), np.float32)
    y_train = keras.utils.to_categorical(rng.integers(0, 10, (40, 1)), 10)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["acc"])
    history = model.fit(x_train, y_train, batch_size=16, epochs=1, validation_split=0.2,
                        verbose=0)
    assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]


def test_guide_functional_api_custom_layer():
    # guides/functional_api.py: a layer written from scratch, in a functional model.
    class CustomDense(layers.Layer):
        def __init__(self, units=32):
            super(CustomDense, self).__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                     trainable=True)

        def call(self, inputs):
            return inputs @ self.w + self.b

        def get_config(self):
            return {"units": self.units}

    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 10) and model.count_params() == 50
    assert CustomDense.from_config(model.layers[1].get_config()).units == 10


def test_example_antirectifier(fashion):
    # examples/keras_recipes/antirectifier.py
    from fastdl.keras import ops
    keras.utils.set_random_seed(0)

    class Antirectifier(layers.Layer):
        def __init__(self, initializer="he_normal", **kwargs):
            super().__init__(**kwargs)
            self.initializer = keras.initializers.get(initializer)

        def build(self, input_shape):
            output_dim = input_shape[-1]
            self.kernel = self.add_weight(shape=(output_dim * 2, output_dim),
                                          initializer=self.initializer, name="kernel",
                                          trainable=True)

        def call(self, inputs):
            inputs -= ops.mean(inputs, axis=-1, keepdims=True)
            pos = ops.relu(inputs)
            neg = ops.relu(-inputs)
            concatenated = ops.concatenate([pos, neg], axis=-1)
            return ops.matmul(concatenated, self.kernel)

    (x_train, y_train), (x_test, y_test) = fashion
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(256),
        Antirectifier(),
        layers.Dense(256),
        Antirectifier(),
        layers.Dropout(0.5),
        layers.Dense(10),
    ])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    history = model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.15,
                        verbose=0)
    assert "val_sparse_categorical_accuracy" in history.history
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert np.isfinite(loss) and accuracy > 0.2


def test_guide_subclassing_variational_autoencoder(fashion):
    # guides/making_new_layers_and_models_via_subclassing.py: the end-to-end VAE.
    from fastdl.keras import ops
    from fastdl.keras import random as keras_random

    class Sampling(layers.Layer):
        """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras_random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch = ops.shape(z_mean)[0]
            dim = ops.shape(z_mean)[1]
            epsilon = keras_random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    class Encoder(layers.Layer):
        def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_mean = layers.Dense(latent_dim)
            self.dense_log_var = layers.Dense(latent_dim)
            self.sampling = Sampling()

        def call(self, inputs):
            x = self.dense_proj(inputs)
            z_mean = self.dense_mean(x)
            z_log_var = self.dense_log_var(x)
            z = self.sampling((z_mean, z_log_var))
            return z_mean, z_log_var, z

    class Decoder(layers.Layer):
        def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_output = layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            return self.dense_output(self.dense_proj(inputs))

    class VariationalAutoEncoder(keras.Model):
        def __init__(self, original_dim, intermediate_dim=64, latent_dim=32,
                     name="autoencoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.original_dim = original_dim
            self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
            self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

        def call(self, inputs):
            z_mean, z_log_var, z = self.encoder(inputs)
            reconstructed = self.decoder(z)
            kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
            self.add_loss(kl_loss)
            return reconstructed

    (x_train, _), _ = fashion
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    vae = VariationalAutoEncoder(784, 64, 32)
    assert vae.name == "autoencoder" and vae.encoder.name == "encoder"
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=1, batch_size=64, verbose=0)
    assert len(vae.losses) == 1  # the KL term of the last batch
    reconstruction = ops.mean(ops.square(vae(x_train[:64]) - x_train[:64])).item()
    assert history.history["loss"][0] > reconstruction  # the loss holds the KL term too


def test_guide_training_with_built_in_methods(fashion):
    # guides/training_with_built_in_methods.py, its single-output parts.
    from fastdl.keras import ops
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = fashion
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    y_train, y_test = y_train.astype("float32"), y_test.astype("float32")
    x_val, y_val = x_train[-100:], y_train[-100:]
    x_train, y_train = x_train[:-100], y_train[:-100]

    def get_uncompiled_model():
        inputs = keras.Input(shape=(784,), name="digits")
        x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
        return keras.Model(inputs=inputs, outputs=outputs)

    def get_compiled_model():
        model = get_uncompiled_model()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        return model

    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    plain = model.fit(x_train, y_train, batch_size=64, epochs=1,
                      validation_data=(x_val, y_val), verbose=0)
    assert sorted(plain.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                                     "val_sparse_categorical_accuracy"]
    results = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    assert len(results) == 2  # test loss, test acc
    assert model.predict(x_test[:3]).shape == (3, 10)

    # Custom losses: a function, then a Loss subclass.
    def custom_mean_squared_error(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    y_train_one_hot = ops.one_hot(y_train, num_classes=10)
    for loss in (custom_mean_squared_error, CustomMSE()):
        model = get_uncompiled_model()
        model.compile(optimizer=keras.optimizers.Adam(), loss=loss)
        history = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    # A loss added by a layer joins the compiled loss.
    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs) * 0.1)
            return inputs

    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    regularized = model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)
    assert regularized.history["loss"][0] > 5 * plain.history["loss"][0]  # much higher

    model = get_compiled_model()
    model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1, verbose=0)
    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0
    model = get_compiled_model()
    model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1,
              verbose=0)
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2,
                                               verbose=0)]
    history = model.fit(x_train, y_train, epochs=2, batch_size=64, callbacks=callbacks,
                        validation_split=0.2, verbose=0)
    assert len(history.history["val_loss"]) <= 2
    lr_schedule = keras.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=100000, decay_rate=0.96, staircase=True)
    assert keras.optimizers.RMSprop(learning_rate=lr_schedule).learning_rate == \
        pytest.approx(0.1)


def test_guide_training_endpoint_layer_without_a_compiled_loss():
    # guides/training_with_built_in_methods.py: targets as an input, compile without a loss.
    from fastdl.keras import ops

    class LogisticEndpoint(keras.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            loss = self.loss_fn(targets, logits, sample_weights)
            self.add_loss(loss)
            return ops.softmax(logits)

    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(logits=logits, targets=targets)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")  # no loss argument
    rng = np.random.default_rng(0)
    data = {"inputs": rng.random((3, 3)), "targets": rng.random((3, 10))}
    history = model.fit(data, verbose=0)
    assert list(history.history) == ["loss"] and np.isfinite(history.history["loss"][0])


def test_guide_functional_api_mix_and_match():
    # guides/functional_api.py: a functional model inside a layer written from scratch, and
    # that layer inside a functional model.
    from fastdl.keras import ops
    units, timesteps, input_dim, batch_size = 32, 10, 5, 16
    inputs = keras.Input((None, units))
    x = layers.GlobalAveragePooling1D()(inputs)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)

    class CustomRNN(layers.Layer):
        def __init__(self, classifier):
            super().__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = classifier

        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = ops.stack(outputs, axis=1)
            return self.classifier(features)

    rnn_model = CustomRNN(model)
    assert rnn_model(ops.zeros((1, timesteps, input_dim))).shape == (1, 1)
    assert len(rnn_model.weights) == 6  # its two projections and the functional model's

    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(inputs)
    outputs = CustomRNN(layers.Dense(1))(x)
    model = keras.Model(inputs, outputs)
    assert x.shape == (16, 8, 32)
    assert model(np.zeros((batch_size, timesteps, input_dim), np.float32)).shape == (16, 8, 1)
