"""A variational autoencoder trained by its own train_step, written as Keras 3 writes it.

This is keras.io's VAE example (encoder -> z_mean, z_log_var -> Sampling -> decoder) with
Dense layers in place of the convolutions, on Fashion-MNIST. Porting it from Keras took the
import (``from fastdl import keras``) and ``tf.GradientTape`` -> ``fastdl.GradientTape``,
nothing else: the ``Sampling`` layer draws with ``keras.random.normal`` from a
``SeedGenerator``, ``train_step`` computes the losses under the tape and applies the
gradients, the ``Mean`` trackers listed in ``metrics`` are reset at every epoch,
``compile()`` takes no loss and ``fit(x)`` no targets.

    python examples/custom_training.py [--epochs 10] [--batch-size 128] [--samples N]
"""
import argparse

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
    x = layers.Flatten()(encoder_inputs)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dense(128, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    return keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")


def build_decoder(latent_dim=2):
    latent_inputs = keras.Input(shape=(latent_dim,))
    x = layers.Dense(128, activation="relu")(latent_inputs)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dense(28 * 28, activation="sigmoid")(x)
    decoder_outputs = layers.Reshape((28, 28, 1))(x)
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
    """Fashion-MNIST's training and test images as (N, 28, 28, 1) floats in [0, 1]."""
    (x_train, _), (x_test, _) = keras.datasets.fashion_mnist.load_data()
    images = np.concatenate([x_train, x_test], axis=0)[:samples]
    return np.expand_dims(images, -1).astype("float32") / 255


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=None,
                        help="train on the first N images only")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    fashion_mnist_images = load_images(args.samples)
    print(f"{len(fashion_mnist_images)} images")
    vae = VAE(build_encoder(), build_decoder())
    vae.compile(optimizer=keras.optimizers.Adam())
    history = vae.fit(fashion_mnist_images, epochs=args.epochs, batch_size=args.batch_size,
                      verbose=2)
    return history


if __name__ == "__main__":
    main()
