"""A character-level language model on Shakespeare, written as for Keras with only the import
changed: Embedding -> LSTM(return_sequences) -> Dense over the characters, trained with ``fit``
to predict each next character, its validation loss reported in bits per character; then text
sampled from it, one character at a time, with a temperature.

The text is the public-domain Shakespeare shipped with fastdl
(``fastdl.datasets.shakespeare``, about 1 MB), so the example runs offline.

    python examples/char_lstm.py [--epochs 3] [--steps 100] [--units 256] [--temperature 0.8]
"""
import argparse
import math
import time

import numpy as np

from fastdl import datasets, keras


def sequences(text: str, index: dict, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of ``steps`` characters as ids, and the same windows shifted
    by one: the next character at every step."""
    ids = np.fromiter((index[c] for c in text), dtype=np.int32, count=len(text))
    count = (len(ids) - 1) // steps
    x = ids[:count * steps].reshape(count, steps)
    y = ids[1:count * steps + 1].reshape(count, steps)
    return x, y


def build_model(vocabulary: int, units: int) -> keras.Model:
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocabulary, 64),
        keras.layers.LSTM(units, return_sequences=True),
        keras.layers.Dense(vocabulary),
    ])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def sample(model: keras.Model, prompt: str, index: dict, characters: list, length: int,
           temperature: float, context: int, rng: np.random.Generator) -> str:
    """``length`` characters after ``prompt``, each drawn from the model's distribution over
    the last ``context`` characters, sharpened (temperature < 1) or flattened (> 1)."""
    text = prompt
    for _ in range(length):
        window = np.array([[index[c] for c in text[-context:]]], dtype=np.int32)
        logits = model.predict(window, verbose=0)[0, -1].astype(np.float64) / temperature
        p = np.exp(logits - logits.max())
        text += characters[rng.choice(len(p), p=p / p.sum())]
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100, help="characters per sequence")
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--length", type=int, default=400, help="characters to sample")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    train_text, validation_text = datasets.shakespeare.load_data(validation_split=0.1)
    characters = sorted(set(train_text + validation_text))
    index = {c: i for i, c in enumerate(characters)}
    x_train, y_train = sequences(train_text, index, args.steps)
    x_val, y_val = sequences(validation_text, index, args.steps)
    print(f"data: {len(train_text)} training and {len(validation_text)} validation characters, "
          f"{len(characters)} distinct; {len(x_train)} sequences of {args.steps}")
    model = build_model(len(characters), args.units)
    model.summary()
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_data=(x_val, y_val))
    print(f"training: {time.perf_counter() - start:.2f} s")
    loss = model.evaluate(x_val, y_val, verbose=0)
    print(f"validation loss {loss:.4f} nats, {loss / math.log(2):.3f} bits per character")
    rng = np.random.default_rng(0)
    print(sample(model, "ROMEO.\n", index, characters, args.length, args.temperature,
                 args.steps, rng))


if __name__ == "__main__":
    main()
