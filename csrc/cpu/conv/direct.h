#pragma once
// The direct algorithm, for one input channel and a kernel larger than 1x1 (an image's first
// layer): each output row is computed from the input rows under the kernel by the direct
// kernels of kernels.h, a pixel's taps being a few scalars, too few to be worth gathering into
// patches. The fused convolution and pooling (conv_pool.cpp) builds on its weight gradient.
// Internal to the CPU kernels.
#include <cstdint>
#include <functional>

#include "fastdl/activation.h"
#include "fastdl/conv.h"

namespace fastdl {

// One input channel and a kernel larger than 1x1 (an image's first layer): the direct kernels
// of kernels.h, which compute output rows one at a time.
inline bool uses_direct_kernel(const ConvShape& s) { return s.C == 1 && !s.is_pointwise(); }

// The forward of a convolution that uses_direct_kernel, threaded over output rows.
template <class T>
void conv2d_forward_direct(const ConvShape& s, const T* x, const T* w, const T* b,
                           Activation act, T* y);

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

// conv2d_backward_weight for a convolution that uses_direct_kernel: dy's rows, with act'
// applied to one row at a time when act is not none.
template <class T>
void conv2d_backward_weight_direct(const ConvShape& s, const T* x, const T* dy, T* dw, T* db,
                                   Activation act, const T* out);

}  // namespace fastdl
