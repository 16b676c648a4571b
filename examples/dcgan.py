"""keras.io's DCGAN, written as Keras 3 writes it, on 28x28 Fashion-MNIST images.

A convolutional generator (Dense to 7x7x128, then Conv2DTranspose layers with LeakyReLU up to
28x28x1) and discriminator (strided Conv2D layers with LeakyReLU, then a Dense logit), trained
by the model's own ``train_step``: ``compile(d_optimizer, g_optimizer, loss_fn)`` takes an
optimizer per network, each step trains the discriminator on real and generated images (with
a little noise on the labels), then the generator through the discriminator, each under its
own ``GradientTape``. A ``Callback`` writes a grid of generated images after every epoch (with
Pillow, the ``images`` extra).

It runs on Fashion-MNIST when a copy is on this machine (``--download`` fetches it), else on
the sample shipped with fastdl.

    python examples/dcgan.py [--epochs 5] [--samples N] [--out dcgan_images]
"""
import argparse
import os

import numpy as np

import fastdl
from fastdl import datasets, keras
from fastdl.keras import layers, ops

LATENT_DIM = 128


def build_discriminator() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid"),
    ], name="discriminator")


def build_generator(latent_dim: int = LATENT_DIM) -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        layers.Dense(7 * 7 * 128),
        layers.Reshape((7, 7, 128)),
        layers.Conv2DTranspose(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(64, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(1, kernel_size=5, padding="same", activation="sigmoid"),
    ], name="generator")


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        # Sample random points in the latent space and decode them to fake images.
        batch_size = ops.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        generated_images = self.generator(random_latent_vectors)

        # Combine them with real images; label them, fake 1 and real 0, with a little noise.
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))],
                                 axis=0)
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)

        # Train the discriminator.
        with fastdl.GradientTape() as tape:
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        # Train the generator (through the discriminator, whose weights stay as they are):
        # its fakes should be called real.
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        misleading_labels = ops.zeros((batch_size, 1))
        with fastdl.GradientTape() as tape:
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


class SampleGrid(keras.callbacks.Callback):
    """Writes a grid of images generated from fixed latent points after every epoch."""

    def __init__(self, out: str, count: int = 36, latent_dim: int = LATENT_DIM):
        super().__init__()
        self.out = out
        self.latent = np.random.default_rng(42).standard_normal(
            (count, latent_dim)).astype("float32")

    def on_epoch_end(self, epoch, logs=None):
        images = self.model.generator.predict(self.latent, verbose=0)
        grid = keras.utils.image_grid(images, value_range=(0, 1))
        try:
            os.makedirs(self.out, exist_ok=True)
            keras.utils.save_img(os.path.join(self.out, f"epoch_{epoch + 1:03d}.png"), grid,
                                 scale=False)
        except ImportError as error:
            print(f"images not written: {error}")


def load_images(download: bool, samples=None) -> np.ndarray:
    try:
        (x_train, _), (x_test, _) = datasets.fashion_mnist.load_data(download=download)
    except datasets.DatasetNotFoundError:
        (x_train, _), (x_test, _) = datasets.fashion_mnist.load_sample()
    images = np.concatenate([x_train, x_test])[:samples]
    return images.reshape(-1, 28, 28, 1).astype("float32") / 255.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=None, help="train on N images only")
    parser.add_argument("--out", default="dcgan_images", help="where to write the grids")
    parser.add_argument("--download", action="store_true",
                        help="download Fashion-MNIST when no copy is found")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    images = load_images(args.download, args.samples)
    print(f"{len(images)} images")
    gan = GAN(build_discriminator(), build_generator(), LATENT_DIM)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=0.0001),
                g_optimizer=keras.optimizers.Adam(learning_rate=0.0001),
                loss_fn=keras.losses.BinaryCrossentropy())
    history = gan.fit(images, epochs=args.epochs, batch_size=args.batch_size, verbose=2,
                      callbacks=[SampleGrid(args.out)])
    return history


if __name__ == "__main__":
    main()
