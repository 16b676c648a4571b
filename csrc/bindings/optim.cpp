// _C.axpy: the in-place parameter update on NumPy arrays.
#include <string>

#include "common.h"
#include "fastdl/optim.h"

namespace fastdl::bindings {
namespace {

template <class T>
void axpy_typed(double alpha, const py::array& x, py::array& y) {
  const auto xc = contiguous<T>(x);
  T* out = static_cast<T*>(y.mutable_data());
  py::gil_scoped_release release;
  axpy<T>(static_cast<int64_t>(y.size()), static_cast<T>(alpha), xc.data(), out);
}

void axpy_entry(double alpha, const py::array& x, py::array y) {
  require_float("axpy", "x", x);
  require_same_dtype("axpy", "x", x, "y", y);
  require_same_shape("axpy", "x", x, "y", y);
  if (!y.writeable() || !(y.flags() & py::array::c_style)) {
    throw py::value_error("axpy: y (shape " + shape_str(y) +
                          ") must be a writeable C-contiguous array: it is updated in place");
  }
  if (is_float32(y)) {
    axpy_typed<float>(alpha, x, y);
  } else {
    axpy_typed<double>(alpha, x, y);
  }
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("axpy", &axpy_entry, py::arg("alpha"), py::arg("x"), py::arg("y"),
        "y += alpha * x in place (same shape and dtype; y C-contiguous and writeable).");
}

}  // namespace fastdl::bindings
