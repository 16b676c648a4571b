// _cuda.dropout_forward / _cuda.dropout_backward on float32 GPU arrays, outputs passed in.
#include "dropout.h"

#include <cstdint>
#include <string>

#include "common.h"
#include "common/checks.h"
#include "common/dropout_args.h"

namespace fastdl::cuda::bindings {

using namespace fastdl::bindings;  // the checks both extensions share (csrc/common/)

namespace {

ArrayView mask_array(const std::string& op, const py::handle& keep) {
  const ArrayView k = device_array(op, "keep", keep);
  require_keep_mask(op, k);
  return k;
}

void forward_entry(const py::handle& x, const py::handle& out, const py::handle& keep, double p,
                   uint64_t seed, std::uintptr_t stream) {
  const std::string op = "dropout_forward";
  require_rate(op, p);
  const ArrayView xa = device_array(op, "x", x), ya = device_array(op, "out", out);
  require_dtype(op, "x", xa, DType::float32);
  require_dtype(op, "out", ya, DType::float32);
  require_same_shape(op, "x", xa, "out", ya);
  const ArrayView k = mask_array(op, keep);
  require_same_shape(op, "x", xa, "keep", k);
  py::gil_scoped_release release;
  dropout_forward(xa.data<float>(), ya.data<float>(), k.data<uint8_t>(), xa.size(), p, seed,
                  as_stream(stream));
}

void backward_entry(const py::handle& grad, const py::handle& keep, const py::handle& out,
                    double p, std::uintptr_t stream) {
  const std::string op = "dropout_backward";
  require_rate(op, p);
  const ArrayView g = device_array(op, "grad", grad), dx = device_array(op, "out", out);
  require_dtype(op, "grad", g, DType::float32);
  require_dtype(op, "out", dx, DType::float32);
  require_same_shape(op, "grad", g, "out", dx);
  const ArrayView k = mask_array(op, keep);
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
