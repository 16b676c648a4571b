"""keras.io's convolutional variational autoencoder, trained by its own train_step, written
as Keras 3 writes it, on Fashion-MNIST.

Encoder: two strided Conv2D layers, a Dense layer, then z_mean and z_log_var of a 2-D latent
space and a ``Sampling`` layer; decoder: a Dense layer reshaped to 7x7x64 and three
Conv2DTranspose layers back to 28x28x1. Porting it from Keras took the import
(``from fastdl import keras``) and ``tf.GradientTape`` -> ``fastdl.GradientTape``, nothing
else: ``Sampling`` draws with ``keras.random.normal`` from a ``SeedGenerator``,
``train_step`` computes the reconstruction and KL losses under the tape and applies the
gradients, the ``Mean`` trackers listed in ``metrics`` are reset at every epoch, ``compile()``
takes no loss and ``fit(x)`` no targets. After training it writes two PNGs (with Pillow, the
``images`` extra): the images decoded from a grid over the latent space, and the test set's
latent means, coloured by class.

    python examples/vae.py [--epochs 10] [--batch-size 128] [--samples N] [--out vae_images]
"""
import argparse
import os

import numpy as np

import fastdl
from fastdl import keras
from fastdl.keras import layers, ops


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding an image."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def build_encoder(latent_dim=2):
    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    return keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")


def build_decoder(latent_dim=2):
    latent_inputs = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [
            self.total_loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    def train_step(self, data):
        with fastdl.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(
                ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2))
            )
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }


def load_images(samples=None):
    """Fashion-MNIST's training and test images as (N, 28, 28, 1) floats in [0, 1], and the
    test images with their labels."""
    (x_train, _), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    images = np.concatenate([x_train, x_test], axis=0)[:samples]
    scaled = np.expand_dims(images, -1).astype("float32") / 255
    return scaled, (np.expand_dims(x_test, -1).astype("float32") / 255, y_test)


def latent_grid(decoder, n=15, scale=1.5):
    """The images decoded from an n x n grid of latent points in [-scale, scale]^2 (the top
    row is the largest second coordinate), tiled into one image."""
    xs = np.linspace(-scale, scale, n)
    points = np.array([[x, y] for y in xs[::-1] for x in xs], dtype="float32")
    return keras.utils.image_grid(decoder.predict(points, verbose=0), cols=n, padding=0)


#: One colour per class (RGB).
PALETTE = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
                    [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127],
                    [188, 189, 34], [23, 190, 207]], dtype=np.uint8)


def latent_scatter(z_mean, labels, size=480):
    """The 2-D latent means drawn as coloured 3x3 dots on a white square image."""
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    low, high = z_mean.min(axis=0), z_mean.max(axis=0)
    pixels = ((z_mean - low) / np.maximum(high - low, 1e-6) * (size - 4)).astype(int) + 2
    for (x, y), label in zip(pixels, labels):
        canvas[size - 1 - y - 1:size - y + 1, x - 1:x + 2] = PALETTE[int(label) % 10]
    return canvas


def save_images(vae, test, out):
    """The latent-space grid and the scatter of the test set's latent means, as PNGs in
    ``out`` (skipped, saying so, without Pillow)."""
    x_test, y_test = test
    z_mean, _, _ = vae.encoder.predict(x_test, verbose=0)
    try:
        os.makedirs(out, exist_ok=True)
        keras.utils.save_img(os.path.join(out, "latent_grid.png"), latent_grid(vae.decoder),
                             scale=False)
        keras.utils.save_img(os.path.join(out, "latent_means.png"),
                             latent_scatter(np.asarray(z_mean), y_test), scale=False)
    except ImportError as error:
        print(f"images not written: {error}")
        return
    print(f"wrote {out}/latent_grid.png and {out}/latent_means.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=None,
                        help="train on the first N images only")
    parser.add_argument("--out", default="vae_images", help="where to write the PNGs")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    fashion_mnist_images, test = load_images(args.samples)
    print(f"{len(fashion_mnist_images)} images")
    vae = VAE(build_encoder(), build_decoder())
    vae.compile(optimizer=keras.optimizers.Adam())
    history = vae.fit(fashion_mnist_images, epochs=args.epochs, batch_size=args.batch_size,
                      verbose=2)
    save_images(vae, test, args.out)
    return history


if __name__ == "__main__":
    main()
