#include "fastdl/dense.h"

#include <algorithm>

#include "fastdl/gemm.h"

namespace fastdl {

template <class T>
void linear_backward(int64_t M, int64_t K, int64_t N, const T* dy, const T* y, Activation act,
                     const T* x, const T* w, T* dz, T* dx, T* dw, T* db) {
  const T* g = dy;
  if (act != Activation::none) {
    activation_backward<T>(act, dy, y, dz, M * N, T(0));
    g = dz;
  }
  const GemmEpilogue<T> plain;
  if (dw) gemm<T>(K, N, M, {x, 1, K}, {g, N, 1}, dw, N, plain);  // x^T @ g
  if (dx) gemm<T>(M, K, N, {g, N, 1}, {w, 1, N}, dx, K, plain);  // g @ w^T
  if (db) {
    // Column sums, row by row: contiguous inner loop the compiler vectorizes.
    std::fill(db, db + N, T(0));
    for (int64_t r = 0; r < M; ++r) {
      const T* row = g + r * N;
      for (int64_t j = 0; j < N; ++j) db[j] += row[j];
    }
  }
}

template void linear_backward<float>(int64_t, int64_t, int64_t, const float*, const float*,
                                     Activation, const float*, const float*, float*, float*,
                                     float*, float*);
template void linear_backward<double>(int64_t, int64_t, int64_t, const double*, const double*,
                                      Activation, const double*, const double*, double*,
                                      double*, double*, double*);

}  // namespace fastdl
