"""An LSTM classifier on Fashion-MNIST, written as for Keras with only the import changed.

Each 28x28 image is read as a sequence of 28 steps of 28 pixels (its rows, top to bottom):
LSTM(128) -> Dense(10, softmax), trained with Adam on sparse categorical cross-entropy. It
runs on the full Fashion-MNIST when a copy is on this machine (``--download`` fetches it),
else on the sample shipped with fastdl.

    python examples/lstm_fashion_mnist.py [--epochs 3] [--download]
"""
import argparse
import time

from fastdl import datasets, keras


def load(download: bool):
    try:
        name = "fashion_mnist"
        (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data(
            download=download)
    except datasets.DatasetNotFoundError:
        name = "fashion_mnist_sample"
        (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_sample()
    print(f"data: {name}, {len(x_train)} training and {len(x_test)} test images")
    # (batch, steps, features): the rows of each image are its steps.
    x_train = x_train.reshape(-1, 28, 28).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 28, 28).astype("float32") / 255.0
    return (x_train, y_train), (x_test, y_test)


def build_model() -> keras.Model:
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.LSTM(128),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--download", action="store_true",
                        help="download Fashion-MNIST when no copy is found")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load(args.download)
    model = build_model()
    model.summary()
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_data=(x_test, y_test))
    print(f"training: {time.perf_counter() - start:.2f} s")
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
