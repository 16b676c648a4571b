// Pooling family: rows are split across threads in contiguous blocks (output rows forward, input
// rows backward, both flattened over the batch so that a small batch of large images still
// splits) and each block goes to the row kernels of the active ISA.
#include "fastdl/pool.h"

#include <algorithm>

#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "pool/kernels.h"

namespace fastdl {
namespace {

// Elements touched per thread below which one thread is faster (waking threads costs
// microseconds).
constexpr int64_t kGrainElements = 32 * 1024;

// Rows per thread when one row touches `per_row` elements.
int64_t row_grain(int64_t per_row) {
  return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(1, per_row));
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Elements read and written for one output row forward.
int64_t forward_row_cost(const Pool2dShape& s) {
  return s.out_width * s.channels * (s.pool_h * s.pool_w + 1);
}

// Elements read and written for one input row backward: each element gathers from about
// ceil(pool / stride) windows along each axis.
int64_t backward_row_cost(const Pool2dShape& s) {
  const int64_t windows = ceil_div(s.pool_h, s.stride_h) * ceil_div(s.pool_w, s.stride_w);
  return s.width * s.channels * (windows + 1);
}

}  // namespace

template <class T>
void max_pool2d_forward(const T* x, T* y, int32_t* argmax, const Pool2dShape& s) {
  if (s.output_size() == 0) return;
  parallel_for(
      s.batch * s.out_height, row_grain(forward_row_cost(s)),
      [&](int64_t r0, int64_t r1) { FASTDL_DISPATCH(max_pool2d_rows<T>(x, y, argmax, s, r0, r1)); },
      1);
}

template <class T>
void max_pool2d_backward(const T* dy, const int32_t* argmax, T* dx, const Pool2dShape& s) {
  if (s.input_size() == 0) return;
  parallel_for(
      s.batch * s.height, row_grain(backward_row_cost(s)),
      [&](int64_t r0, int64_t r1) {
        FASTDL_DISPATCH(max_pool2d_backward_rows<T>(dy, argmax, dx, s, r0, r1));
      },
      1);
}

template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dShape& s) {
  if (s.output_size() == 0) return;
  parallel_for(
      s.batch * s.out_height, row_grain(forward_row_cost(s)),
      [&](int64_t r0, int64_t r1) { FASTDL_DISPATCH(avg_pool2d_rows<T>(x, y, s, r0, r1)); }, 1);
}

template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dShape& s) {
  if (s.input_size() == 0) return;
  parallel_for(
      s.batch * s.height, row_grain(backward_row_cost(s)),
      [&](int64_t r0, int64_t r1) {
        FASTDL_DISPATCH(avg_pool2d_backward_rows<T>(dy, dx, s, r0, r1));
      },
      1);
}

template void max_pool2d_forward<float>(const float*, float*, int32_t*, const Pool2dShape&);
template void max_pool2d_forward<double>(const double*, double*, int32_t*, const Pool2dShape&);
template void max_pool2d_backward<float>(const float*, const int32_t*, float*,
                                         const Pool2dShape&);
template void max_pool2d_backward<double>(const double*, const int32_t*, double*,
                                          const Pool2dShape&);
template void avg_pool2d_forward<float>(const float*, float*, const Pool2dShape&);
template void avg_pool2d_forward<double>(const double*, double*, const Pool2dShape&);
template void avg_pool2d_backward<float>(const float*, float*, const Pool2dShape&);
template void avg_pool2d_backward<double>(const double*, double*, const Pool2dShape&);

}  // namespace fastdl
