#pragma once
// Dropout's arguments, checked by the entry points of both extensions (fastdl._C and
// fastdl._cuda) with the same messages: the rate, and the mask dropout_forward returned.
#include <pybind11/pybind11.h>

#include <string>
#include <string_view>

#include "common/array_view.h"

namespace fastdl::bindings {

// ValueError unless p is a rate in [0, 1).
inline void require_rate(std::string_view op, double p) {
  if (!(p >= 0.0 && p < 1.0)) {
    throw pybind11::value_error(std::string(op) + ": p must be in [0, 1), got " +
                                std::to_string(p));
  }
}

// TypeError unless keep is a uint8 mask.
inline void require_keep_mask(std::string_view op, const ArrayView& keep) {
  if (keep.dtype == DType::uint8) return;
  throw pybind11::type_error(std::string(op) + ": keep must be the uint8 mask dropout_forward " +
                             "returned, got dtype " + keep.dtype_name());
}

}  // namespace fastdl::bindings
