"""The variational autoencoder of examples/vae.py (keras.io's), for benchmarks/train.py: the
fastdl model is the example's own; PyTorch's is the same network (the same layers, sizes,
activations, losses and Adam settings) written with ``torch.nn``.

Each trainer is a pair of functions: one training epoch over the images (batches of ``batch``,
shuffled), and the score, the mean per-image loss on the test images (the binary
cross-entropy of the reconstruction summed over its pixels, plus the KL divergence of the
latent distribution from the standard normal, with z sampled as in training).
"""
from __future__ import annotations

import runpy
from pathlib import Path
from typing import Callable

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LATENT_DIM = 2


def vae_loss(x: np.ndarray, reconstruction: np.ndarray, z_mean: np.ndarray,
             z_log_var: np.ndarray) -> float:
    """The example's loss, per image, averaged over the batch (in float64)."""
    x, r = x.astype(np.float64), np.clip(reconstruction.astype(np.float64), 1e-7, 1 - 1e-7)
    reconstruction_loss = -(x * np.log(r) + (1 - x) * np.log(1 - r)).sum(axis=(1, 2, 3))
    kl = -0.5 * (1 + z_log_var - z_mean ** 2 - np.exp(z_log_var)).sum(axis=1)
    return float(np.mean(reconstruction_loss + kl))


def fastdl_vae(x: np.ndarray, x_test: np.ndarray, batch: int) -> tuple[Callable, Callable]:
    from fastdl import keras

    example = runpy.run_path(str(EXAMPLES / "vae.py"), run_name="benchmark")
    vae = example["VAE"](example["build_encoder"](), example["build_decoder"]())
    vae.compile(optimizer=keras.optimizers.Adam())

    def epoch() -> None:
        vae.fit(x, epochs=1, batch_size=batch, verbose=0)

    def score() -> float:
        z_mean, z_log_var, z = vae.encoder.predict(x_test, batch_size=batch, verbose=0)
        reconstruction = vae.decoder.predict(z, batch_size=batch, verbose=0)
        return vae_loss(x_test, reconstruction, np.asarray(z_mean), np.asarray(z_log_var))
    return epoch, score


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

    model = VAE()
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
