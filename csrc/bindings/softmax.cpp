// _C.softmax / _C.softmax_backward / _C.softmax_cross_entropy: along the last axis of arrays of
// any rank >= 1.
#include <cstdint>
#include <string>

#include "common.h"
#include "fastdl/softmax.h"

namespace fastdl::bindings {
namespace {

// Rows and columns of `a` seen as a matrix [prod(shape[:-1]), shape[-1]].
struct RowsCols {
  int64_t rows = 1, cols = 0;
};

RowsCols rows_cols(const std::string& op, const char* name, const py::array& a) {
  if (a.ndim() < 1) {
    throw py::value_error(op + ": " + name + " must have at least 1 dimension (the axis "
                          "reduced over is the last one); got shape " + shape_str(a));
  }
  RowsCols rc;
  for (py::ssize_t i = 0; i + 1 < a.ndim(); ++i) rc.rows *= a.shape(i);
  rc.cols = a.shape(a.ndim() - 1);
  return rc;
}

template <class T>
py::array softmax_typed(const py::array& x, RowsCols rc, bool log) {
  const auto xc = contiguous<T>(x);
  auto y = empty_like<T>(x);
  T* out = y.mutable_data();
  {
    py::gil_scoped_release release;
    softmax_forward<T>(xc.data(), out, rc.rows, rc.cols, log);
  }
  return std::move(y);
}

template <class T>
py::array softmax_backward_typed(const py::array& grad, const py::array& y, RowsCols rc,
                                 bool log) {
  const auto gc = contiguous<T>(grad);
  const auto yc = contiguous<T>(y);
  auto dx = empty_like<T>(grad);
  T* out = dx.mutable_data();
  {
    py::gil_scoped_release release;
    softmax_backward<T>(gc.data(), yc.data(), out, rc.rows, rc.cols, log);
  }
  return std::move(dx);
}

template <class T>
py::tuple cross_entropy_typed(const py::array& logits, const py::array_t<int64_t>& labels,
                              RowsCols rc, bool with_grad) {
  const auto lc = contiguous<T>(logits);
  py::object grad = py::none();
  T* dlogits = nullptr;
  if (with_grad) {
    auto g = empty_like<T>(logits);
    dlogits = g.mutable_data();
    grad = std::move(g);
  }
  double loss;
  {
    py::gil_scoped_release release;
    loss = softmax_cross_entropy<T>(lc.data(), labels.data(), dlogits, rc.rows, rc.cols);
  }
  return py::make_tuple(loss, grad);
}

py::array softmax_entry(const py::array& x, bool log) {
  const std::string op = log ? "log_softmax" : "softmax";
  require_float(op.c_str(), "x", x);
  const RowsCols rc = rows_cols(op, "x", x);
  if (is_float32(x)) return softmax_typed<float>(x, rc, log);
  return softmax_typed<double>(x, rc, log);
}

py::array softmax_backward_entry(const py::array& grad, const py::array& y, bool log) {
  const std::string op = log ? "log_softmax_backward" : "softmax_backward";
  require_float(op.c_str(), "grad", grad);
  require_float(op.c_str(), "y", y);
  require_same_dtype(op.c_str(), "grad", grad, "y", y);
  require_same_shape(op.c_str(), "grad", grad, "y", y);
  const RowsCols rc = rows_cols(op, "grad", grad);
  if (is_float32(grad)) return softmax_backward_typed<float>(grad, y, rc, log);
  return softmax_backward_typed<double>(grad, y, rc, log);
}

// Labels as a C-contiguous int64 array after checking dtype, shape and range against logits.
py::array_t<int64_t> checked_labels(const std::string& op, const py::array& logits,
                                    const py::array& labels, int64_t cols) {
  const char kind = labels.dtype().kind();
  if (kind != 'i' && kind != 'u') {
    throw py::type_error(op + ": labels has dtype " + py::str(labels.dtype()).cast<std::string>() +
                         " and shape " + shape_str(labels) + "; expected an integer array");
  }
  bool same = labels.ndim() + 1 == logits.ndim();
  for (py::ssize_t i = 0; same && i < labels.ndim(); ++i) same = labels.shape(i) == logits.shape(i);
  if (!same) {
    std::string expected = "(";
    for (py::ssize_t i = 0; i + 1 < logits.ndim(); ++i) {
      expected += (i ? ", " : "") + std::to_string(logits.shape(i));
    }
    expected += logits.ndim() == 2 ? ",)" : ")";
    throw py::value_error(op + ": logits has shape " + shape_str(logits) + " but labels has shape " +
                          shape_str(labels) + "; expected labels of shape " + expected +
                          " (logits.shape[:-1])");
  }
  // Values above INT64_MAX in a uint64 array wrap to negative here and fail the range check.
  auto out = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(labels);
  const int64_t* p = out.data();
  for (py::ssize_t i = 0; i < out.size(); ++i) {
    if (p[i] < 0 || p[i] >= cols) {
      throw py::value_error(op + ": label " + std::to_string(p[i]) + " at flat index " +
                            std::to_string(i) + " is out of range for logits of shape " +
                            shape_str(logits) + "; expected 0 <= label < " + std::to_string(cols));
    }
  }
  return out;
}

py::tuple cross_entropy_entry(const py::array& logits, const py::array& labels, bool with_grad) {
  const std::string op = "softmax_cross_entropy";
  require_float(op.c_str(), "logits", logits);
  const RowsCols rc = rows_cols(op, "logits", logits);
  const auto checked = checked_labels(op, logits, labels, rc.cols);
  if (is_float32(logits)) return cross_entropy_typed<float>(logits, checked, rc, with_grad);
  return cross_entropy_typed<double>(logits, checked, rc, with_grad);
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax", &softmax_entry, py::arg("x"), py::arg("log") = false,
        R"(softmax (or log_softmax when `log`) along the last axis of a float32/float64 array of
rank >= 1. Returns a new C-contiguous array of x's shape and dtype.)");
  m.def("softmax_backward", &softmax_backward_entry, py::arg("grad"), py::arg("y"),
        py::arg("log") = false,
        R"(Gradient of softmax (or log_softmax) along the last axis, given the upstream gradient
and the forward output y. Returns a new array.)");
  m.def("softmax_cross_entropy", &cross_entropy_entry, py::arg("logits"), py::arg("labels"),
        py::arg("with_grad") = false,
        R"((mean loss, dlogits or None): cross-entropy of softmax(logits) along the last axis with
integer labels of shape logits.shape[:-1], fused with its gradient (softmax - onehot) / rows.)");
}

}  // namespace fastdl::bindings
