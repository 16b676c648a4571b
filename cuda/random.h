#pragma once
// Random fills on the GPU: the names and argument order of csrc/include/fastdl/random.h (float32
// and int32 / int64 here), plus the stream to launch on. The words come from Philox4x32-10
// (philox.cuh) in the layout random.h describes, so value i depends only on (key, i); that is
// not the CPU's stream, so the two devices draw different arrays from one key.
#include <cuda_runtime.h>

#include <cstdint>

namespace fastdl::cuda {

void random_uniform(float* out, int64_t n, uint64_t key, float low, float high,
                    cudaStream_t stream);

void random_normal(float* out, int64_t n, uint64_t key, float mean, float stddev,
                   cudaStream_t stream);

void random_truncated_normal(float* out, int64_t n, uint64_t key, float mean, float stddev,
                             cudaStream_t stream);

// low < high, both representable in I.
template <class I>
void random_integers(I* out, int64_t n, uint64_t key, int64_t low, int64_t high,
                     cudaStream_t stream);

}  // namespace fastdl::cuda
