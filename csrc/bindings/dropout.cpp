// _C.dropout_forward / _C.dropout_backward on NumPy arrays.
#include <string>
#include <utility>

#include "common.h"
#include "fastdl/dropout.h"

namespace fastdl::bindings {
namespace {

void require_rate(const char* op, double p) {
  if (!(p >= 0.0 && p < 1.0)) {
    throw py::value_error(std::string(op) + ": p must be in [0, 1), got " + std::to_string(p));
  }
}

template <class T>
std::pair<py::array, py::array> forward_typed(const py::array& x, double p, uint64_t seed) {
  const auto xc = contiguous<T>(x);
  auto y = empty_like<T>(x);
  py::array_t<uint8_t> keep(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  {
    py::gil_scoped_release release;
    dropout_forward<T>(xc.data(), y.mutable_data(), keep.mutable_data(),
                       static_cast<int64_t>(x.size()), p, seed);
  }
  return {y, keep};
}

std::pair<py::array, py::array> forward_entry(const py::array& x, double p, uint64_t seed) {
  require_float("dropout_forward", "x", x);
  require_rate("dropout_forward", p);
  return is_float32(x) ? forward_typed<float>(x, p, seed) : forward_typed<double>(x, p, seed);
}

template <class T>
py::array backward_typed(const py::array& dy, const py::array& keep, double p) {
  const auto dyc = contiguous<T>(dy);
  const auto kc = contiguous<uint8_t>(keep);
  auto dx = empty_like<T>(dy);
  py::gil_scoped_release release;
  dropout_backward<T>(dyc.data(), kc.data(), dx.mutable_data(),
                      static_cast<int64_t>(dy.size()), p);
  return dx;
}

py::array backward_entry(const py::array& dy, const py::array& keep, double p) {
  require_float("dropout_backward", "dy", dy);
  require_rate("dropout_backward", p);
  if (!keep.dtype().is(py::dtype::of<uint8_t>())) {
    throw py::type_error("dropout_backward: keep must be the uint8 mask dropout_forward "
                         "returned, got dtype " + py::str(keep.dtype()).cast<std::string>());
  }
  require_same_shape("dropout_backward", "dy", dy, "keep", keep);
  return is_float32(dy) ? backward_typed<float>(dy, keep, p) : backward_typed<double>(dy, keep, p);
}

}  // namespace

void bind_dropout(py::module_& m) {
  m.def("dropout_forward", &forward_entry, py::arg("x"), py::arg("p"), py::arg("seed"),
        "(y, keep): y = x / (1 - p) where keep, else 0; keep (uint8) holds each element with "
        "probability 1 - p, a function of (seed, index) only.");
  m.def("dropout_backward", &backward_entry, py::arg("dy"), py::arg("keep"), py::arg("p"),
        "dx = dy / (1 - p) where keep, else 0.");
}

}  // namespace fastdl::bindings
