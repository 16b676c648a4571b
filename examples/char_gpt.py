"""A character-level GPT on Shakespeare, written as for Keras with only the import changed: a
decoder-only transformer (token and position embeddings, pre-norm blocks of causal
MultiHeadAttention and a GELU MLP with residual adds, a last LayerNormalization and a Dense
over the characters), in the small configuration commonly used for character-level Shakespeare
on a CPU (4 layers, 4 heads, 128 dimensions, a context of 64, batches of 12, 2000 steps, AdamW
with a warmup and a cosine decay, no dropout). It reports the validation loss in bits per
character and samples text from a prompt.

The text is the public-domain Shakespeare shipped with fastdl (``fastdl.datasets.shakespeare``,
about 1 MB), so the example runs offline.

    python examples/char_gpt.py [--steps 2000] [--batch-size 12] [--context 64] [--layers 4]
                                [--heads 4] [--dim 128] [--temperature 0.8]
"""
import argparse
import math
import time

import numpy as np

from fastdl import datasets, keras
from fastdl.keras import layers, ops


class TokenAndPositionEmbedding(layers.Layer):
    """Each token's embedding plus its position's, both learned."""

    def __init__(self, vocabulary, context, dim, **kwargs):
        super().__init__(**kwargs)
        self.tokens = layers.Embedding(vocabulary, dim)
        self.positions = layers.Embedding(context, dim)

    def call(self, ids):
        return self.tokens(ids) + self.positions(ops.arange(ids.shape[-1]))


class TransformerBlock(layers.Layer):
    """Pre-norm: x + attention(norm(x)), then x + mlp(norm(x)), the attention causal."""

    def __init__(self, dim, heads, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.attention_norm = layers.LayerNormalization(epsilon=1e-5)
        self.attention = layers.MultiHeadAttention(heads, dim // heads, dropout=dropout)
        self.mlp_norm = layers.LayerNormalization(epsilon=1e-5)
        self.mlp_in = layers.Dense(4 * dim, activation="gelu")
        self.mlp_out = layers.Dense(dim)
        self.dropout = layers.Dropout(dropout)

    def call(self, x, training=None):
        h = self.attention_norm(x)
        x = x + self.attention(h, h, use_causal_mask=True, training=training)
        h = self.mlp_out(self.mlp_in(self.mlp_norm(x)))
        return x + self.dropout(h, training=training)


def build_model(vocabulary, context=64, dim=128, heads=4, blocks=4, steps=2000,
                learning_rate=1e-3, warmup=100):
    ids = keras.Input(shape=(context,), dtype="int32")
    x = TokenAndPositionEmbedding(vocabulary, context, dim)(ids)
    for _ in range(blocks):
        x = TransformerBlock(dim, heads)(x)
    logits = layers.Dense(vocabulary)(layers.LayerNormalization(epsilon=1e-5)(x))
    model = keras.Model(ids, logits)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(1, steps - warmup), alpha=0.1, warmup_target=learning_rate,
        warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def windows(ids, context, count, rng):
    """``count`` windows of ``context`` ids at random places, and the same shifted by one: the
    next character at every position."""
    starts = rng.integers(0, len(ids) - context - 1, size=count)
    offsets = starts[:, None] + np.arange(context)
    return ids[offsets], ids[offsets + 1]


def sample(model, prompt, index, characters, length, temperature, context, rng):
    """``length`` characters after ``prompt``, each drawn from the model's distribution given the
    last ``context`` characters (the prompt padded on the left with its first character)."""
    text = prompt
    for _ in range(length):
        window = [index[c] for c in text[-context:]]
        window = [window[0]] * (context - len(window)) + window
        logits = model.predict(np.array([window], dtype=np.int32), verbose=0)[0, -1]
        logits = logits.astype(np.float64) / temperature
        p = np.exp(logits - logits.max())
        text += characters[rng.choice(len(p), p=p / p.sum())]
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--length", type=int, default=300, help="characters to sample")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    train_text, validation_text = datasets.shakespeare.load_data(validation_split=0.1)
    characters = sorted(set(train_text + validation_text))
    index = {c: i for i, c in enumerate(characters)}
    train_ids = np.array([index[c] for c in train_text], dtype=np.int32)
    validation_ids = np.array([index[c] for c in validation_text], dtype=np.int32)
    x, y = windows(train_ids, args.context, args.steps * args.batch_size, rng)
    x_val, y_val = windows(validation_ids, args.context, 200 * args.batch_size, rng)
    print(f"data: {len(train_text)} training and {len(validation_text)} validation characters, "
          f"{len(characters)} distinct; {args.steps} steps of {args.batch_size} windows of "
          f"{args.context}")
    model = build_model(len(characters), args.context, args.dim, args.heads, args.layers,
                        args.steps)
    model.summary()
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=args.batch_size, shuffle=False, verbose=2)
    print(f"training: {time.perf_counter() - start:.2f} s")
    loss = model.evaluate(x_val, y_val, batch_size=64, verbose=0)
    print(f"validation loss {loss:.4f} nats, {loss / math.log(2):.3f} bits per character")
    print(sample(model, "ROMEO:\n", index, characters, args.length, args.temperature,
                 args.context, rng))


if __name__ == "__main__":
    main()
