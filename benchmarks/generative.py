"""The generative examples for benchmarks/train.py: examples/vae.py (keras.io's convolutional
VAE) and examples/dcgan.py (keras.io's DCGAN), each trained by its own ``train_step``.

fastdl's models are the examples' own. Keras's are the same files run with their two fastdl
imports pointing at Keras 3 and TensorFlow (``fastdl.keras`` -> ``keras``,
``fastdl.GradientTape`` -> ``tf.GradientTape``): the programs as a Keras user wrote them.
PyTorch's are the same networks (layers, sizes, activations, losses and Adam settings) written
with ``torch.nn``, initialized as Keras initializes them (Glorot-uniform weights, zero biases)
rather than by PyTorch's defaults, so that the models are the same from the first step.

Each trainer is a pair of functions: one training epoch over the images (batches of ``batch``,
shuffled) and a score. The VAE's is the mean per-image loss on the test images (the binary
cross-entropy of the reconstruction summed over its pixels, plus the KL divergence of the
latent distribution from the standard normal, with z sampled as in training). The DCGAN's is
the spread of its samples, the per-pixel standard deviation over SPREAD_SAMPLES images
generated from fixed latent points (about 0 when the generator has collapsed), or NaN when the
last epoch's discriminator or generator loss was not finite.
"""
from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path
from typing import Callable

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LATENT_DIM = 2
DCGAN_LATENT_DIM = 128
SPREAD_SAMPLES = 256


def fastdl_example(name: str) -> dict:
    """The globals of examples/``name``, run as a module."""
    return runpy.run_path(str(EXAMPLES / name), run_name="benchmark")


def keras_example(name: str) -> dict:
    """The globals of examples/``name`` run with ``fastdl.keras`` as Keras 3 and
    ``fastdl.GradientTape`` as TensorFlow's (the rest of ``fastdl``, the datasets, as is)."""
    import keras
    import tensorflow as tf

    import fastdl

    shim = types.ModuleType("fastdl")
    shim.keras, shim.GradientTape, shim.datasets = keras, tf.GradientTape, fastdl.datasets
    saved = {name: sys.modules[name] for name in ("fastdl", "fastdl.keras")}
    sys.modules.update({"fastdl": shim, "fastdl.keras": keras})
    try:
        return fastdl_example(name)
    finally:
        sys.modules.update(saved)


def vae_loss(x: np.ndarray, reconstruction: np.ndarray, z_mean: np.ndarray,
             z_log_var: np.ndarray) -> float:
    """The example's loss, per image, averaged over the batch (in float64)."""
    x, r = x.astype(np.float64), np.clip(reconstruction.astype(np.float64), 1e-7, 1 - 1e-7)
    reconstruction_loss = -(x * np.log(r) + (1 - x) * np.log(1 - r)).sum(axis=(1, 2, 3))
    kl = -0.5 * (1 + z_log_var - z_mean ** 2 - np.exp(z_log_var)).sum(axis=1)
    return float(np.mean(reconstruction_loss + kl))


def sample_spread(samples: np.ndarray, losses: list) -> float:
    """The DCGAN's score: the mean over pixels of the samples' standard deviation, NaN when a
    loss of the last epoch was not finite."""
    if not np.isfinite(losses).all():
        return float("nan")
    return float(np.asarray(samples, np.float64).std(axis=0).mean())


def example_vae(example: dict, x: np.ndarray, x_test: np.ndarray,
                batch: int) -> tuple[Callable, Callable]:
    """The VAE of ``example`` (fastdl's or Keras's globals of examples/vae.py)."""
    keras = example["keras"]
    vae = example["VAE"](example["build_encoder"](), example["build_decoder"]())
    vae.compile(optimizer=keras.optimizers.Adam())

    def epoch() -> None:
        vae.fit(x, epochs=1, batch_size=batch, verbose=0)

    def score() -> float:
        z_mean, z_log_var, z = vae.encoder.predict(x_test, batch_size=batch, verbose=0)
        reconstruction = vae.decoder.predict(z, batch_size=batch, verbose=0)
        return vae_loss(x_test, np.asarray(reconstruction), np.asarray(z_mean),
                        np.asarray(z_log_var))
    return epoch, score


