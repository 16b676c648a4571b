"""A small vision transformer on Fashion-MNIST, written as for Keras with only the import
changed: each 28 x 28 image cut into 16 patches of 7 x 7 pixels (a Conv2D whose stride is its
size), a learned position embedding, pre-norm transformer blocks (MultiHeadAttention and a GELU
MLP with residual adds), the patches averaged, and a Dense over the 10 classes. It prints the
test accuracy.

It trains on Fashion-MNIST when a copy is on the machine (``--download`` fetches it), else on
the sample packaged with fastdl.

    python examples/vit_fashion_mnist.py [--epochs 5] [--blocks 2] [--dim 64] [--heads 4]
                                         [--download]
"""
import argparse

import numpy as np

from fastdl import datasets, keras
from fastdl.keras import layers, ops

PATCH = 7


class PatchEmbedding(layers.Layer):
    """The image's patches projected to ``dim`` features each, plus a learned position
    embedding per patch: (batch, patches, dim)."""

    def __init__(self, patches, dim, **kwargs):
        super().__init__(**kwargs)
        self.projection = layers.Conv2D(dim, PATCH, strides=PATCH)
        self.positions = layers.Embedding(patches, dim)

    def call(self, images):
        x = self.projection(images)
        x = ops.reshape(x, (-1, x.shape[1] * x.shape[2], x.shape[3]))
        return x + self.positions(ops.arange(x.shape[1]))


def transformer_block(x, dim, heads, dropout):
    h = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.Add()([x, layers.MultiHeadAttention(heads, dim // heads, dropout=dropout)(h, h)])
    h = layers.LayerNormalization(epsilon=1e-6)(x)
    h = layers.Dense(2 * dim, activation="gelu")(h)
    h = layers.Dropout(dropout)(layers.Dense(dim)(h))
    return layers.Add()([x, h])


def build_model(dim=64, heads=4, blocks=2, dropout=0.1):
    images = keras.Input(shape=(28, 28, 1))
    x = PatchEmbedding((28 // PATCH) ** 2, dim)(images)
    for _ in range(blocks):
        x = transformer_block(x, dim, heads, dropout)
    x = layers.GlobalAveragePooling1D()(layers.LayerNormalization(epsilon=1e-6)(x))
    model = keras.Model(images, layers.Dense(10, activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load(download=False):
    """(name, (x_train, y_train), (x_test, y_test)): Fashion-MNIST, else the packaged sample,
    as float32 images in [0, 1] with a channel axis."""
    try:
        name = "fashion_mnist"
        (x, y), (xt, yt) = datasets.fashion_mnist.load_data(download=download)
    except datasets.DatasetNotFoundError:
        name = "fashion_mnist_sample"
        (x, y), (xt, yt) = datasets.fashion_mnist.load_sample()
    scale = np.float32(1 / 255)
    return name, (x[..., None] * scale, y), (xt[..., None] * scale, yt)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--download", action="store_true",
                        help="download Fashion-MNIST when no copy is found")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    name, (x_train, y_train), (x_test, y_test) = load(args.download)
    print(f"data: {name}, {len(x_train)} training and {len(x_test)} test images")
    model = build_model(args.dim, args.heads, args.blocks)
    model.summary()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_split=0.1, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f}, test loss {loss:.4f}")
    return model


if __name__ == "__main__":
    main()
