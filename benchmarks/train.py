"""Training speed: the MNIST MLP and CNN, one epoch at a time, fastdl against PyTorch (and
Keras when TensorFlow is installed) on the same model, data, batch size and optimizer, in one
process, the libraries interleaved, median of repeats after one warm-up epoch each.

    python benchmarks/train.py [mlp] [cnn] [--repeats 5] [--threads 2] [--json FILE]
    python benchmarks/train.py --device cuda [--json FILE]   # on a GPU, against PyTorch CUDA
    python benchmarks/train.py mlp --custom-step             # a custom train_step's cost

The data are Fashion-MNIST (MNIST when present; the packaged sample, repeated to the epoch's
size, when neither is), as float32 in [0, 1]. The models are the examples' (examples/
mnist_mlp.py, examples/mnist_cnn.py): Adam (lr 1e-3, epsilon 1e-7), batch 64, shuffled every
epoch. PyTorch's loss is CrossEntropyLoss on the logits; ``torch`` takes its batches by
indexing with a fresh permutation, its fastest plain form, and ``torch DataLoader`` iterates a
shuffling DataLoader over a TensorDataset, as PyTorch's tutorials do.

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
import statistics
import time
from typing import Callable

import numpy as np

import fastdl
from fastdl import datasets, keras
from fastdl.bench.machine import describe

BATCH = 64
IDLE_SECONDS = 0.5


# --------------------------------------------------------------------------- fastdl

def fastdl_layers(kind: str) -> list:
    if kind == "mlp":
        return [keras.layers.Dense(128, activation="relu", input_shape=(784,)),
                keras.layers.Dropout(0.5), keras.layers.Dense(10, activation="softmax")]
    return [keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            keras.layers.MaxPooling2D((2, 2)), keras.layers.Conv2D(64, (3, 3)),
            keras.layers.Flatten(), keras.layers.Dense(64),
            keras.layers.Dense(10, activation="softmax")]


def fastdl_model(kind: str) -> keras.Model:
    model = keras.Sequential(fastdl_layers(kind))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def fastdl_epoch(kind: str, x: np.ndarray, y: np.ndarray,
                 device: str = "cpu") -> Callable[[], None]:
    model = fastdl_model(kind).to(device)

    def epoch() -> None:
        model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
        if device == "cuda":
            fastdl.cuda.synchronize()
    return epoch


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


def builtin_step_epoch(kind: str, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    """The reference of the custom step: compile with the loss (no metrics), fit's step."""
    model = keras.Sequential(fastdl_layers(kind))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return lambda: model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


def custom_step_epoch(kind: str, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    model = CustomStepModel(fastdl_layers(kind))
    model.compile(optimizer="adam")
    return lambda: model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


# --------------------------------------------------------------------------- PyTorch

def torch_epoch(kind: str, x: np.ndarray, y: np.ndarray, data_loader: bool = False,
                device: str = "cpu") -> Callable[[], None]:
    import torch
    from torch import nn

    if kind == "mlp":
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.5),
                              nn.Linear(128, 10))
        xt = torch.from_numpy(x)
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3), nn.Flatten(), nn.Linear(64 * 11 * 11, 64),
                              nn.Linear(64, 10))
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y.astype(np.int64))
    model, xt, yt = model.to(device), xt.to(device), yt.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

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

    loader = None
    if data_loader:  # the tutorials' form: a DataLoader over a TensorDataset
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xt, yt),
                                             batch_size=BATCH, shuffle=True)
    return epoch


def torch_loader_epoch(kind: str, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    return torch_epoch(kind, x, y, data_loader=True)


# --------------------------------------------------------------------------- Keras

def keras_epoch(kind: str, x: np.ndarray, y: np.ndarray) -> Callable[[], None]:
    import tensorflow as tf

    k = tf.keras
    if kind == "mlp":
        layers = [k.layers.Input((784,)), k.layers.Dense(128, activation="relu"),
                  k.layers.Dropout(0.5), k.layers.Dense(10, activation="softmax")]
    else:
        layers = [k.layers.Input((28, 28, 1)), k.layers.Conv2D(32, (3, 3), activation="relu"),
                  k.layers.MaxPooling2D((2, 2)), k.layers.Conv2D(64, (3, 3)),
                  k.layers.Flatten(), k.layers.Dense(64),
                  k.layers.Dense(10, activation="softmax")]
    model = k.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return lambda: model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)