def example_dcgan(example: dict, x: np.ndarray, batch: int) -> tuple[Callable, Callable]:
    """The DCGAN of ``example`` (fastdl's or Keras's globals of examples/dcgan.py), compiled
    as the example compiles it."""
    keras = example["keras"]
    gan = example["GAN"](example["build_discriminator"](), example["build_generator"](),
                         DCGAN_LATENT_DIM)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=0.0001),
                g_optimizer=keras.optimizers.Adam(learning_rate=0.0001),
                loss_fn=keras.losses.BinaryCrossentropy())
    latent = np.random.default_rng(42).standard_normal(
        (SPREAD_SAMPLES, DCGAN_LATENT_DIM)).astype(np.float32)
    losses: list = []

    def epoch() -> None:
        history = gan.fit(x, epochs=1, batch_size=batch, verbose=0).history
        losses[:] = [float(history["d_loss"][-1]), float(history["g_loss"][-1])]

    def score() -> float:
        return sample_spread(gan.generator.predict(latent, batch_size=batch, verbose=0),
                             losses)
    return epoch, score


def fastdl_vae(x: np.ndarray, x_test: np.ndarray, batch: int) -> tuple[Callable, Callable]:
    return example_vae(fastdl_example("vae.py"), x, x_test, batch)


def keras_vae(x: np.ndarray, x_test: np.ndarray, batch: int) -> tuple[Callable, Callable]:
    return example_vae(keras_example("vae.py"), x, x_test, batch)


def fastdl_dcgan(x: np.ndarray, batch: int) -> tuple[Callable, Callable]:
    return example_dcgan(fastdl_example("dcgan.py"), x, batch)


def keras_dcgan(x: np.ndarray, batch: int) -> tuple[Callable, Callable]:
    return example_dcgan(keras_example("dcgan.py"), x, batch)


def keras_initialized(module):
    """``module`` with Keras's default initializers, so that both libraries train the same
    model: Glorot-uniform kernels and zero biases (for every layer here the fans are the same in
    both layouts); an Embedding uniform in [-0.05, 0.05]; an LSTM's input kernel Glorot-uniform,
    its recurrent kernel orthogonal, and one bias of zeros with the forget gate's at 1.
    PyTorch's gates come in Keras's order (i, f, g/c, o). PyTorch's LSTM has a second bias,
    added to the first: it stays 0 and out of training, since under Adam two biases that get the
    same gradient move twice as far per step as Keras's one (a different model: over 50 steps
    of the character model it changed the validation loss by 0.01 bit)."""
    import torch
    from torch import nn

    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
            elif isinstance(layer, nn.Embedding):
                nn.init.uniform_(layer.weight, -0.05, 0.05)
            elif isinstance(layer, nn.LSTM):
                units = layer.hidden_size
                for k in range(layer.num_layers):
                    nn.init.xavier_uniform_(getattr(layer, f"weight_ih_l{k}"))
                    nn.init.orthogonal_(getattr(layer, f"weight_hh_l{k}"))
                    bias = getattr(layer, f"bias_ih_l{k}")
                    nn.init.zeros_(bias)
                    bias[units:2 * units] = 1.0
                    nn.init.zeros_(getattr(layer, f"bias_hh_l{k}"))
                    getattr(layer, f"bias_hh_l{k}").requires_grad_(False)
    return module


