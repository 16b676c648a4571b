#pragma once
// Matrix products on the GPU, float32: the operation of csrc/include/fastdl/gemm.h,
//   C[M, N] = act(alpha * A[M, K] @ B[K, N] + bias[N])
// (act(C + alpha * A @ B + bias) when accumulating)
// with the CPU's operand and epilogue types, plus the kernel version and the stream.
//
// Each operand must have unit stride along one of its dimensions: col_stride 1 (a row-major
// matrix, row_stride its leading dimension) or row_stride 1 (the transpose of a row-major matrix,
// col_stride its leading dimension). Both are read in place; nothing is transposed beforehand.
// C is row-major with leading dimension ldc and must not overlap A, B or the bias.
#include <cuda_runtime.h>

#include <cstdint>

#include "fastdl/gemm.h"

namespace fastdl::cuda {

// The kernels, from the textbook to the fast one, kept side by side so that a benchmark can show
// what each step buys. Every version computes the same thing for any shape and alignment.
enum class GemmVersion : int {
  shared_tiling = 1,      // 32x32 tiles in shared memory, one output per thread
  register_blocking = 2,  // 64x64 tiles, 4x4 outputs per thread in registers
  vectorized = 3,         // 128x128 tiles, 8x8 outputs per thread, float4 loads
  warptiling = 4,         // + warp tiles, conflict-free shared memory, double buffering
  tf32 = 5,               // TF32 tensor cores (mma.sync), fp32 accumulation; sm_80 and newer
};

constexpr GemmVersion kGemmVersions[] = {GemmVersion::shared_tiling,
                                         GemmVersion::register_blocking, GemmVersion::vectorized,
                                         GemmVersion::warptiling, GemmVersion::tf32};

const char* gemm_version_name(GemmVersion version);

// The fastest exact kernel, or the TF32 one when the caller accepts TF32's 10-bit mantissas.
constexpr GemmVersion default_gemm_version(bool allow_tf32) {
  return allow_tf32 ? GemmVersion::tf32 : GemmVersion::warptiling;
}

void gemm(int64_t M, int64_t N, int64_t K, StridedMatrix<float> A, StridedMatrix<float> B,
          float* C, int64_t ldc, const GemmEpilogue<float>& epilogue, GemmVersion version,
          cudaStream_t stream);

// `batch` independent products; operand i starts at data + i * batch_stride (0 broadcasts one
// matrix over the batch). C's batch stride is M * ldc.
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, StridedMatrix<float> A,
                  int64_t batch_stride_a, StridedMatrix<float> B, int64_t batch_stride_b,
                  float* C, int64_t ldc, const GemmEpilogue<float>& epilogue,
                  GemmVersion version, cudaStream_t stream);

// out[j] = sum over i of x[i * cols + j]: a dense layer's bias gradient. The sum is taken in a
// fixed order, so equal inputs give equal bits.
void column_sum(int64_t rows, int64_t cols, const float* x, float* out, cudaStream_t stream);

}  // namespace fastdl::cuda
