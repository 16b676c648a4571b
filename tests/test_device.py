"""Devices without a GPU: the one-device rule, device names, CPU moves, and the CUDA entry
points' argument checks (which run before any kernel, so they need no GPU). The GPU itself is
exercised by tests/test_cuda_*.py."""
import numpy as np
import pytest

import fastdl
from fastdl.backend import device_of, kernels_for, parse_device


class FakeGpuArray:
    """Something that says it lives in GPU memory: enough for device checks, never read."""

    def __init__(self, shape, typestr="<f4", strides=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(typestr)
        self.ndim = len(self.shape)
        self.__cuda_array_interface__ = {
            "shape": self.shape, "typestr": typestr, "data": (0, False), "version": 3,
            "strides": strides}


def test_tensor_of_a_gpu_array_is_on_cuda_and_numpy_refuses_it():
    t = fastdl.Tensor(FakeGpuArray((2, 3)))
    assert t.device == "cuda" and t.is_cuda
    assert t.__cuda_array_interface__["shape"] == (2, 3)
    with pytest.raises(TypeError, match="numpy: the tensor is on cuda"):
        t.numpy()
    with pytest.raises(TypeError, match="on cuda"):
        np.asarray(t)


def test_cpu_tensor_has_no_cuda_interface():
    t = fastdl.ones(2)
    assert t.device == "cpu" and not t.is_cuda
    assert not hasattr(t, "__cuda_array_interface__")


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a @ b])
def test_mixing_devices_raises_naming_the_operation_and_both_devices(op):
    cpu = fastdl.ones(3, 3)
    gpu = fastdl.Tensor(FakeGpuArray((3, 3)))
    with pytest.raises(RuntimeError, match=r"expected all operands on one device, but argument "
                                           r"0 is on cpu and argument 1 on cuda"):
        op(cpu, gpu)


def test_a_numpy_operand_with_a_gpu_tensor_is_refused():
    gpu = fastdl.Tensor(FakeGpuArray((3,)))
    with pytest.raises(RuntimeError, match="Add: expected all operands on one device"):
        gpu + np.ones(3, np.float32)


def test_add_in_place_refuses_another_device():
    t = fastdl.ones(3)
    with pytest.raises(RuntimeError, match="add_: the tensor is on cpu but other is on cuda"):
        t.add_(FakeGpuArray((3,)))


def test_backward_grad_on_another_device_is_refused():
    x = fastdl.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="backward: grad is on cuda but the tensor is on cpu"):
        y.backward(FakeGpuArray((3,)))


@pytest.mark.parametrize("name, parsed", [("cpu", "cpu"), ("CUDA", "cuda"), ("cuda:0", "cuda")])
def test_device_names(name, parsed):
    assert parse_device("to", name) == parsed


def test_unknown_device_is_a_value_error():
    with pytest.raises(ValueError, match="to: unknown device 'tpu'; expected 'cpu' or 'cuda'"):
        fastdl.ones(2).to("tpu")
    with pytest.raises(ValueError, match="zeros: unknown device 'gpu:3'"):
        fastdl.zeros(2, device="gpu:3")


def test_to_the_same_device_is_the_same_tensor():
    t = fastdl.ones(2, requires_grad=True)
    assert t.to("cpu") is t and t.cpu() is t


def test_factories_on_the_cpu():
    for t in (fastdl.zeros(2, device="cpu"), fastdl.randn(2, device="cpu"),
              fastdl.arange(3, device="cpu"), fastdl.tensor([1.0], device="cpu")):
        assert t.device == "cpu"


def test_backend_of_an_array():
    from fastdl.backend import cpu
    assert kernels_for(np.zeros(2)) is cpu
    assert device_of(np.zeros(2)) == "cpu" and device_of(FakeGpuArray((1,))) == "cuda"
    assert kernels_for(FakeGpuArray((1,))).__name__ == "fastdl.backend.cuda"


