#pragma once
// Elementwise activations on the GPU, float32: the names and argument order of
// csrc/include/fastdl/activation.h, plus the stream to launch on.
#include <cuda_runtime.h>

#include <cstdint>

#include "fastdl/activation.h"

namespace fastdl::cuda {

// y[i] = act(x[i]) for i < n; x and y may alias.
void activation_forward(Activation act, const float* x, float* y, int64_t n, float alpha,
                        cudaStream_t stream);
// dx[i] = dy[i] * act'(.); `saved` as in fastdl::activation_backward. dx may alias dy.
void activation_backward(Activation act, const float* dy, const float* saved, float* dx,
                         int64_t n, float alpha, cudaStream_t stream);

}  // namespace fastdl::cuda
