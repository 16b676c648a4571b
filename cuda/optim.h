#pragma once
// Parameter updates on the GPU, float32: axpy and the fused optimizer steps, with the names,
// argument order, option structs and formulas of csrc/include/fastdl/optim.h, plus the stream to
// launch on.
//
// A step updates every parameter with a few launches whatever the model: the tensors' pointers
// and sizes travel in the kernel's parameters (up to 64 tensors a launch), and each block takes
// one chunk of one tensor. Clipping by norm adds two small launches before the update, which
// reads each clipping factor from device memory: nothing waits for the host.
//
// Differences from the CPU: the sum of squares behind clipnorm/global_clipnorm accumulates in
// float64, so finite gradients never overflow it (the CPU recomputes such norms with scaling; the
// factors agree to rounding); subnormal numbers are kept, not flushed to zero (the GPU computes
// with them at full speed). Non-finite gradients follow GradClip's conventions.
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "fastdl/optim.h"

namespace fastdl::cuda {

// y[i] += alpha * x[i] for i < n. x and y must not overlap unless they are the same array.
void axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream);

// One optimizer step over all `tensors`: device pointers to float32 arrays (is_double must be
// false), state slots as in fastdl/optim.h. The caller has validated sizes and state slots.
// With clipnorm or global_clipnorm the step takes scratch memory from CUDA's stream-ordered
// allocator (cudaMallocAsync on `stream`) and gives it back the same way.
void sgd_step(const std::vector<OptimTensor>& tensors, const SgdOptions& options,
              const GradClip& clip, cudaStream_t stream);
void adam_step(const std::vector<OptimTensor>& tensors, const AdamOptions& options,
               const GradClip& clip, cudaStream_t stream);
void rmsprop_step(const std::vector<OptimTensor>& tensors, const RmspropOptions& options,
                  const GradClip& clip, cudaStream_t stream);

}  // namespace fastdl::cuda
