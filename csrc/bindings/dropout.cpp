// _C.dropout_forward / _C.dropout_backward on NumPy arrays.
#include <vector>
#include <utility>

#include "common/checks.h"
#include "common/dropout_args.h"
#include "contiguous.h"
#include "fastdl/dropout.h"

namespace fastdl::bindings {
namespace {

template <class T>
std::pair<py::array, py::array> forward_typed(const py::array& x, double p, uint64_t seed) {
  const auto xc = contiguous<T>(x);
  auto y = empty_like<T>(x);
  auto keep = empty_like<uint8_t>(x);
  {
    py::gil_scoped_release release;
    dropout_forward<T>(xc.data(), y.mutable_data(), keep.mutable_data(),
                       static_cast<int64_t>(x.size()), p, seed);
  }
  return {y, keep};
}

std::pair<py::array, py::array> forward_entry(const py::array& x, double p, uint64_t seed) {
  const ArrayView xv(x);
  require_float("dropout_forward", "x", xv);
  require_rate("dropout_forward", p);
  return xv.dtype == DType::float32 ? forward_typed<float>(x, p, seed)
                                    : forward_typed<double>(x, p, seed);
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
  const ArrayView dyv(dy), kv(keep);
  require_float("dropout_backward", "dy", dyv);
  require_rate("dropout_backward", p);
  require_keep_mask("dropout_backward", kv);
  require_same_shape("dropout_backward", "dy", dyv, "keep", kv);
  return dyv.dtype == DType::float32 ? backward_typed<float>(dy, keep, p)
                                     : backward_typed<double>(dy, keep, p);
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
