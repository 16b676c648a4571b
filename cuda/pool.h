#pragma once
// 2-D max and average pooling on the GPU, float32, NHWC: the geometry of fastdl::Pool2dShape
// (csrc/include/fastdl/pool.h, worked out by pool2d_shape()) and the semantics, names and
// argument order of the CPU kernels, plus the stream to launch on.
#include <cuda_runtime.h>

#include <cstdint>

#include "fastdl/pool.h"

namespace fastdl::cuda {

// y = the window maxima; argmax (unless nullptr) = the position h * width + w of each winner in
// its image. Ties go to the first position in window scan order; the first NaN wins.
void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const Pool2dShape& s,
                        cudaStream_t stream);

// dx (every element written) = the sum, over the windows whose argmax names an element, of
// their dy, added in output order; an argmax outside its window contributes nothing.
void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const Pool2dShape& s,
                         cudaStream_t stream);

// y = the mean over each window's positions inside the input (padding is not counted).
void avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s, cudaStream_t stream);

// dx (every element written) = the sum, over the windows covering an element, of dy / (that
// window's count of input positions).
void avg_pool2d_backward(const float* dy, float* dx, const Pool2dShape& s, cudaStream_t stream);

}  // namespace fastdl::cuda
