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
  bool accumulate = false;  // C += alpha * A @ B (+ bias) instead of C = ...
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

// Threads gemm() uses for an M x N x K product: 1 below the size where waking more pays, and
// inside a parallel region.
int gemm_threads(int64_t M, int64_t N, int64_t K);

// A right operand packed once for several products that share it (a convolution's weights,
// used by every block of output pixels): gemm_pack_b writes the K x N matrix B into
// gemm_packed_b_size(K, N) elements, and gemm_with_packed_b multiplies by it.
template <class T>
int64_t gemm_packed_b_size(int64_t K, int64_t N);
template <class T>
void gemm_pack_b(int64_t K, int64_t N, StridedMatrix<T> B, T* packed);
template <class T>
void gemm_with_packed_b(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, const T* packed_b,
                        T* C, int64_t ldc, const GemmEpilogue<T>& epilogue);

// C[rows, cols] = act(C + bias) in place, row by row (bias, of length cols, may be nullptr):
// a product's epilogue on its own, for results that are not one product's (a transposed
// convolution's scattered patches). One thread.
template <class T>
void apply_epilogue_rows(int64_t rows, int64_t cols, T* C, int64_t ldc, const T* bias,
                         Activation act);

// `batch` independent products; operand i starts at data + i * batch_stride (a stride of 0
// broadcasts one matrix over the batch). C's batch stride is M * ldc.
template <class T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, StridedMatrix<T> A,
                  int64_t batch_stride_a, StridedMatrix<T> B, int64_t batch_stride_b, T* C,
                  int64_t ldc, const GemmEpilogue<T>& epilogue);

}  // namespace fastdl
