#pragma once
// What the fused convolution and pooling (conv_pool.cpp) shares with conv.cpp's drivers: the
// threading rule and the direct kernels' weight gradient. Internal to the CPU kernels.
#include <algorithm>
#include <cstdint>
#include <functional>

#include "fastdl/conv.h"
#include "fastdl/parallel.h"

namespace fastdl {

// Threads for `blocks` blocks of `work_per_block` multiply-adds: a thread gets at least about
// 80^3 of them (less is faster on one thread).
inline int threads_for_blocks(int64_t blocks, int64_t work_per_block) {
  return threads_for(blocks, std::max<int64_t>(1, (80 * 80 * 80 + work_per_block - 1) /
                                                      std::max<int64_t>(1, work_per_block)));
}

// One input channel and a kernel larger than 1x1 (an image's first layer): the direct kernels
// of kernels.h, which compute output rows one at a time.
inline bool uses_direct_kernel(const ConvShape& s) { return s.C == 1 && !s.is_pointwise(); }

// The gradient of output row r (flat over N, OH; OW x CO elements): a pointer into an array,
// or `scratch` (OW x CO elements of the calling thread's own) filled with it, or nullptr for a
// row whose gradient is zero.
template <class T>
using RowGradient = std::function<const T*(int64_t r, T* scratch)>;

// dw and db (unless nullptr) of a convolution that uses_direct_kernel, threaded over output
// rows, each row's gradient from row_gradient; row_scratch is how much scratch it needs.
template <class T>
void direct_weight_gradient(const ConvShape& s, const T* x, T* dw, T* db, int64_t row_scratch,
                            const RowGradient<T>& row_gradient);

}  // namespace fastdl