def test_layers_and_models_report_and_keep_their_device():
    model = fastdl.models.Sequential([fastdl.layers.Dense(4, activation="relu"),
                                      fastdl.layers.Dense(2)])
    assert model.to("cpu") is model
    model.build((None, 3))
    assert model.device == "cpu"
    assert all(v.device == "cpu" for v in model.weights)
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,), (4, 2), (2,)]


def _cupy_missing() -> bool:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return True
    return False


@pytest.mark.skipif(not _cupy_missing(), reason="CuPy is installed here")
def test_moving_to_cuda_without_cupy_says_how_to_install_it():
    with pytest.raises(RuntimeError, match=r"pip install 'fastdl\[cuda\]'"):
        fastdl.ones(2).to("cuda")


def test_cuda_module_reports_availability():
    assert isinstance(fastdl.cuda.is_available(), bool)
    assert fastdl.cuda.device_count() >= 0
    assert fastdl.cuda.allow_tf32 is False


# --------------------------------------------------------------------------- _cuda entry points

cuda_kernels = pytest.mark.skipif(not fastdl.build_info()["cuda"],
                                  reason="fastdl was built without its CUDA kernels")


@cuda_kernels
def test_cuda_entry_points_refuse_host_arrays():
    from fastdl import _cuda
    with pytest.raises(TypeError, match="relu: x must be an array on the GPU .* got "
                                        "<class 'numpy.ndarray'>"):
        _cuda.activation_forward("relu", np.zeros(3, np.float32), FakeGpuArray((3,)), 0.0, 0)


@cuda_kernels
def test_cuda_entry_points_check_dtype_shape_and_layout():
    from fastdl import _cuda
    x, out = FakeGpuArray((4, 3)), FakeGpuArray((4, 3))
    with pytest.raises(TypeError, match=r"relu: x has dtype float64 \(shape \(4, 3\)\); the CUDA "
                                        r"kernel takes float32"):
        _cuda.activation_forward("relu", FakeGpuArray((4, 3), "<f8"), out, 0.0, 0)
    with pytest.raises(ValueError, match=r"tanh: x has shape \(4, 3\) but out has shape \(3, 4\)"):
        _cuda.activation_forward("tanh", x, FakeGpuArray((3, 4)), 0.0, 0)
    with pytest.raises(ValueError, match="must be C-contiguous"):
        _cuda.activation_forward("relu", FakeGpuArray((4, 3), strides=(4, 16)), out, 0.0, 0)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        _cuda.activation_forward("swish", x, out, 0.0, 0)


@cuda_kernels
def test_cuda_convolution_geometry_errors_are_the_cpus():
    from fastdl import _C, _cuda
    x, w = np.zeros((1, 5, 5, 3), np.float32), np.zeros((3, 3, 2, 4), np.float32)
    with pytest.raises(ValueError) as on_cpu:
        _C.conv2d_forward(x, w, None, (1, 1), (0, 0, 0, 0), (1, 1), "none")
    with pytest.raises(ValueError) as on_gpu:
        _cuda.conv2d_forward(FakeGpuArray(x.shape), FakeGpuArray(w.shape), None,
                             FakeGpuArray((1, 3, 3, 4)), (1, 1), (0, 0, 0, 0), (1, 1), "none", 0)
    assert str(on_gpu.value) == str(on_cpu.value)
    assert "x has 3 channels but w expects 2" in str(on_gpu.value)


@pytest.mark.skipif(not fastdl.build_info()["cuda"], reason="fastdl was built without CUDA")
def test_a_gpu_array_of_more_dimensions_than_numpy_allows_is_refused_by_name():
    # The entry points' view of an array holds its shape in place, for NumPy's 64 dimensions at
    # most; a GPU array claiming more is refused before any kernel runs (no GPU is needed).
    from fastdl import _cuda
    with pytest.raises(ValueError, match="softmax: x has 65 dimensions; at most 64 are "
                                         "supported"):
        _cuda.softmax(FakeGpuArray((1,) * 65), FakeGpuArray((3,)), False, 0)
