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


def test_lstm_example_model_learns_the_sample(sample):
    (x_train, y_train), (x_test, y_test) = sample
    keras.utils.set_random_seed(0)
    model = example("lstm_fashion_mnist.py")["build_model"]()
    model.fit(x_train.reshape(-1, 28, 28), y_train, epochs=3, batch_size=64, verbose=0)
    loss, accuracy = model.evaluate(x_test.reshape(-1, 28, 28), y_test, verbose=0)
    # 5,000 training images, 3 epochs: 0.755 (full Fashion-MNIST, 1 epoch: about 0.82).
    assert accuracy >= 0.72


def test_char_lstm_example_runs_end_to_end(monkeypatch, capsys):
    """The language model trains on a slice of the text, reports bits per character, and
    samples text that continues its prompt."""
    text = datasets.shakespeare.load_data()[:30000]
    split = text.rindex("\n", 0, 27000) + 1
    monkeypatch.setattr(datasets.shakespeare, "load_data",
                        lambda validation_split=None: (text[:split], text[split:]))
    monkeypatch.setattr(sys, "argv", ["char_lstm.py", "--epochs", "10", "--units", "64",
                                      "--steps", "50", "--length", "30"])
    example("char_lstm.py")["main"]()
    out = capsys.readouterr().out
    bits = float(out.split(" bits per character")[0].split()[-1])
    # Uniform over the slice's characters would be log2(70) = 6.1 bits; 85 batches of
    # training reach about 4.6 (the full example, 3 epochs over the whole text: 3.33).
    assert 0 < bits < 5.0
    sampled = out.rstrip("\n").split("ROMEO.\n", 1)
    assert len(sampled) == 2 and len(sampled[1]) >= 20


def test_char_gpt_example_runs_end_to_end(monkeypatch, capsys):
    """The transformer trains on a slice of the text with a small configuration, reports bits
    per character below the uniform distribution's, and samples text after its prompt."""
    text = datasets.shakespeare.load_data()[:30000]
    split = text.rindex("\n", 0, 27000) + 1
    monkeypatch.setattr(datasets.shakespeare, "load_data",
                        lambda validation_split=None: (text[:split], text[split:]))
    monkeypatch.setattr(sys, "argv", ["char_gpt.py", "--steps", "60", "--layers", "2",
                                      "--dim", "64", "--context", "32", "--length", "30"])
    example("char_gpt.py")["main"]()
    out = capsys.readouterr().out
    bits = float(out.split(" bits per character")[0].split()[-1])
    # Uniform over the slice's characters: log2(70) = 6.1 bits; 60 steps reach about 4.
    assert 0 < bits < 5.0
    sampled = out.rstrip("\n").split("ROMEO:\n", 1)
    assert len(sampled) == 2 and len(sampled[1]) >= 20


def test_vit_example_model_learns_the_sample(sample):
    (x_train, y_train), (x_test, y_test) = sample
    keras.utils.set_random_seed(0)
    model = example("vit_fashion_mnist.py")["build_model"]()
    model.fit(x_train[..., None], y_train, epochs=5, batch_size=64, verbose=0)
    loss, accuracy = model.evaluate(x_test[..., None], y_test, verbose=0)
    # 5,000 training images, 5 epochs: 0.782.
    assert accuracy >= 0.74


def test_dcgan_example_trains_and_writes_grids(monkeypatch, tmp_path):
    """A few batches of the DCGAN: finite losses for both networks, samples that differ
    from one another, and a PNG grid per epoch."""
    monkeypatch.setattr(datasets.fashion_mnist, "load_data",
                        lambda download=False: datasets.fashion_mnist.load_sample())
    monkeypatch.setattr(sys, "argv", ["dcgan.py", "--epochs", "2", "--samples", "256",
                                      "--out", str(tmp_path)])
    history = example("dcgan.py")["main"]()
    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    generator = history.model.generator
    samples = generator.predict(np.random.default_rng(0).standard_normal((4, 128)), verbose=0)
    assert samples.shape == (4, 28, 28, 1) and np.std(samples, axis=0).mean() > 1e-4
    pytest.importorskip("PIL")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_001.png", "epoch_002.png"]
    grid = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "epoch_002.png",
                                                         color_mode="grayscale"))
    assert grid.shape == (6 * 29 + 1, 6 * 29 + 1, 1)


def test_gan_example_trains_in_turns_with_the_discriminator_frozen(tmp_path):
    """The classic GAN: train_on_batch turns; a generator step through the combined model
    leaves the discriminator's weights bitwise unchanged while it moves the generator's."""
    module = example("gan.py")
    keras.utils.set_random_seed(0)
    generator, discriminator, combined = module["build_gan"]()
    rng = np.random.default_rng(0)
    images = (datasets.fashion_mnist.load_sample()[0][0][:512].reshape(-1, 28, 28, 1)
              .astype("float32") - 127.5) / 127.5
    history = module["train"](generator, discriminator, combined, images, 2, 3, 32, rng)
    assert len(history) == 2 and np.isfinite(history).all()
    before_d = [w.copy() for w in discriminator.get_weights()]
    before_g = [w.copy() for w in generator.get_weights()]
    combined.train_on_batch(rng.standard_normal((32, 100)).astype("float32"),
                            np.ones((32, 1), "float32"))
    assert all(np.array_equal(a, b) for a, b in zip(before_d, discriminator.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(before_g, generator.get_weights()))
    pytest.importorskip("PIL")
    module["save_grid"](generator, str(tmp_path), 0, rng.standard_normal((4, 100)))
    assert (tmp_path / "epoch_001.png").exists()


def test_dense_on_an_image_then_reshape_to_the_image_fails_clearly():
    """Dense applied to a (28, 28, 1) tensor keeps the spatial axes, so reshaping its
    (28, 28, 784) output to (28, 28, 1) cannot work: the error names the layer and sizes."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Dense(28 * 28, activation="tanh")(inputs)
    with pytest.raises(ValueError, match=r"(?i)reshape.*\(28, 28, 1\)"):
        keras.layers.Reshape((28, 28, 1))(x)
