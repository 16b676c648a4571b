"""Whole models on the GPU: the same gradients as on the CPU from the same weights, and the
examples' MLP and CNN training to the CPU's accuracy."""
import numpy as np
import pytest

import fastdl
from cuda_support import requires_gpu, to_cpu
from fastdl import keras

pytestmark = requires_gpu


def _cnn():
    return keras.Sequential([
        keras.layers.Conv2D(8, (3, 3), activation="relu", input_shape=(12, 12, 1)),
        keras.layers.MaxPooling2D((2, 2)), keras.layers.Conv2D(6, (3, 3)),
        keras.layers.Flatten(), keras.layers.Dense(16, activation="tanh"),
        keras.layers.Dense(5, activation="softmax")])


def _mlp():
    return keras.Sequential([keras.layers.Dense(32, activation="relu", input_shape=(20,)),
                             keras.layers.Dense(16, activation="sigmoid"),
                             keras.layers.Dense(5, activation="softmax")])


@pytest.mark.parametrize("make, shape", [(_mlp, (33, 20)), (_cnn, (9, 12, 12, 1))])
def test_gradients_on_the_gpu_equal_those_on_the_cpu(make, shape):
    fastdl.manual_seed(3)
    cpu_model = make()
    gpu_model = make()
    cpu_model.build((None,) + shape[1:])
    gpu_model.build((None,) + shape[1:])
    gpu_model.set_weights(cpu_model.get_weights())
    gpu_model.to("cuda")
    assert gpu_model.device == "cuda"
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 5, shape[0])
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    losses = []
    for model, device in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        loss = loss_fn(fastdl.tensor(y, device=device), model(fastdl.tensor(x, device=device)))
        loss.backward()
        losses.append(float(loss.item()))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
    for v_cpu, v_gpu in zip(cpu_model.trainable_weights, gpu_model.trainable_weights):
        assert v_gpu.grad.device == "cuda"
        np.testing.assert_allclose(to_cpu(v_gpu.grad.data), v_cpu.grad.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=v_cpu.name)


def test_tensor_round_trip_and_gradient_across_devices():
    x = fastdl.randn(4, 3, requires_grad=True)
    y = (x.cuda() * 2).relu().sum()
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), 2.0 * (x.numpy() > 0))
    back = x.cuda().cpu()
    np.testing.assert_array_equal(back.numpy(), x.numpy())


def test_cupy_and_torch_read_gpu_tensors_without_copies():
    import cupy
    t = fastdl.ones(5, device="cuda")
    view = cupy.asarray(t)
    assert view.data.ptr == t.data.data.ptr
    torch = pytest.importorskip("torch")
    shared = torch.from_dlpack(t.data)
    shared += 1
    assert float(t.sum().item()) == 10.0
    back = fastdl.from_dlpack(shared)
    assert back.device == "cuda"


def test_mixing_devices_in_a_model_is_an_error():
    model = _mlp()
    model.build((None, 20))
    model.to("cuda")
    with pytest.raises(RuntimeError, match="one device"):
        model(fastdl.ones(2, 20))


def _fashion_or_skip(samples):
    name, ((x, y), (xt, yt)) = fastdl.datasets.load_first_available()
    if name == "sample":
        pytest.skip("needs MNIST or Fashion-MNIST for the accuracy target")
    return x[:samples], y[:samples], xt, yt


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_examples_train_on_the_gpu_to_the_cpus_accuracy(kind):
    x, y, xt, yt = _fashion_or_skip(60000)
    shape = (-1, 784) if kind == "mlp" else (-1, 28, 28, 1)
    x = (x.reshape(shape) / np.float32(255)).astype(np.float32)
    xt = (xt.reshape(shape) / np.float32(255)).astype(np.float32)
    accuracies = {}
    for device in ("cpu", "cuda"):
        fastdl.utils.set_random_seed(0)
        if kind == "mlp":
            layers = [keras.layers.Dense(128, activation="relu", input_shape=(784,)),
                      keras.layers.Dropout(0.5), keras.layers.Dense(10, activation="softmax")]
        else:
            layers = [keras.layers.Conv2D(32, (3, 3), activation="relu",
                                          input_shape=(28, 28, 1)),
                      keras.layers.MaxPooling2D((2, 2)), keras.layers.Conv2D(64, (3, 3)),
                      keras.layers.Flatten(), keras.layers.Dense(64),
                      keras.layers.Dense(10, activation="softmax")]
        model = keras.Sequential(layers).to(device)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x, y, epochs=2 if kind == "mlp" else 1, batch_size=64, verbose=0)
        accuracies[device] = model.evaluate(xt, yt, verbose=0, return_dict=True)["accuracy"]
    assert accuracies["cuda"] >= accuracies["cpu"] - 0.01, accuracies
