#pragma once
// General matrix multiply with a fused epilogue:
//   C[M, N] = act(alpha * A[M, K] @ B[K, N] + bias[N])
// A and B are read through arbitrary element strides (row stride, column stride), so transposed
// and sliced operands need no copy: the packing step reads them as they are. C is row-major with
// leading dimension ldc >= N and is overwritten.
#include <cstdint>

#include "fastdl/activation.h"

namespace fastdl {

template <class T>
struct GemmEpilogue {
  T alpha = T(1);
  const T* bias = nullptr;  // length N, added to every row; nullptr for none
  Activation act = Activation::none;
  T act_alpha = T(0);  // slope for leaky_relu
};

template <class T>
struct StridedMatrix {
  const T* data;
  int64_t row_stride;  // in elements
  int64_t col_stride;
};

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B, T* C,
          int64_t ldc, const GemmEpilogue<T>& epilogue);

// Threads gemm() uses for an M x N x K product: 1 below the size where waking more pays.
int gemm_threads(int64_t M, int64_t N, int64_t K);

// `batch` independent products; operand i starts at data + i * batch_stride (a stride of 0
// broadcasts one matrix over the batch). C's batch stride is M * ldc.
template <class T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, StridedMatrix<T> A,
                  int64_t batch_stride_a, StridedMatrix<T> B, int64_t batch_stride_b, T* C,
                  int64_t ldc, const GemmEpilogue<T>& epilogue);

}  // namespace fastdl
