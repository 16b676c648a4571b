// _cuda.softmax / _cuda.softmax_backward / _cuda.softmax_cross_entropy: along the last axis of
// float32 GPU arrays of any rank >= 1, outputs passed in.
#include "softmax.h"

#include <cstdint>
#include <string>

#include "common.h"
#include "common/checks.h"

namespace fastdl::cuda::bindings {

using namespace fastdl::bindings;  // the checks both extensions share (csrc/common/)

namespace {

ArrayView float32_array(const std::string& op, const char* name, const py::handle& obj) {
  ArrayView a = device_array(op, name, obj);
  require_dtype(op, name, a, DType::float32);
  return a;
}

void softmax_entry(const py::handle& x, const py::handle& out, bool log, std::uintptr_t stream) {
  const std::string op = log ? "log_softmax" : "softmax";
  const ArrayView xa = float32_array(op, "x", x), ya = float32_array(op, "out", out);
  require_same_shape(op, "x", xa, "out", ya);
  const RowsCols rc = rows_cols(op, "x", xa);
  py::gil_scoped_release release;
  softmax_forward(xa.data<float>(), ya.data<float>(), rc.rows, rc.cols, log, as_stream(stream));
}

void softmax_backward_entry(const py::handle& grad, const py::handle& y, const py::handle& out,
                            bool log, std::uintptr_t stream) {
  const std::string op = log ? "log_softmax_backward" : "softmax_backward";
  const ArrayView g = float32_array(op, "grad", grad), ya = float32_array(op, "y", y),
                  dx = float32_array(op, "out", out);
  require_same_shape(op, "grad", g, "y", ya);
  require_same_shape(op, "grad", g, "out", dx);
  const RowsCols rc = rows_cols(op, "grad", g);
  py::gil_scoped_release release;
  softmax_backward(g.data<float>(), ya.data<float>(), dx.data<float>(), rc.rows, rc.cols, log,
                   as_stream(stream));
}

void cross_entropy_entry(const py::handle& logits, const py::handle& labels,
                         const py::handle& loss, const py::handle& dlogits,
                         const py::handle& workspace, std::uintptr_t stream) {
  const std::string op = "softmax_cross_entropy";
  const ArrayView x = float32_array(op, "logits", logits);
  const RowsCols rc = rows_cols(op, "logits", x);
  const ArrayView lab = device_array(op, "labels", labels);
  if (lab.dtype != DType::int64 && lab.dtype != DType::int32) {
    throw py::type_error(op + ": labels has dtype " + lab.dtype_name() + " and shape " +
                         lab.shape_str() + "; the CUDA kernel takes int64 or int32 labels");
  }
  const std::vector<int64_t> label_shape(x.shape.begin(), x.shape.end() - 1);
  require_shape(op, "labels", lab, label_shape, "logits of shape " + x.shape_str());
  const ArrayView l = float32_array(op, "loss", loss);
  require_shape(op, "loss", l, {}, "the mean loss (a 0-d array)");
  const ArrayView d = optional_device_array(op, "dlogits", dlogits);
  if (d.ptr) {
    require_dtype(op, "dlogits", d, DType::float32);
    require_same_shape(op, "logits", x, "dlogits", d);
  }
  const ArrayView w = float32_array(op, "workspace", workspace);
  require_shape(op, "workspace", w, {rc.rows}, "one float per row of logits");

  py::gil_scoped_release release;
  float* grad = d.ptr ? d.data<float>() : nullptr;
  if (lab.dtype == DType::int64) {
    softmax_cross_entropy(x.data<float>(), lab.data<int64_t>(), grad, rc.rows, rc.cols,
                          l.data<float>(), w.data<float>(), as_stream(stream));
  } else {
    softmax_cross_entropy(x.data<float>(), lab.data<int32_t>(), grad, rc.rows, rc.cols,
                          l.data<float>(), w.data<float>(), as_stream(stream));
  }
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax", &softmax_entry, py::arg("x"), py::arg("out"), py::arg("log"),
        py::arg("stream"),
        "out = softmax(x), or log_softmax(x) when `log`, along the last axis of a float32 array "
        "of rank >= 1 (out may be x).");
  m.def("softmax_backward", &softmax_backward_entry, py::arg("grad"), py::arg("y"),
        py::arg("out"), py::arg("log"), py::arg("stream"),
        "out = the gradient of softmax (or log_softmax) along the last axis from the upstream "
        "gradient and the forward output y (out may be grad).");
  m.def("softmax_cross_entropy", &cross_entropy_entry, py::arg("logits"), py::arg("labels"),
        py::arg("loss"), py::arg("dlogits"), py::arg("workspace"), py::arg("stream"),
        "loss (a 0-d float32 array) = the mean cross-entropy of softmax(logits) along the last "
        "axis against int64/int32 labels of shape logits.shape[:-1]; dlogits (None, or logits' "
        "shape) = (softmax - onehot) / rows from the same pass. workspace: float32, one element "
        "per row, scratch. Labels are not checked on the host: a label outside [0, classes) "
        "makes its row's loss, and so the mean, NaN, and its gradient row NaN.");
}

}  // namespace fastdl::cuda::bindings
