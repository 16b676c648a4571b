// _C.softmax / _C.softmax_backward / _C.softmax_cross_entropy: along the last axis of arrays of
// any rank >= 1.
#include <cstdint>
#include <string>
#include <vector>

#include "common/checks.h"
#include "contiguous.h"
#include "fastdl/softmax.h"

namespace fastdl::bindings {
namespace {

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
  const ArrayView xv(x);
  require_float(op, "x", xv);
  const RowsCols rc = rows_cols(op, "x", xv);
  if (xv.dtype == DType::float32) return softmax_typed<float>(x, rc, log);
  return softmax_typed<double>(x, rc, log);
}

py::array softmax_backward_entry(const py::array& grad, const py::array& y, bool log) {
  const std::string op = log ? "log_softmax_backward" : "softmax_backward";
  const ArrayView gv(grad), yv(y);
  require_float(op, "grad", gv);
  require_float(op, "y", yv);
  require_same_dtype(op, "grad", gv, "y", yv);
  require_same_shape(op, "grad", gv, "y", yv);
  const RowsCols rc = rows_cols(op, "grad", gv);
  if (gv.dtype == DType::float32) return softmax_backward_typed<float>(grad, y, rc, log);
  return softmax_backward_typed<double>(grad, y, rc, log);
}

// Labels as a C-contiguous int64 array after checking their dtype and shape against logits
// (scores): one per row.
py::array_t<int64_t> labels_of_rows(const std::string& op, const ArrayView& logits,
                                    const py::array& labels) {
  const ArrayView lv(labels);
  const char kind = labels.dtype().kind();
  if (kind != 'i' && kind != 'u') {
    throw py::type_error(op + ": labels has dtype " + lv.dtype_name() + " and shape " +
                         lv.shape_str() + "; expected an integer array");
  }
  const std::vector<int64_t> expected(logits.shape.begin(), logits.shape.end() - 1);
  if (lv.shape != expected) {
    throw py::value_error(op + ": logits has shape " + logits.shape_str() +
                          " but labels has shape " + lv.shape_str() +
                          "; expected labels of shape " + dims_str(expected) +
                          " (logits.shape[:-1])");
  }
  return py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(labels);
}

// labels_of_rows, each label also checked to lie in [0, cols).
py::array_t<int64_t> checked_labels(const std::string& op, const ArrayView& logits,
                                    const py::array& labels, int64_t cols) {
  // Values above INT64_MAX in a uint64 array wrap to negative here and fail the range check.
  auto out = labels_of_rows(op, logits, labels);
  const int64_t* p = out.data();
  for (py::ssize_t i = 0; i < out.size(); ++i) {
    if (p[i] < 0 || p[i] >= cols) {
      throw py::value_error(op + ": label " + std::to_string(p[i]) + " at flat index " +
                            std::to_string(i) + " is out of range for logits of shape " +
                            logits.shape_str() + "; expected 0 <= label < " +
                            std::to_string(cols));
    }
  }
  return out;
}

py::tuple cross_entropy_entry(const py::array& logits, const py::array& labels, bool with_grad) {
  const std::string op = "softmax_cross_entropy";
  const ArrayView xv(logits);
  require_float(op, "logits", xv);
  const RowsCols rc = rows_cols(op, "logits", xv);
  const auto checked = checked_labels(op, xv, labels, rc.cols);
  if (xv.dtype == DType::float32) return cross_entropy_typed<float>(logits, checked, rc, with_grad);
  return cross_entropy_typed<double>(logits, checked, rc, with_grad);
}

template <class T>
int64_t argmax_matches_typed(const py::array& scores, const py::array_t<int64_t>& labels,
                             const RowsCols& rc) {
  const auto sc = contiguous<T>(scores);
  py::gil_scoped_release release;
  return argmax_matches<T>(sc.data(), labels.data(), rc.rows, rc.cols);
}

int64_t argmax_matches_entry(const py::array& scores, const py::array& labels) {
  const std::string op = "argmax_matches";
  const ArrayView sv(scores);
  require_float(op, "logits", sv);
  const RowsCols rc = rows_cols(op, "logits", sv);
  if (rc.cols == 0) {
    throw py::value_error(op + ": logits has shape " + sv.shape_str() +
                          "; an empty last axis has no largest score");
  }
  const auto checked = labels_of_rows(op, sv, labels);
  if (sv.dtype == DType::float32) return argmax_matches_typed<float>(scores, checked, rc);
  return argmax_matches_typed<double>(scores, checked, rc);
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
  m.def("argmax_matches", &argmax_matches_entry, py::arg("logits"), py::arg("labels"),
        R"(How many rows of logits (float32/float64, the scores of each class along the last axis)
have their largest score at their integer label: np.sum(logits.argmax(-1) == labels), the hits
of sparse categorical accuracy.)");
}

}  // namespace fastdl::bindings
