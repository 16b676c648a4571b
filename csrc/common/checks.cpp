#include "common/checks.h"

namespace fastdl::bindings {

void require_float(std::string_view op, const char* name, const ArrayView& a) {
  if (a.dtype == DType::float32 || a.dtype == DType::float64) return;
  throw py::type_error(std::string(op) + ": unsupported dtype " + a.dtype_name() + " for " + name +
                       " (shape " + a.shape_str() + "); expected float32 or float64");
}

void require_same_dtype(std::string_view op, const char* name_a, const ArrayView& a,
                        const char* name_b, const ArrayView& b) {
  // Two dtypes that are none of DType's are told apart by their names.
  if (a.dtype == b.dtype && (a.dtype != DType::other || a.dtype_name() == b.dtype_name())) return;
  throw py::type_error(std::string(op) + ": " + name_a + " has dtype " + a.dtype_name() + " but " +
                       name_b + " has dtype " + b.dtype_name() + "; both must be the same");
}

void require_dtype(std::string_view op, const char* name, const ArrayView& a, DType expected) {
  if (a.dtype == expected) return;
  throw py::type_error(std::string(op) + ": " + name + " has dtype " + a.dtype_name() + " (shape " +
                       a.shape_str() + "); the CUDA kernel takes " + name_of(expected));
}

void require_shape(std::string_view op, const char* name, const ArrayView& a,
                   const std::vector<int64_t>& shape, const std::string& why) {
  if (a.shape == shape) return;
  throw py::value_error(std::string(op) + ": " + name + " has shape " + a.shape_str() + " but " +
                        why + " needs shape " + dims_str(shape));
}

void require_same_shape(std::string_view op, const char* name_a, const ArrayView& a,
                        const char* name_b, const ArrayView& b) {
  if (a.shape == b.shape) return;
  throw py::value_error(std::string(op) + ": " + name_a + " has shape " + a.shape_str() + " but " +
                        name_b + " has shape " + b.shape_str() + "; they must match");
}

RowsCols rows_cols(std::string_view op, const char* name, const ArrayView& a) {
  if (a.ndim() < 1) {
    throw py::value_error(std::string(op) + ": " + name + " must have at least 1 dimension (the " +
                          "axis reduced over is the last one); got shape " + a.shape_str());
  }
  RowsCols rc;
  for (int i = 0; i + 1 < a.ndim(); ++i) rc.rows *= a.dim(i);
  rc.cols = a.dim(-1);
  return rc;
}

}  // namespace fastdl::bindings