# --------------------------------------------------------------------------- harness

def load(kind: str, samples: int) -> tuple[str, np.ndarray, np.ndarray]:
    name, ((x, y), _) = datasets.load_first_available()
    if len(x) < samples:  # the packaged sample: repeat it to the epoch's size
        reps = -(-samples // len(x))
        x, y = np.concatenate([x] * reps), np.concatenate([y] * reps)
    x, y = x[:samples], y[:samples]
    shape = (-1, 784) if kind == "mlp" else (-1, 28, 28, 1)
    return name, (x.reshape(shape) / np.float32(255)).astype(np.float32), y


def implementations(threads: int, device: str, custom_step: bool) -> dict[str, Callable]:
    """The epochs to time; the first is the reference of the others."""
    if custom_step:  # fastdl against itself
        fastdl.set_num_threads(threads)
        return {"built-in step": builtin_step_epoch, "custom train_step": custom_step_epoch}
    if device == "cuda":  # GPU against GPU: PyTorch's fastest loop (Keras here is CPU-only)
        import torch
        return {"fastdl": lambda *data: fastdl_epoch(*data, device="cuda"),
                "torch": lambda *data: torch_epoch(*data, device="cuda")}
    impls = {"fastdl": fastdl_epoch}
    fastdl.set_num_threads(threads)
    try:
        import torch
        torch.set_num_threads(threads)
        impls["torch"] = torch_epoch
        impls["torch DataLoader"] = torch_loader_epoch
    except ImportError:
        pass
    try:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        impls["keras"] = keras_epoch
    except ImportError:
        pass
    return impls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", choices=["mlp", "cnn", []],
                        help="which models (default: both)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=60000, help="samples per epoch (MLP)")
    parser.add_argument("--cnn-samples", type=int, default=12800,
                        help="samples per timed CNN epoch")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--custom-step", action="store_true",
                        help="time a custom train_step (GradientTape, the loss, "
                             "apply_gradients, a Mean tracker) against the built-in step")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    args.models = args.models or ["mlp", "cnn"]
    impls = implementations(args.threads, args.device, args.custom_step)
    fastdl.utils.set_random_seed(0)
    results = []
    for kind in args.models:
        samples = args.samples if kind == "mlp" else args.cnn_samples
        data_name, x, y = load(kind, samples)
        epochs = {name: make(kind, x, y) for name, make in impls.items()}
        for run in epochs.values():  # warm-up
            run()
        times: dict[str, list] = {name: [] for name in epochs}
        for _ in range(args.repeats):
            for name, run in epochs.items():
                # The previous library's idle workers spin for a while after its epoch
                # (OpenBLAS, TensorFlow's pools): let them go to sleep before timing.
                time.sleep(IDLE_SECONDS)
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        where = fastdl.cuda.get_device_name() if args.device == "cuda" else \
            f"{args.threads} threads"
        print(f"{kind}: {samples} {data_name} samples per epoch, batch {BATCH}, {where}, "
              f"median of {args.repeats}")
        reference = next(iter(times))
        ours = statistics.median(times[reference])
        for name, samples_s in times.items():
            median = statistics.median(samples_s)
            compared = "" if name == reference else (
                f"  {median / ours - 1:+.1%} against the {reference}" if args.custom_step
                else f"  fastdl is {median / ours:5.2f}x faster")
            print(f"  {name:17s} {median:8.3f} s/epoch  {samples / median:9.0f} samples/s"
                  + compared)
            results.append({"model": kind, "impl": name, "samples": samples, "data": data_name,
                            "median_s": median, "min_s": min(samples_s), "samples_s": samples_s,
                            "samples_per_s": samples / median})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": describe(with_torch=False),
                       "device": (fastdl.cuda.get_device_name() if args.device == "cuda"
                                  else "cpu"),
                       "threads": args.threads, "batch": BATCH, "repeats": args.repeats,
                       "versions": _versions(), "results": results}, f, indent=1)


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
