// Softmax family: rows are split across threads in contiguous blocks and each block goes to the
// row kernels of the active ISA.
#include "fastdl/softmax.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "softmax/kernels.h"

namespace fastdl {
namespace {

// Elements per thread below which one thread is faster (waking threads costs microseconds).
constexpr int64_t kGrainElements = 32 * 1024;

// Rows per thread for rows of `cols` elements.
int64_t row_grain(int64_t cols) {
  return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(1, cols));
}

}  // namespace

template <class T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool log) {
  if (cols == 0) return;
  parallel_for(
      rows, row_grain(cols),
      [&](int64_t r0, int64_t r1) {
        FASTDL_DISPATCH(softmax_rows<T>(x + r0 * cols, y + r0 * cols, r1 - r0, cols, log));
      },
      1);
}

template <class T>
void softmax_backward(const T* dy, const T* y, T* dx, int64_t rows, int64_t cols, bool log) {
  if (cols == 0) return;
  parallel_for(
      rows, row_grain(cols),
      [&](int64_t r0, int64_t r1) {
        const int64_t off = r0 * cols;
        FASTDL_DISPATCH(softmax_backward_rows<T>(dy + off, y + off, dx + off, r1 - r0, cols, log));
      },
      1);
}

template <class T>
double softmax_cross_entropy(const T* logits, const int64_t* labels, T* dlogits, int64_t rows,
                             int64_t cols) {
  if (rows == 0) return std::numeric_limits<double>::quiet_NaN();
  // Per-row losses summed in row order afterwards: the result does not depend on the threads.
  std::vector<double> row_loss(static_cast<size_t>(rows));
  const T grad_scale = T(1) / static_cast<T>(rows);
  parallel_for(
      rows, row_grain(cols),
      [&](int64_t r0, int64_t r1) {
        FASTDL_DISPATCH(cross_entropy_rows<T>(logits + r0 * cols, labels + r0,
                                              dlogits ? dlogits + r0 * cols : nullptr, r1 - r0,
                                              cols, grad_scale, row_loss.data() + r0));
      },
      1);
  double total = 0;
  for (double loss : row_loss) total += loss;
  return total / static_cast<double>(rows);
}

template <class T>
int64_t argmax_matches(const T* scores, const int64_t* labels, int64_t rows, int64_t cols) {
  // One pass per row on one thread: a batch's scores (64 x 10) are a microsecond's work.
  int64_t hits = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = scores + r * cols;
    int64_t best = 0;
    T top = row[0];
    for (int64_t c = 1; c < cols; ++c) {
      const T v = row[c];
      if (v > top || (v != v && top == top)) {  // a NaN wins once and stays
        top = v;
        best = c;
      }
    }
    hits += best == labels[r];
  }
  return hits;
}

template void softmax_forward<float>(const float*, float*, int64_t, int64_t, bool);
template void softmax_forward<double>(const double*, double*, int64_t, int64_t, bool);
template void softmax_backward<float>(const float*, const float*, float*, int64_t, int64_t, bool);
template void softmax_backward<double>(const double*, const double*, double*, int64_t, int64_t,
                                       bool);
template double softmax_cross_entropy<float>(const float*, const int64_t*, float*, int64_t,
                                             int64_t);
template double softmax_cross_entropy<double>(const double*, const int64_t*, double*, int64_t,
                                              int64_t);
template int64_t argmax_matches<float>(const float*, const int64_t*, int64_t, int64_t);
template int64_t argmax_matches<double>(const double*, const int64_t*, int64_t, int64_t);

}  // namespace fastdl
