#pragma once
// The integer fills' precondition, checked by the entry points of both extensions (fastdl._C
// and fastdl._cuda): [low, high) is a non-empty range of values of I.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <string>

namespace fastdl::bindings {

template <class I>
void require_integer_range(const std::string& op, int64_t low, int64_t high) {
  using limits = std::numeric_limits<I>;
  // high - 1 is evaluated only when low < high, so that it cannot overflow.
  if (!(low < high && low >= limits::min() && high - 1 <= limits::max())) {
    throw pybind11::value_error(op + ": the range [" + std::to_string(low) + ", " +
                                std::to_string(high) + ") is empty or does not fit int" +
                                std::to_string(8 * sizeof(I)));
  }
}

}  // namespace fastdl::bindings
