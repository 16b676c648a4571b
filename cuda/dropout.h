#pragma once
// Inverted dropout on the GPU, float32: the names and argument order of
// csrc/include/fastdl/dropout.h, plus the stream to launch on.
#include <cuda_runtime.h>

#include <cstdint>

namespace fastdl::cuda {

// y[i] = keep[i] ? x[i] / (1 - p) : 0, with keep[i] = 1 with probability 1 - p (0 <= p < 1).
// keep[i] is a function of (seed, i) only: word i % 4 of Philox4x32-10 at counter i / 4 under
// the key `seed`, kept when it is >= p * 2^32. That is not the CPU's generator, so the two
// devices draw different masks from one seed. x and y may be the same array.
void dropout_forward(const float* x, float* y, uint8_t* keep, int64_t n, double p, uint64_t seed,
                     cudaStream_t stream);

// dx[i] = keep[i] ? dy[i] / (1 - p) : 0. dx may be the same array as dy.
void dropout_backward(const float* dy, const uint8_t* keep, float* dx, int64_t n, double p,
                      cudaStream_t stream);

}  // namespace fastdl::cuda
