#include "fastdl/dense.h"

#include <algorithm>

#include "fastdl/gemm.h"
#include "fastdl/parallel.h"

namespace fastdl {
namespace {

// Runs first() and second() on two threads at once (or one after the other when no second
// thread is free) and rethrows the first exception either raised.
template <class First, class Second>
void side_by_side(First&& first, Second&& second) {
  auto join = [](int) {};
  auto run = [&](int, int64_t which) { which == 0 ? first() : second(); };
  run_chunks(2, 2, join, run);
}

// Below this many multiply-adds each, two products are not worth a parallel region (about
// 2 us): both take less than that on one thread.
constexpr int64_t kSideBySideWork = 32 * 32 * 32;

}  // namespace

template <class T>
void linear_backward(int64_t M, int64_t K, int64_t N, const T* dy, const T* y, Activation act,
                     const T* x, const T* w, T* dz, T* dx, T* dw, T* db) {
  const T* g = dy;
  if (act != Activation::none) {
    activation_backward<T>(act, dy, y, dz, M * N, T(0));
    g = dz;
  }
  const GemmEpilogue<T> plain;
  auto weight_grad = [&] { gemm<T>(K, N, M, {x, 1, K}, {g, N, 1}, dw, N, plain); };  // x^T @ g
  auto input_grad = [&] { gemm<T>(M, K, N, {g, N, 1}, {w, 1, N}, dx, K, plain); };   // g @ w^T
  // Two products too small to be split over threads (a small layer's) run side by side.
  const int64_t work = M * N * K;  // of each product
  if (dw && dx && get_num_threads() > 1 && work >= kSideBySideWork && gemm_threads(K, N, M) == 1 &&
      gemm_threads(M, K, N) == 1) {
    side_by_side(weight_grad, input_grad);
  } else {
    if (dw) weight_grad();
    if (dx) input_grad();
  }
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
