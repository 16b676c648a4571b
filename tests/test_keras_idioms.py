"""keras.io's examples and guides, written again with ``from fastdl import keras`` and the
same idioms, on little data (a real Fashion-MNIST sample where an example uses MNIST) and
one short epoch, checked against what Keras 3 does with the same program."""
import numpy as np
import pytest

from fastdl import keras
from fastdl.keras import layers
from summary_text import summary_lines, summary_rows


# --------------------------------------------------------------------------- keras.io examples
# Each test below is a keras.io example written again with the same idioms, on little data
# (a real Fashion-MNIST sample where the example uses MNIST) and one short epoch.

@pytest.fixture(scope="module")
def fashion():
    """keras.io's MNIST preparation, on the Fashion-MNIST sample fastdl ships (real images)."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_sample()
    return (x_train[:640], y_train[:640]), (x_test[:200], y_test[:200])


def test_example_mnist_convnet(fashion):
    # examples/vision/mnist_convnet.py
    keras.utils.set_random_seed(0)
    num_classes = 10
    input_shape = (28, 28, 1)
    (x_train, y_train), (x_test, y_test) = fashion
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])
    assert model.count_params() == 34826  # Keras's summary: Total params: 34,826
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.1,
                        verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    score = model.evaluate(x_test, y_test, verbose=0)
    assert len(score) == 2 and score[1] > 0.2  # test loss, test accuracy; chance is 0.1


def test_guide_sequential_model():
    # guides/sequential_model.py
    model = keras.Sequential([
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ])
    x = np.ones((3, 3), np.float32)
    y = model(x)
    layer1 = layers.Dense(2, activation="relu", name="layer1")
    layer2 = layers.Dense(3, activation="relu", name="layer2")
    layer3 = layers.Dense(4, name="layer3")
    assert layer3(layer2(layer1(x))).shape == y.shape == (3, 4)

    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    model.pop()
    assert len(model.layers) == 2
    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu", name="layer1"))
    assert model.name == "my_sequential"

    layer = layers.Dense(3)
    assert layer.weights == []  # no weights before the layer sees its input
    layer(np.ones((1, 4), np.float32))
    assert [w.shape for w in layer.weights] == [(4, 3), (3,)]

    model = keras.Sequential([layers.Dense(2, activation="relu"),
                              layers.Dense(3, activation="relu"), layers.Dense(4)])
    model(np.ones((1, 4), np.float32))
    assert len(model.weights) == 6
    assert "Total params: 35" in "\n".join(summary_lines(model))

    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))
    assert len(model.layers) == 1 and model.output_shape == (None, 2)
    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu", input_shape=(4,)))
    assert model.built and len(model.weights) == 2

    # The add() + summary() workflow, down to a classifier.
    model = keras.Sequential()
    model.add(keras.Input(shape=(250, 250, 3)))
    model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    assert model.output_shape == (None, 40, 40, 32)
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(2))
    assert model.output_shape == (None, 4, 4, 32)
    model.add(layers.GlobalMaxPooling2D())
    model.add(layers.Dense(10))
    assert model.output_shape == (None, 10)


def test_guide_sequential_model_transfer_learning():
    # guides/sequential_model.py: freeze all layers but the last, then recompile and train.
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(10),
    ])
    for layer in model.layers[:-1]:
        layer.trainable = False
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    frozen = [w.numpy().copy() for w in model.layers[0].weights]
    last = model.layers[-1].kernel.numpy().copy()
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 784), np.float32), rng.integers(0, 10, 64), epochs=1, verbose=0)
    assert all((w.numpy() == before).all() for w, before in zip(model.layers[0].weights, frozen))
    assert not np.array_equal(model.layers[-1].kernel.numpy(), last)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 6

    # A built model as the first layer of another, frozen (the base-model pattern).
    base_model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, activation="relu")])
    base_model.trainable = False
    model = keras.Sequential([base_model, layers.Dense(3)])
    assert model.built and model.output_shape == (None, 3)
    assert len(model.trainable_weights) == 2 and model.count_params() == 36 + 15


def test_guide_functional_api(fashion):
    # guides/functional_api.py: a first model, trained and evaluated.
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(784,))
    assert inputs.shape == (None, 784) and inputs.dtype == "float32"
    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    assert model.name == "mnist_model" and model.count_params() == 55050
    (x_train, y_train), (x_test, y_test) = fashion
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=1, validation_split=0.2,
                        verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    test_scores = model.evaluate(x_test, y_test, verbose=0)
    assert test_scores[1] > 0.2  # Test loss, Test accuracy

    # One graph of layers, two models; a model called like a layer.
    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)
    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    assert [line.split("│")[1].strip() for line in summary_lines(encoder)
            if line.startswith("│")][0] == "img (InputLayer)"
    assert encoder.output_shape == (None, 16) and encoder.count_params() == 18672
    x = layers.Reshape((4, 4, 1))(encoder_output)
    assert keras.Model(encoder_input, x).output_shape == (None, 4, 4, 1)
    autoencoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
    nested = keras.Model(autoencoder_input, encoder(autoencoder_input))
    images = np.ones((2, 28, 28, 1), np.float32)
    np.testing.assert_allclose(nested.predict(images, verbose=0), encoder.predict(images),
                               rtol=1e-6)


def test_guide_functional_api_ensembling():
    # guides/functional_api.py: models averaged into one.
    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1, model2, model3 = get_model(), get_model(), get_model()
    inputs = keras.Input(shape=(128,))
    outputs = layers.average([model1(inputs), model2(inputs), model3(inputs)])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    x = np.random.default_rng(0).random((4, 128), np.float32)
    expected = (model1.predict(x) + model2.predict(x) + model3.predict(x)) / 3
    np.testing.assert_allclose(ensemble_model.predict(x), expected, rtol=1e-5)
    assert ensemble_model.count_params() == 3 * 129


def test_guide_functional_api_toy_resnet():
    # guides/functional_api.py: residual connections (random images stand in for CIFAR-10).
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs, outputs, name="toy_resnet")
    assert model.count_params() == 223242  # Keras's summary: Total params: 223,242
    lines = summary_lines(model, line_length=108)  # the same table as Keras's, line for line
    assert lines[2].endswith("┃ Connected to               ┃")  # not a chain
    second_add = next(row for row in summary_rows(lines)
                      if row[0] == f"{model.layers[9].name} (Add)")
    assert second_add[3].count("[0][0]") == 2  # its two inputs
    rng = np.random.default_rng(0)
    x_train = rng.random((40, 32, 32, 3), np.float32)
    y_train = keras.utils.to_categorical(rng.integers(0, 10, (40, 1)), 10)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["acc"])
    history = model.fit(x_train, y_train, batch_size=16, epochs=1, validation_split=0.2,
                        verbose=0)
    assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]


def test_guide_functional_api_custom_layer():
    # guides/functional_api.py: a layer written from scratch, in a functional model.
    class CustomDense(layers.Layer):
        def __init__(self, units=32):
            super(CustomDense, self).__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                     trainable=True)

        def call(self, inputs):
            return inputs @ self.w + self.b

        def get_config(self):
            return {"units": self.units}

    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 10) and model.count_params() == 50
    assert CustomDense.from_config(model.layers[1].get_config()).units == 10


def test_example_antirectifier(fashion):
    # examples/keras_recipes/antirectifier.py
    from fastdl.keras import ops
    keras.utils.set_random_seed(0)

    class Antirectifier(layers.Layer):
        def __init__(self, initializer="he_normal", **kwargs):
            super().__init__(**kwargs)
            self.initializer = keras.initializers.get(initializer)

        def build(self, input_shape):
            output_dim = input_shape[-1]
            self.kernel = self.add_weight(shape=(output_dim * 2, output_dim),
                                          initializer=self.initializer, name="kernel",
                                          trainable=True)

        def call(self, inputs):
            inputs -= ops.mean(inputs, axis=-1, keepdims=True)
            pos = ops.relu(inputs)
            neg = ops.relu(-inputs)
            concatenated = ops.concatenate([pos, neg], axis=-1)
            return ops.matmul(concatenated, self.kernel)

    (x_train, y_train), (x_test, y_test) = fashion
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(256),
        Antirectifier(),
        layers.Dense(256),
        Antirectifier(),
        layers.Dropout(0.5),
        layers.Dense(10),
    ])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    history = model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.15,
                        verbose=0)
    assert "val_sparse_categorical_accuracy" in history.history
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert np.isfinite(loss) and accuracy > 0.2


def test_guide_subclassing_variational_autoencoder(fashion):
    # guides/making_new_layers_and_models_via_subclassing.py: the end-to-end VAE.
    from fastdl.keras import ops
    from fastdl.keras import random as keras_random

    class Sampling(layers.Layer):
        """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras_random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch = ops.shape(z_mean)[0]
            dim = ops.shape(z_mean)[1]
            epsilon = keras_random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    class Encoder(layers.Layer):
        def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_mean = layers.Dense(latent_dim)
            self.dense_log_var = layers.Dense(latent_dim)
            self.sampling = Sampling()

        def call(self, inputs):
            x = self.dense_proj(inputs)
            z_mean = self.dense_mean(x)
            z_log_var = self.dense_log_var(x)
            z = self.sampling((z_mean, z_log_var))
            return z_mean, z_log_var, z

    class Decoder(layers.Layer):
        def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_output = layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            return self.dense_output(self.dense_proj(inputs))

    class VariationalAutoEncoder(keras.Model):
        def __init__(self, original_dim, intermediate_dim=64, latent_dim=32,
                     name="autoencoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.original_dim = original_dim
            self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
            self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

        def call(self, inputs):
            z_mean, z_log_var, z = self.encoder(inputs)
            reconstructed = self.decoder(z)
            kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
            self.add_loss(kl_loss)
            return reconstructed

    (x_train, _), _ = fashion
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    vae = VariationalAutoEncoder(784, 64, 32)
    assert vae.name == "autoencoder" and vae.encoder.name == "encoder"
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=1, batch_size=64, verbose=0)
    assert len(vae.losses) == 1  # the KL term of the last batch
    reconstruction = ops.mean(ops.square(vae(x_train[:64]) - x_train[:64])).item()
    assert history.history["loss"][0] > reconstruction  # the loss holds the KL term too


