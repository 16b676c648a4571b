#pragma once
// The direct convolution kernels' drivers that the fused convolution and pooling
// (conv_pool.cpp) shares with conv.cpp. Internal to the CPU kernels.
#include <cstdint>
#include <functional>

#include "fastdl/conv.h"

namespace fastdl {

// One input channel and a kernel larger than 1x1 (an image's first layer): the direct kernels
// of conv_kernels.h, which compute output rows one at a time.
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
