#pragma once
// The dtype and shape checks of every entry point, written once over ArrayView for both
// extensions: TypeError or ValueError naming the operation, the argument and its shape.
// Checks of one family's arguments sit beside its other parsing (conv_shape.h, pool_window.h,
// dropout_args.h, ...).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/array_view.h"

namespace fastdl::bindings {

// TypeError unless `a` is float32 or float64 (the CPU kernels' dtypes).
void require_float(std::string_view op, const char* name, const ArrayView& a);

// TypeError unless a and b have the same dtype.
void require_same_dtype(std::string_view op, const char* name_a, const ArrayView& a,
                        const char* name_b, const ArrayView& b);

// TypeError unless `a` has dtype `expected` (a GPU kernel takes one dtype).
void require_dtype(std::string_view op, const char* name, const ArrayView& a, DType expected);

// ValueError unless `a` has shape `shape`; `why` says where that shape comes from.
void require_shape(std::string_view op, const char* name, const ArrayView& a,
                   const std::vector<int64_t>& shape, const std::string& why);

// ValueError unless a and b have the same shape.
void require_same_shape(std::string_view op, const char* name_a, const ArrayView& a,
                        const char* name_b, const ArrayView& b);

// `a` as a matrix [prod(shape[:-1]), shape[-1]], for the operations along the last axis;
// ValueError when `a` has no axis.
struct RowsCols {
  int64_t rows = 1, cols = 0;
};
RowsCols rows_cols(std::string_view op, const char* name, const ArrayView& a);

}  // namespace fastdl::bindings
