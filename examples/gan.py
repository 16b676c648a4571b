"""A generative adversarial network in the classic Keras design: a generator and a
discriminator as functional ``Model``s, the discriminator compiled on its own, then frozen
(``discriminator.trainable = False``) inside the stacked model that trains the generator, the
two trained in turns with ``train_on_batch``; on Fashion-MNIST images scaled to [-1, 1].

The generator maps 100 latent values through Dense layers (LeakyReLU, BatchNormalization) to
784 values in [-1, 1] and reshapes them to 28x28x1: the reshape comes after the last Dense
layer, whose input is a vector. (Applying Dense to a 4-D (28, 28, 1) tensor and reshaping its
output, as some write it, fails in Keras and here with an error naming the layer.) A grid of
generated images is written after every epoch (with Pillow, the ``images`` extra).

    python examples/gan.py [--epochs 5] [--steps 200] [--out gan_images] [--download]
"""
import argparse
import os

import numpy as np

from fastdl import datasets, keras
from fastdl.keras import layers

LATENT_DIM = 100


def build_generator(latent_dim: int = LATENT_DIM) -> keras.Model:
    noise = keras.Input(shape=(latent_dim,))
    x = noise
    for units in (256, 512, 1024):
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        x = layers.BatchNormalization(momentum=0.8)(x)
    x = layers.Dense(28 * 28, activation="tanh")(x)
    image = layers.Reshape((28, 28, 1))(x)
    return keras.Model(noise, image, name="generator")


def build_discriminator() -> keras.Model:
    image = keras.Input(shape=(28, 28, 1))
    x = layers.Flatten()(image)
    for units in (512, 256):
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    validity = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(image, validity, name="discriminator")


def build_gan(latent_dim: int = LATENT_DIM) -> tuple:
    """(generator, discriminator, combined): the discriminator compiled to train alone, the
    combined model (noise -> generator -> frozen discriminator) to train the generator."""
    optimizer = {"learning_rate": 0.0002, "beta_1": 0.5}
    discriminator = build_discriminator()
    discriminator.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(**optimizer),
                          metrics=["accuracy"])
    generator = build_generator(latent_dim)
    noise = keras.Input(shape=(latent_dim,))
    discriminator.trainable = False  # read when `combined` is compiled: frozen in there only
    combined = keras.Model(noise, discriminator(generator(noise)), name="gan")
    combined.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(**optimizer))
    return generator, discriminator, combined


def train(generator, discriminator, combined, images, epochs: int, steps: int,
          batch_size: int, rng: np.random.Generator, on_epoch_end=None) -> list:
    """The turns: per step, the discriminator on real then generated images, then the
    generator through the combined model; returns each epoch's last (d_loss, d_acc, g_loss)."""
    real, fake = np.ones((batch_size, 1), "float32"), np.zeros((batch_size, 1), "float32")
    history = []
    for epoch in range(epochs):
        for _ in range(steps):
            batch = images[rng.integers(0, len(images), batch_size)]
            noise = rng.standard_normal((batch_size, LATENT_DIM)).astype("float32")
            generated = generator.predict(noise, verbose=0)
            d_real = discriminator.train_on_batch(batch, real)
            d_fake = discriminator.train_on_batch(generated, fake)
            d_loss, d_acc = 0.5 * np.add(d_real, d_fake)
            noise = rng.standard_normal((batch_size, LATENT_DIM)).astype("float32")
            g_loss = combined.train_on_batch(noise, real)
            g_loss = float(g_loss[0] if isinstance(g_loss, (list, tuple)) else g_loss)
        history.append((float(d_loss), float(d_acc), g_loss))
        print(f"epoch {epoch + 1}/{epochs}: d_loss {d_loss:.4f}, d_acc {d_acc:.3f}, "
              f"g_loss {g_loss:.4f}")
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    return history


def save_grid(generator, out: str, epoch: int, latent: np.ndarray) -> None:
    grid = keras.utils.image_grid(generator.predict(latent, verbose=0), value_range=(-1, 1))
    try:
        os.makedirs(out, exist_ok=True)
        keras.utils.save_img(os.path.join(out, f"epoch_{epoch + 1:03d}.png"), grid, scale=False)
    except ImportError as error:
        print(f"images not written: {error}")


def load_images(download: bool) -> np.ndarray:
    """Fashion-MNIST's training images as (N, 28, 28, 1) floats in [-1, 1]."""
    try:
        (x_train, _), _ = datasets.fashion_mnist.load_data(download=download)
    except datasets.DatasetNotFoundError:
        (x_train, _), _ = datasets.fashion_mnist.load_sample()
    return (x_train.reshape(-1, 28, 28, 1).astype("float32") - 127.5) / 127.5


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="batches per epoch")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="gan_images", help="where to write the grids")
    parser.add_argument("--download", action="store_true",
                        help="download Fashion-MNIST when no copy is found")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    images = load_images(args.download)
    print(f"{len(images)} images")
    generator, discriminator, combined = build_gan()
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((36, LATENT_DIM)).astype("float32")
    return train(generator, discriminator, combined, images, args.epochs, args.steps,
                 args.batch_size, rng, lambda epoch: save_grid(generator, args.out, epoch, latent))


if __name__ == "__main__":
    main()
