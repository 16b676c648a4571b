// _C.linear_backward: a dense layer's gradients in one call; _C.column_sums, a bias's gradient.
#include <string>
#include <vector>

#include "common/activation_names.h"
#include "common/checks.h"
#include "contiguous.h"
#include "fastdl/dense.h"

namespace fastdl::bindings {
namespace {

constexpr const char* kOp = "linear_backward";

void require_matrix(const char* name, const ArrayView& a, int64_t rows, int64_t cols) {
  if (a.shape != std::vector<int64_t>{rows, cols}) {
    throw py::value_error(std::string(kOp) + ": " + name + " has shape " + a.shape_str() +
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
  OptionalArray<T> yc;
  std::optional<py::array_t<T>> dz;
  if (act != Activation::none) {
    yc = contiguous<T>(py::array::ensure(y));
    dz = new_array<T>({M, N});
  }
  py::object dx, dw, db;
  T* dx_p = new_array_if<T>(need_x, {M, K}, dx);
  T* dw_p = new_array_if<T>(need_w, {K, N}, dw);
  T* db_p = new_array_if<T>(need_b, {N}, db);
  {
    py::gil_scoped_release release;
    linear_backward<T>(M, K, N, dyc.data(), data_or_null(yc), act,
                       xc.data(), wc.data(), dz ? dz->mutable_data() : nullptr,
                       dx_p, dw_p, db_p);
  }
  return py::make_tuple(dx, dw, db);
}

py::tuple backward_entry(const py::array& dy, const py::array& x, const py::array& w,
                         const py::object& y, const std::string& activation, bool need_x,
                         bool need_w, bool need_b) {
  const ArrayView dyv(dy), xv(x), wv(w);
  require_float(kOp, "dy", dyv);
  require_same_dtype(kOp, "dy", dyv, "x", xv);
  require_same_dtype(kOp, "dy", dyv, "w", wv);
  if (xv.ndim() != 2 || wv.ndim() != 2 || xv.dim(1) != wv.dim(0)) {
    throw py::value_error(std::string(kOp) + ": x has shape " + xv.shape_str() +
                          " and w has shape " + wv.shape_str() + "; expected (M, K) and (K, N)");
  }
  require_matrix("dy", dyv, xv.dim(0), wv.dim(1));
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
    const ArrayView yv(ya);
    require_same_dtype(kOp, "dy", dyv, "y", yv);
    require_matrix("y", yv, xv.dim(0), wv.dim(1));
  }
  if (dyv.dtype == DType::float32) {
    return backward_typed<float>(dy, x, w, y, act, need_x, need_w, need_b);
  }
  return backward_typed<double>(dy, x, w, y, act, need_x, need_w, need_b);
}

template <class T>
py::array column_sums_typed(const py::array& a) {
  const auto ac = contiguous<T>(a);
  const int64_t rows = ac.shape(0), cols = ac.shape(1);
  auto out = new_array<T>({cols});
  T* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    column_sums<T>(rows, cols, ac.data(), o);
  }
  return std::move(out);
}

py::array column_sums_entry(const py::array& a) {
  const ArrayView av(a);
  require_float("column_sums", "a", av);
  if (av.ndim() != 2) {
    throw py::value_error("column_sums: a has shape " + av.shape_str() +
                          "; expected a 2-D (rows, cols) array");
  }
  return av.dtype == DType::float32 ? column_sums_typed<float>(a) : column_sums_typed<double>(a);
}

}  // namespace

void bind_dense(py::module_& m) {
  m.def("column_sums", &column_sums_entry, py::arg("a"),
        R"(The sums of the columns of a 2-D float32/float64 array, a.sum(axis=0), in an order
that does not depend on the thread count.)");
  m.def("linear_backward", &backward_entry, py::arg("dy"), py::arg("x"), py::arg("w"),
        py::arg("y"), py::arg("activation"), py::arg("need_x"), py::arg("need_w"),
        py::arg("need_b"),
        R"(Gradients (dx, dw, db) of y = act(x @ w + b) from dy: x (M, K), w (K, N), dy and y
(M, N); act in none/relu/sigmoid/tanh (differentiated from y). An unneeded gradient is None.)");
}

}  // namespace fastdl::bindings
