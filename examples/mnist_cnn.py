"""The MNIST convolutional network, written as for Keras with only the import changed.

Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> Conv2D(64, 3x3) -> Flatten -> Dense(64) ->
Dense(10, softmax), trained with Adam on sparse categorical cross-entropy. It runs on MNIST
when a copy is on this machine, else on Fashion-MNIST, else on the Fashion-MNIST sample
shipped with fastdl; ``--download`` fetches the full datasets first.

    python examples/mnist_cnn.py [--epochs 3] [--download]
"""
import argparse
import time

from fastdl import datasets, keras


def load(download: bool):
    name, ((x_train, y_train), (x_test, y_test)) = datasets.load_first_available(download)
    print(f"data: {name}, {len(x_train)} training and {len(x_test)} test images")
    # Keras's image layout: (batch, height, width, channels).
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255.0
    return (x_train, y_train), (x_test, y_test)


def build_model() -> keras.Model:
    model = keras.Sequential([
        keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3)),
        keras.layers.Flatten(),
        keras.layers.Dense(64),
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
                        help="download MNIST (or Fashion-MNIST) when no copy is found")
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
    predictions = model.predict(x_test[:10]).argmax(axis=1)
    print("predicted:", predictions.tolist())
    print("labels:   ", y_test[:10].tolist())


if __name__ == "__main__":
    main()
