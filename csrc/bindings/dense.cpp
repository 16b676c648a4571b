// _C.linear_backward: a dense layer's gradients in one call.
#include <string>

#include "activation_names.h"
#include "common.h"
#include "fastdl/dense.h"

namespace fastdl::bindings {
namespace {

constexpr const char* kOp = "linear_backward";

void require_shape(const char* name, const py::array& a, py::ssize_t rows, py::ssize_t cols) {
  if (a.ndim() != 2 || a.shape(0) != rows || a.shape(1) != cols) {
    throw py::value_error(std::string(kOp) + ": " + name + " has shape " + shape_str(a) +
                          "; expected (" + std::to_string(rows) + ", " + std::to_string(cols) +
                          ")");
  }
}

template <class T>
py::tuple backward_typed(const py::array& dy, const py::array& x, const py::array& w,
                         const py::object& y, Activation act, bool need_x, bool need_w,
                         bool need_b) {
  const py::ssize_t M = x.shape(0), K = x.shape(1), N = w.shape(1);
  const auto dyc = contiguous<T>(dy), xc = contiguous<T>(x), wc = contiguous<T>(w);
  py::array_t<T, py::array::c_style> yc;
  py::array_t<T> dz;
  if (act != Activation::none) {
    yc = contiguous<T>(py::array::ensure(y));
    dz = py::array_t<T>({M, N});
  }
  py::object dx = py::none(), dw = py::none(), db = py::none();
  T *dx_p = nullptr, *dw_p = nullptr, *db_p = nullptr;
  if (need_x) {
    auto a = py::array_t<T>({M, K});
    dx_p = a.mutable_data();
    dx = a;
  }
  if (need_w) {
    auto a = py::array_t<T>({K, N});
    dw_p = a.mutable_data();
    dw = a;
  }
  if (need_b) {
    auto a = py::array_t<T>(N);
    db_p = a.mutable_data();
    db = a;
  }
  {
    py::gil_scoped_release release;
    linear_backward<T>(M, K, N, dyc.data(), act != Activation::none ? yc.data() : nullptr, act,
                       xc.data(), wc.data(), act != Activation::none ? dz.mutable_data() : nullptr,
                       dx_p, dw_p, db_p);
  }
  return py::make_tuple(dx, dw, db);
}

py::tuple backward_entry(const py::array& dy, const py::array& x, const py::array& w,
                         const py::object& y, const std::string& activation, bool need_x,
                         bool need_w, bool need_b) {
  require_float(kOp, "dy", dy);
  require_same_dtype(kOp, "dy", dy, "x", x);
  require_same_dtype(kOp, "dy", dy, "w", w);
  if (x.ndim() != 2 || w.ndim() != 2 || x.shape(1) != w.shape(0)) {
    throw py::value_error(std::string(kOp) + ": x has shape " + shape_str(x) +
                          " and w has shape " + shape_str(w) + "; expected (M, K) and (K, N)");
  }
  require_shape("dy", dy, x.shape(0), w.shape(1));
  const Activation act = parse_activation(kOp, activation);
  if (act != Activation::none && act != Activation::relu && act != Activation::sigmoid &&
      act != Activation::tanh) {
    throw py::value_error(std::string(kOp) + ": activation '" + activation +
                          "' does not differentiate from its output; expected none, relu, "
                          "sigmoid or tanh");
  }
  if (act != Activation::none) {
    py::array ya = py::array::ensure(y);
    if (!ya) throw py::type_error(std::string(kOp) + ": y (the forward output) is required");
    require_same_dtype(kOp, "dy", dy, "y", ya);
    require_shape("y", ya, x.shape(0), w.shape(1));
  }
  if (is_float32(dy)) return backward_typed<float>(dy, x, w, y, act, need_x, need_w, need_b);
  return backward_typed<double>(dy, x, w, y, act, need_x, need_w, need_b);
}

}  // namespace

void bind_dense(py::module_& m) {
  m.def("linear_backward", &backward_entry, py::arg("dy"), py::arg("x"), py::arg("w"),
        py::arg("y"), py::arg("activation"), py::arg("need_x"), py::arg("need_w"),
        py::arg("need_b"),
        R"(Gradients (dx, dw, db) of y = act(x @ w + b) from dy: x (M, K), w (K, N), dy and y
(M, N); act in none/relu/sigmoid/tanh (differentiated from y). An unneeded gradient is None.)");
}

}  // namespace fastdl::bindings
