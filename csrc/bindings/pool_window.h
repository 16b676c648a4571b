#pragma once
// Keras's pooling window (pool_size, strides, padding), parsed and checked once: for the pooling
// entry points and for the convolution fused with max pooling.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common.h"
#include "fastdl/pool.h"

namespace fastdl::bindings {

struct PoolWindow {
  std::array<int64_t, 2> pool{1, 1}, strides{1, 1};
  bool same = false;

  std::string describe() const;  // "pool_size (2, 2), strides (2, 2) and padding 'valid'"
};

// "(64, 28, 28, 1)"
std::string dims_str(const std::vector<int64_t>& dims);

// A shape given from Python (a sequence of non-negative ints); TypeError naming `op` otherwise.
std::vector<int64_t> parse_shape(const std::string& op, const py::handle& shape);

// pool_size and strides: an int or a pair of positive ints (strides None: pool_size); padding
// 'valid' or 'same'. TypeError or ValueError, naming `op`, otherwise.
PoolWindow parse_window(const std::string& op, const py::handle& pool, const py::handle& strides,
                        const py::handle& padding);

// The geometry of pooling an input of shape `dims` (`what` names it in errors: it must be 4-D,
// and the window must fit).
Pool2dShape geometry(const std::string& op, const std::string& what,
                     const std::vector<int64_t>& dims, const PoolWindow& w);

}  // namespace fastdl::bindings