def test_guide_training_with_built_in_methods(fashion):
    # guides/training_with_built_in_methods.py, its single-output parts.
    from fastdl.keras import ops
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = fashion
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    y_train, y_test = y_train.astype("float32"), y_test.astype("float32")
    x_val, y_val = x_train[-100:], y_train[-100:]
    x_train, y_train = x_train[:-100], y_train[:-100]

    def get_uncompiled_model():
        inputs = keras.Input(shape=(784,), name="digits")
        x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
        return keras.Model(inputs=inputs, outputs=outputs)

    def get_compiled_model():
        model = get_uncompiled_model()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        return model

    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    plain = model.fit(x_train, y_train, batch_size=64, epochs=1,
                      validation_data=(x_val, y_val), verbose=0)
    assert sorted(plain.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                                     "val_sparse_categorical_accuracy"]
    results = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    assert len(results) == 2  # test loss, test acc
    assert model.predict(x_test[:3]).shape == (3, 10)

    # Custom losses: a function, then a Loss subclass.
    def custom_mean_squared_error(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    y_train_one_hot = ops.one_hot(y_train, num_classes=10)
    for loss in (custom_mean_squared_error, CustomMSE()):
        model = get_uncompiled_model()
        model.compile(optimizer=keras.optimizers.Adam(), loss=loss)
        history = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    # A loss added by a layer joins the compiled loss.
    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs) * 0.1)
            return inputs

    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    regularized = model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)
    assert regularized.history["loss"][0] > 5 * plain.history["loss"][0]  # much higher

    model = get_compiled_model()
    model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1, verbose=0)
    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0
    model = get_compiled_model()
    model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1,
              verbose=0)
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2,
                                               verbose=0)]
    history = model.fit(x_train, y_train, epochs=2, batch_size=64, callbacks=callbacks,
                        validation_split=0.2, verbose=0)
    assert len(history.history["val_loss"]) <= 2
    lr_schedule = keras.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=100000, decay_rate=0.96, staircase=True)
    assert keras.optimizers.RMSprop(learning_rate=lr_schedule).learning_rate == \
        pytest.approx(0.1)


