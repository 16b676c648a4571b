"""The transformer examples for benchmarks/train.py: examples/char_gpt.py (a character-level GPT
on Shakespeare) and examples/vit_fashion_mnist.py (a small vision transformer), each with the
example's batch size and optimizer.

fastdl's models are the examples' own; Keras's are the same files run on Keras 3
(``generative.keras_example``). PyTorch's are the same networks written with its modules
(``nn.MultiheadAttention``, ``nn.LayerNorm``, GELU), Keras's default initializers on their
dense and convolution layers, the same optimizer and learning-rate schedule, and its fastest
plain loop (batches by indexing).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

import generative

#: Each example's batch size.
GPT_BATCH, VIT_BATCH = 12, 128


def bits(nats: float) -> float:
    return nats / math.log(2)


def _learning_rate(step: int, steps: int, warmup: int = 100, peak: float = 1e-3) -> float:
    """The GPT example's schedule (Keras's CosineDecay with a warmup, alpha 0.1) at ``step``."""
    if step < warmup:
        return peak * step / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


# --------------------------------------------------------------------------- the GPT

def example_gpt(example: dict, x: np.ndarray, y: np.ndarray, x_test: np.ndarray,
                y_test: np.ndarray, characters: int,
                steps: int) -> tuple[Callable, Callable]:
    """The GPT of ``example`` (fastdl's or Keras's globals of examples/char_gpt.py), its
    schedule spanning ``steps`` batches."""
    model = example["build_model"](characters, context=x.shape[1], steps=steps)

    def epoch() -> None:
        model.fit(x, y, epochs=1, batch_size=GPT_BATCH, shuffle=False, verbose=0)

    def score() -> float:
        return bits(float(model.evaluate(x_test, y_test, batch_size=64, verbose=0)))
    return epoch, score


def fastdl_gpt(*data) -> tuple[Callable, Callable]:
    return example_gpt(generative.fastdl_example("char_gpt.py"), *data)


def keras_gpt(*data) -> tuple[Callable, Callable]:
    return example_gpt(generative.keras_example("char_gpt.py"), *data)


def torch_gpt(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
              characters: int, steps: int, dim: int = 128, heads: int = 4,
              blocks: int = 4) -> tuple[Callable, Callable]:
    import torch
    from torch import nn

    context = x.shape[1]

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention_norm = nn.LayerNorm(dim, eps=1e-5)
            self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.mlp_norm = nn.LayerNorm(dim, eps=1e-5)
            self.mlp_in, self.mlp_out = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

        def forward(self, x, mask):
            h = self.attention_norm(x)
            x = x + self.attention(h, h, h, attn_mask=mask, is_causal=True,
                                   need_weights=False)[0]
            return x + self.mlp_out(nn.functional.gelu(self.mlp_in(self.mlp_norm(x))))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tokens, self.positions = nn.Embedding(characters, dim), nn.Embedding(context,
                                                                                      dim)
            self.blocks = nn.ModuleList([Block() for _ in range(blocks)])
            self.norm, self.head = nn.LayerNorm(dim, eps=1e-5), nn.Linear(dim, characters)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(context))

        def forward(self, ids):
            h = self.tokens(ids) + self.positions(torch.arange(ids.shape[1]))
            for block in self.blocks:
                h = block(h, self.mask)
            return self.head(self.norm(h))

    model = generative.keras_initialized(GPT())
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0, weight_decay=0.1, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y.astype(np.int64))
    state = {"step": 0}

    def epoch() -> None:
        model.train()
        for lo in range(0, len(xt), GPT_BATCH):
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(state["step"], steps)
            state["step"] += 1
            optimizer.zero_grad(set_to_none=True)
            logits = model(xt[lo:lo + GPT_BATCH])
            loss_fn(logits.reshape(-1, characters), yt[lo:lo + GPT_BATCH].reshape(-1)).backward()
            optimizer.step()

    def score() -> float:
        model.eval()
        total = 0.0
        with torch.no_grad():
            for lo in range(0, len(x_test), 64):
                ids = torch.from_numpy(x_test[lo:lo + 64].astype(np.int64))
                labels = torch.from_numpy(y_test[lo:lo + 64].astype(np.int64))
                total += float(loss_fn(model(ids).reshape(-1, characters),
                                       labels.reshape(-1))) * len(ids)
        return bits(total / len(x_test))
    return epoch, score


# --------------------------------------------------------------------------- the ViT

def example_vit(example: dict, x: np.ndarray, y: np.ndarray, x_test: np.ndarray,
                y_test: np.ndarray) -> tuple[Callable, Callable]:
    """The ViT of ``example`` (fastdl's or Keras's globals of examples/vit_fashion_mnist.py)."""
    model = example["build_model"]()

    def epoch() -> None:
        model.fit(x, y, epochs=1, batch_size=VIT_BATCH, verbose=0)

    def score() -> float:
        return float(model.evaluate(x_test, y_test, batch_size=VIT_BATCH, verbose=0)[1])
    return epoch, score


def fastdl_vit(*data) -> tuple[Callable, Callable]:
    return example_vit(generative.fastdl_example("vit_fashion_mnist.py"), *data)


def keras_vit(*data) -> tuple[Callable, Callable]:
    return example_vit(generative.keras_example("vit_fashion_mnist.py"), *data)


def torch_vit(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
              dim: int = 64, heads: int = 4, blocks: int = 2,
              dropout: float = 0.1) -> tuple[Callable, Callable]:
    import torch
    from torch import nn

    patch, patches = 7, 16

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention_norm = nn.LayerNorm(dim, eps=1e-6)
            self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
            self.mlp_norm = nn.LayerNorm(dim, eps=1e-6)
            self.mlp_in, self.mlp_out = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            h = self.attention_norm(x)
            x = x + self.attention(h, h, h, need_weights=False)[0]
            h = self.mlp_out(nn.functional.gelu(self.mlp_in(self.mlp_norm(x))))
            return x + self.dropout(h)

    class ViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.projection = nn.Conv2d(1, dim, patch, stride=patch)
            self.positions = nn.Embedding(patches, dim)
            self.blocks = nn.Sequential(*[Block() for _ in range(blocks)])
            self.norm, self.head = nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 10)

        def forward(self, images):
            h = self.projection(images).flatten(2).transpose(1, 2)
            h = h + self.positions.weight
            return self.head(self.norm(self.blocks(h)).mean(1))

    model = generative.keras_initialized(ViT())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    def nchw(a: np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))

    xt, yt = nchw(x), torch.from_numpy(y.astype(np.int64))

    def epoch() -> None:
        model.train()
        order = torch.randperm(len(xt))
        for lo in range(0, len(xt), VIT_BATCH):
            idx = order[lo:lo + VIT_BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(xt[idx]), yt[idx]).backward()
            optimizer.step()

    def score() -> float:
        model.eval()
        with torch.no_grad():
            predicted = model(nchw(x_test)).argmax(1).numpy()
        return float((predicted == y_test).mean())
    return epoch, score
