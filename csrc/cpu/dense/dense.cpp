#include "fastdl/dense.h"

#include <algorithm>
#include <vector>

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

// Elements per slab of column_sums (whole rows): fixed, so that the order of the additions
// (and the rounding) does not depend on the threads; small enough for several slabs per thread
// on a batch of 64 28 x 28 images, large enough that the slab sums are a small second pass.
constexpr int64_t kSlabElements = 16384;

// Below this many columns, sum_rows adds several rows at a time, so that its inner loop still
// runs over enough contiguous elements to vectorize (a bias of one channel has one column).
constexpr int64_t kMinRunLength = 64;

// out[j] = sum of a[i * cols + j] over the rows [begin, end), in row order for each column.
template <class T>
void sum_rows(const T* a, int64_t cols, int64_t begin, int64_t end, T* out) {
  std::fill(out, out + cols, T(0));
  int64_t r = begin;
  if (cols < kMinRunLength) {
    // `group` rows at once into `group` interleaved copies of the sums, folded at the end.
    const int64_t group = (kMinRunLength + cols - 1) / cols, run = group * cols;
    T acc[2 * kMinRunLength] = {};
    for (; r + group <= end; r += group) {
      const T* rows = a + r * cols;
      for (int64_t k = 0; k < run; ++k) acc[k] += rows[k];
    }
    for (int64_t copy = 0; copy < run; copy += cols) {
      for (int64_t j = 0; j < cols; ++j) out[j] += acc[copy + j];
    }
  }
  for (; r < end; ++r) {
    const T* row = a + r * cols;
    for (int64_t j = 0; j < cols; ++j) out[j] += row[j];  // contiguous: vectorized
  }
}

}  // namespace

template <class T>
void column_sums(int64_t rows, int64_t cols, const T* a, T* out) {
  const int64_t slab_rows = std::max<int64_t>(1, kSlabElements / std::max<int64_t>(cols, 1));
  const int64_t slabs = (rows + slab_rows - 1) / slab_rows;
  if (slabs <= 1) {
    sum_rows(a, cols, 0, rows, out);
    return;
  }
  std::vector<T> slab_sums(static_cast<size_t>(slabs * cols));
  parallel_for(
      slabs, 1,
      [&](int64_t begin, int64_t end) {
        for (int64_t s = begin; s < end; ++s) {
          sum_rows(a, cols, s * slab_rows, std::min(rows, (s + 1) * slab_rows),
                   slab_sums.data() + s * cols);
        }
      },
      1);
  sum_rows(slab_sums.data(), cols, 0, slabs, out);
}

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
  if (db) column_sums(M, N, g, db);
}

template void linear_backward<float>(int64_t, int64_t, int64_t, const float*, const float*,
                                     Activation, const float*, const float*, float*, float*,
                                     float*, float*);
template void linear_backward<double>(int64_t, int64_t, int64_t, const double*, const double*,
                                      Activation, const double*, const double*, double*,
                                      double*, double*, double*);
template void column_sums<float>(int64_t, int64_t, const float*, float*);
template void column_sums<double>(int64_t, int64_t, const double*, double*);

}  // namespace fastdl