def test_guide_training_endpoint_layer_without_a_compiled_loss():
    # guides/training_with_built_in_methods.py: targets as an input, compile without a loss.
    from fastdl.keras import ops

    class LogisticEndpoint(keras.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            loss = self.loss_fn(targets, logits, sample_weights)
            self.add_loss(loss)
            return ops.softmax(logits)

    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(logits=logits, targets=targets)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")  # no loss argument
    rng = np.random.default_rng(0)
    data = {"inputs": rng.random((3, 3)), "targets": rng.random((3, 10))}
    history = model.fit(data, verbose=0)
    assert list(history.history) == ["loss"] and np.isfinite(history.history["loss"][0])


def test_guide_functional_api_mix_and_match():
    # guides/functional_api.py: a functional model inside a layer written from scratch, and
    # that layer inside a functional model.
    from fastdl.keras import ops
    units, timesteps, input_dim, batch_size = 32, 10, 5, 16
    inputs = keras.Input((None, units))
    x = layers.GlobalAveragePooling1D()(inputs)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)

    class CustomRNN(layers.Layer):
        def __init__(self, classifier):
            super().__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = classifier

        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = ops.stack(outputs, axis=1)
            return self.classifier(features)

    rnn_model = CustomRNN(model)
    assert rnn_model(ops.zeros((1, timesteps, input_dim))).shape == (1, 1)
    assert len(rnn_model.weights) == 6  # its two projections and the functional model's

    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(inputs)
    outputs = CustomRNN(layers.Dense(1))(x)
    model = keras.Model(inputs, outputs)
    assert x.shape == (16, 8, 32)
    assert model(np.zeros((batch_size, timesteps, input_dim), np.float32)).shape == (16, 8, 1)
