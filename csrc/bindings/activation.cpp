// _C.activation_forward / _C.activation_backward: elementwise activations on arrays of any shape.
#include <string>

#include "common/activation_names.h"
#include "common/checks.h"
#include "contiguous.h"
#include "fastdl/activation.h"

namespace fastdl::bindings {
namespace {

template <class T>
py::array forward_typed(Activation act, const py::array& x, double alpha) {
  const auto xc = contiguous<T>(x);
  auto y = empty_like<T>(x);
  T* out = y.mutable_data();
  {
    py::gil_scoped_release release;
    activation_forward<T>(act, xc.data(), out, static_cast<int64_t>(xc.size()),
                          static_cast<T>(alpha));
  }
  return std::move(y);
}

template <class T>
py::array backward_typed(Activation act, const py::array& grad, const py::array& saved,
                         double alpha) {
  const auto gc = contiguous<T>(grad);
  const auto sc = contiguous<T>(saved);
  auto dx = empty_like<T>(grad);
  T* out = dx.mutable_data();
  {
    py::gil_scoped_release release;
    activation_backward<T>(act, gc.data(), sc.data(), out, static_cast<int64_t>(gc.size()),
                           static_cast<T>(alpha));
  }
  return std::move(dx);
}

py::array forward_entry(const std::string& name, const py::array& x, double alpha) {
  const Activation act = parse_activation("activation_forward", name);
  const ArrayView xv(x);
  require_float(name, "x", xv);
  if (xv.dtype == DType::float32) return forward_typed<float>(act, x, alpha);
  return forward_typed<double>(act, x, alpha);
}

py::array backward_entry(const std::string& name, const py::array& grad, const py::array& saved,
                         double alpha) {
  const Activation act = parse_activation("activation_backward", name);
  const std::string op = name + "_backward";
  const ArrayView gv(grad), sv(saved);
  require_float(op, "grad", gv);
  require_float(op, "saved", sv);
  require_same_dtype(op, "grad", gv, "saved", sv);
  require_same_shape(op, "grad", gv, "saved", sv);
  if (gv.dtype == DType::float32) return backward_typed<float>(act, grad, saved, alpha);
  return backward_typed<double>(act, grad, saved, alpha);
}

}  // namespace

void bind_activation(py::module_& m) {
  m.def("activation_forward", &forward_entry, py::arg("name"), py::arg("x"),
        py::arg("alpha") = 0.0,
        R"(act(x) elementwise for a float32/float64 array of any shape.

`name` is one of none, linear, relu, leaky_relu, sigmoid, tanh, step, gelu, gelu_tanh; `alpha`
is leaky_relu's slope. Returns a new C-contiguous array of x's shape and dtype.)");
  m.def("activation_backward", &backward_entry, py::arg("name"), py::arg("grad"),
        py::arg("saved"), py::arg("alpha") = 0.0,
        R"(grad * act'(.) elementwise; `saved` is the forward output for sigmoid and tanh and the
forward input otherwise. grad and saved must have the same shape and dtype. Returns a new array.)");
}

}  // namespace fastdl::bindings
