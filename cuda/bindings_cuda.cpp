// fastdl._cuda: the CUDA kernels. Built only when nvcc is available; importing it never needs a
// GPU, so fastdl.build_info() can report the build on any machine. Each family binds itself
// (cuda/bindings/<family>.cpp); every entry point takes its arrays through
// __cuda_array_interface__, outputs included, and the stream to launch on.
#include <pybind11/pybind11.h>

#include "common.h"
#include "device.h"

namespace py = pybind11;

namespace fastdl::cuda::bindings {
void bind_activation(py::module_& m);
void bind_gemm(py::module_& m);
void bind_softmax(py::module_& m);
void bind_dropout(py::module_& m);
void bind_optim(py::module_& m);
void bind_conv(py::module_& m);
void bind_pool(py::module_& m);
void bind_random(py::module_& m);
}  // namespace fastdl::cuda::bindings

PYBIND11_MODULE(_cuda, m) {
  using namespace fastdl::cuda;
  m.doc() = "fastdl CUDA kernels";
  py::register_exception<CudaError>(m, "CudaError", PyExc_RuntimeError);
  m.def("device_count", &device_count, "Visible CUDA devices (0 without a GPU or driver).");
  m.def("runtime_version", &runtime_version, "CUDA runtime version the extension was built with.");
  m.def("device_name", &device_name, py::arg("index") = 0);
  m.def("synchronize", [] {
    py::gil_scoped_release release;
    synchronize();
  }, "Wait for all work on the current device.");

  bindings::bind_activation(m);
  bindings::bind_gemm(m);
  bindings::bind_softmax(m);
  bindings::bind_dropout(m);
  bindings::bind_optim(m);
  bindings::bind_conv(m);
  bindings::bind_pool(m);
  bindings::bind_random(m);
}
