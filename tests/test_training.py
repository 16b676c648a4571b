"""Short real training runs on the Fashion-MNIST sample shipped with fastdl: the examples'
models, trained as the examples train them, reach a stated test accuracy."""
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from fastdl import datasets, keras

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name):
    return runpy.run_path(str(EXAMPLES / name), run_name="example")


@pytest.fixture(scope="module")
def sample():
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_sample()
    return (x_train / np.float32(255), y_train), (x_test / np.float32(255), y_test)


def test_mlp_example_model_learns_the_sample(sample):
    (x_train, y_train), (x_test, y_test) = sample
    keras.utils.set_random_seed(0)
    model = example("mnist_mlp.py")["build_model"]()
    history = model.fit(x_train.reshape(-1, 784), y_train, epochs=5, batch_size=64, verbose=0)
    loss, accuracy = model.evaluate(x_test.reshape(-1, 784), y_test, verbose=0)
    # 5,000 training images, 5 epochs: about 82% (full Fashion-MNIST, 10 epochs: about 87%).
    assert accuracy >= 0.78
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_cnn_example_model_learns_the_sample(sample):
    (x_train, y_train), (x_test, y_test) = sample
    keras.utils.set_random_seed(0)
    model = example("mnist_cnn.py")["build_model"]()
    model.fit(x_train[..., None], y_train, epochs=2, batch_size=64, verbose=0)
    loss, accuracy = model.evaluate(x_test[..., None], y_test, verbose=0)
    assert accuracy >= 0.78


def test_mlp_example_runs_end_to_end(monkeypatch, capsys):
    monkeypatch.setattr(datasets, "load_first_available",
                        lambda download=False: ("fashion_mnist_sample",
                                                datasets.fashion_mnist.load_sample()))
    monkeypatch.setattr(sys, "argv", ["mnist_mlp.py", "--epochs", "1"])
    example("mnist_mlp.py")["main"]()
    out = capsys.readouterr().out
    assert "data: fashion_mnist_sample" in out and "test accuracy" in out
    predicted = [line for line in out.splitlines() if line.startswith("predicted:")]
    labels = [line for line in out.splitlines() if line.startswith("labels:")]
    assert len(predicted) == len(labels) == 1 and predicted[0].count(",") == 9
