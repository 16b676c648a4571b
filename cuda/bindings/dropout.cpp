// _cuda.dropout_forward / _cuda.dropout_backward on float32 GPU arrays, outputs passed in.
#include "dropout.h"

#include <cstdint>
#include <string>

#include "common.h"
#include "device_array.h"

namespace fastdl::cuda::bindings {
namespace {

void require_rate(const std::string& op, double p) {
  if (!(p >= 0.0 && p < 1.0)) {
    throw py::value_error(op + ": p must be in [0, 1), got " + std::to_string(p));
  }
}

DeviceArray mask_array(const std::string& op, const py::handle& keep) {
  const DeviceArray k = device_array(op, "keep", keep);
  if (k.dtype != DType::uint8) {
    throw py::type_error(op + ": keep must be the uint8 mask dropout_forward returned, got " +
                         "dtype " + (k.dtype == DType::other ? k.typestr : dtype_name(k.dtype)));
  }
  return k;
}

void forward_entry(const py::handle& x, const py::handle& out, const py::handle& keep, double p,
                   uint64_t seed, std::uintptr_t stream) {
  const std::string op = "dropout_forward";
  require_rate(op, p);
  const DeviceArray xa = device_array(op, "x", x), ya = device_array(op, "out", out);
  require_dtype(op, "x", xa, DType::float32);
  require_dtype(op, "out", ya, DType::float32);
  require_same_shape(op, "x", xa, "out", ya);
  const DeviceArray k = mask_array(op, keep);
  require_same_shape(op, "x", xa, "keep", k);
  py::gil_scoped_release release;
  dropout_forward(xa.data<float>(), ya.data<float>(), k.data<uint8_t>(), xa.size(), p, seed,
                  as_stream(stream));
}

void backward_entry(const py::handle& grad, const py::handle& keep, const py::handle& out,
                    double p, std::uintptr_t stream) {
  const std::string op = "dropout_backward";
  require_rate(op, p);
  const DeviceArray g = device_array(op, "grad", grad), dx = device_array(op, "out", out);
  require_dtype(op, "grad", g, DType::float32);
  require_dtype(op, "out", dx, DType::float32);
  require_same_shape(op, "grad", g, "out", dx);
  const DeviceArray k = mask_array(op, keep);
  require_same_shape(op, "grad", g, "keep", k);
  py::gil_scoped_release release;
  dropout_backward(g.data<float>(), k.data<uint8_t>(), dx.data<float>(), g.size(), p,
                   as_stream(stream));
}

}  // namespace

void bind_dropout(py::module_& m) {
  m.def("dropout_forward", &forward_entry, py::arg("x"), py::arg("out"), py::arg("keep"),
        py::arg("p"), py::arg("seed"), py::arg("stream"),
        "out = x / (1 - p) where keep, else 0; keep (uint8, x's shape) holds each element with "
        "probability 1 - p, a function of (seed, index) only (Philox4x32-10; not the CPU's "
        "stream). out may be x.");
  m.def("dropout_backward", &backward_entry, py::arg("grad"), py::arg("keep"), py::arg("out"),
        py::arg("p"), py::arg("stream"), "out = grad / (1 - p) where keep, else 0.");
}

}  // namespace fastdl::cuda::bindings
