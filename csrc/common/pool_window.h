#pragma once
// Keras's pooling window (pool_size, strides, padding), parsed and checked once, and the arrays'
// shapes against it: for the pooling entry points of both extensions and for the convolution
// fused with max pooling.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/array_view.h"
#include "fastdl/pool.h"

namespace fastdl::bindings {

struct PoolWindow {
  std::array<int64_t, 2> pool{1, 1}, strides{1, 1};
  bool same = false;

  std::string describe() const;  // "pool_size (2, 2), strides (2, 2) and padding 'valid'"
  // "an input of shape (64, 28, 28, 1) with pool_size ...": where an output shape comes from.
  std::string describe_input(const std::vector<int64_t>& x_dims) const;
};

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

// The output's shape, (batch, out_height, out_width, channels).
std::vector<int64_t> output_dims(const Pool2dShape& s);

// ValueError unless `a`, an input the shape of the output (a gradient, argmax), has `dims`;
// `why` (describe_input) says where they come from.
void require_output_dims(const std::string& op, const char* name, const ArrayView& a,
                         const std::vector<int64_t>& dims, const std::string& why);

// TypeError unless argmax holds int32 indices, as max_pool2d_forward returns them.
void require_argmax(const std::string& op, const ArrayView& argmax);

}  // namespace fastdl::bindings