def torch_vae(x: np.ndarray, x_test: np.ndarray, batch: int,
              data_loader: bool = False) -> tuple[Callable, Callable]:
    import torch
    from torch import nn

    class VAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                nn.Linear(64 * 7 * 7, 16), nn.ReLU())
            self.z_mean, self.z_log_var = nn.Linear(16, LATENT_DIM), nn.Linear(16, LATENT_DIM)
            self.decoder = nn.Sequential(
                nn.Linear(LATENT_DIM, 7 * 7 * 64), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                nn.ConvTranspose2d(32, 1, 3, padding=1), nn.Sigmoid())

        def forward(self, images):
            h = self.encoder(images)
            z_mean, z_log_var = self.z_mean(h), self.z_log_var(h)
            z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)
            return self.decoder(z), z_mean, z_log_var

    def loss_fn(images, reconstruction, z_mean, z_log_var):
        bce = nn.functional.binary_cross_entropy(reconstruction, images, reduction="none")
        kl = -0.5 * (1 + z_log_var - z_mean ** 2 - torch.exp(z_log_var))
        return (bce.sum(dim=(1, 2, 3)) + kl.sum(dim=1)).mean()

    model = keras_initialized(VAE())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    test = torch.from_numpy(np.ascontiguousarray(x_test.transpose(0, 3, 1, 2)))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images),
                                         batch_size=batch, shuffle=True) if data_loader else None

    def step(xb) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(xb, *model(xb)).backward()
        optimizer.step()

    def epoch() -> None:
        model.train()
        if loader is not None:
            for (xb,) in loader:
                step(xb)
            return
        order = torch.randperm(len(images))
        for lo in range(0, len(images), batch):
            step(images[order[lo:lo + batch]])

    def score() -> float:
        model.eval()
        with torch.no_grad():
            parts = [model(test[lo:lo + batch]) for lo in range(0, len(test), batch)]
        reconstruction, z_mean, z_log_var = (torch.cat(p).numpy() for p in zip(*parts))
        return vae_loss(x_test, reconstruction.transpose(0, 2, 3, 1), z_mean, z_log_var)
    return epoch, score


def torch_dcgan(x: np.ndarray, batch: int,
                data_loader: bool = False) -> tuple[Callable, Callable]:
    import torch
    from torch import nn

    # Keras's 'same' padding of a 4x4 kernel at stride 2 is one pixel on each side.
    generator = keras_initialized(nn.Sequential(
        nn.Linear(DCGAN_LATENT_DIM, 7 * 7 * 128), nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 128, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 1, 5, padding=2), nn.Sigmoid()))
    discriminator = keras_initialized(nn.Sequential(
        nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten(),
        nn.Dropout(0.2), nn.Linear(7 * 7 * 128, 1), nn.Sigmoid()))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-4, eps=1e-7)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=1e-4, eps=1e-7)

    def loss_fn(predictions, labels):  # Keras's: the labels may exceed 1 (noise is added)
        p = predictions.clamp(1e-7, 1 - 1e-7)
        return -(labels * torch.log(p) + (1 - labels) * torch.log1p(-p)).mean()

    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images),
                                         batch_size=batch, shuffle=True) if data_loader else None
    latent = torch.from_numpy(np.random.default_rng(42).standard_normal(
        (SPREAD_SAMPLES, DCGAN_LATENT_DIM)).astype(np.float32))
    losses: list = []

    def step(real) -> tuple:
        n = len(real)
        fake = generator(torch.randn(n, DCGAN_LATENT_DIM))
        labels = torch.cat([torch.ones(n, 1), torch.zeros(n, 1)])
        labels += 0.05 * torch.rand_like(labels)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss = loss_fn(discriminator(torch.cat([fake.detach(), real])), labels)
        d_loss.backward()
        d_optimizer.step()
        g_optimizer.zero_grad(set_to_none=True)
        discriminator.requires_grad_(False)  # no weight gradients where none are applied
        g_loss = loss_fn(discriminator(generator(torch.randn(n, DCGAN_LATENT_DIM))),
                         torch.zeros(n, 1))
        g_loss.backward()
        discriminator.requires_grad_(True)
        g_optimizer.step()
        return d_loss.detach(), g_loss.detach()

    def epoch() -> None:
        generator.train()
        discriminator.train()
        if loader is not None:
            batches = (xb for (xb,) in loader)
        else:
            order = torch.randperm(len(images))
            batches = (images[order[lo:lo + batch]] for lo in range(0, len(images), batch))
        last = [step(xb) for xb in batches][-1]
        losses[:] = [float(v) for v in last]

    def score() -> float:
        generator.eval()
        with torch.no_grad():
            samples = generator(latent).numpy()
        return sample_spread(samples, losses)
    return epoch, score
