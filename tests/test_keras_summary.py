"""``model.summary()`` against Keras 3.15's tables of the same models (the expected tables
below were printed by Keras running the same programs, in a terminal 80 columns wide)."""
import numpy as np
import pytest

from fastdl import keras
from fastdl.keras import layers
from summary_text import summary_lines


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
