// Normalization family: rows split across threads, each piece to the row kernels of the active
// ISA. The backward pass's sums over the rows (dgamma, dbeta) are taken per fixed block of rows,
// then the blocks' sums in order, so that their bits do not depend on the thread count.
#include "fastdl/norm.h"

#include <algorithm>

#include "fastdl/denormals.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "norm/kernels.h"
#include "runtime/scratch.h"
#include "runtime/streaming.h"

namespace fastdl {
namespace {

// Elements per thread below which one thread is faster (waking threads costs microseconds).
constexpr int64_t kGrainElements = 32 * 1024;

// Elements per block of rows whose dgamma and dbeta terms are summed together: enough rows that
// the blocks' partial sums are a small fraction of the input.
constexpr int64_t kBlockElements = 32 * 1024;

int64_t rows_per(int64_t elements, int64_t cols) {
  return std::max<int64_t>(1, elements / std::max<int64_t>(1, cols));
}

// The blocks' partial sums of the backward pass, kept by the calling thread between calls.
Scratch& partial_sums() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

template <class T>
void norm_forward(NormKind kind, const T* x, int64_t rows, int64_t cols, const T* gamma,
                  const T* beta, T eps, T* y, T* rstd) {
  if (cols == 0) return;
  const bool stream = stream_output<T>(rows * cols);
  parallel_for(
      rows, rows_per(kGrainElements, cols),
      [&](int64_t r0, int64_t r1) {
        FlushDenormalsScope flush;
        FASTDL_DISPATCH(norm_forward_rows<T>(kind, x + r0 * cols, r1 - r0, cols, gamma, beta, eps,
                                             y + r0 * cols, rstd + r0, stream));
      },
      1);
}

template <class T>
void norm_backward(NormKind kind, const T* dy, const T* x, int64_t rows, int64_t cols,
                   const T* gamma, const T* rstd, T* dx, T* dgamma, T* dbeta) {
  if (cols == 0) return;
  const int64_t block = rows_per(kBlockElements, cols);
  const int64_t blocks = std::max<int64_t>(1, (rows + block - 1) / block);
  // Block b's sums at dgamma_blocks + b * stride and dbeta_blocks + b * stride, each on whole
  // cache lines: the kernels read and write them once per row.
  const int64_t stride = whole_lines<T>(cols);
  const int64_t sums = (dgamma ? blocks : 0) + (dbeta ? blocks : 0);
  T* partial = partial_sums().get<T>(sums * stride);
  std::fill(partial, partial + sums * stride, T(0));
  T* dgamma_blocks = dgamma ? partial : nullptr;
  T* dbeta_blocks = dbeta ? partial + (dgamma ? blocks * stride : 0) : nullptr;
  const bool stream = stream_output<T>(rows * cols);
  parallel_for(
      blocks, std::max<int64_t>(1, kGrainElements / (block * cols)),
      [&](int64_t b0, int64_t b1) {
        FlushDenormalsScope flush;
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t r0 = b * block, r1 = std::min(rows, r0 + block);
          FASTDL_DISPATCH(norm_backward_rows<T>(
              kind, dy + r0 * cols, x + r0 * cols, r1 - r0, cols, gamma, rstd + r0,
              dx + r0 * cols, dgamma_blocks ? dgamma_blocks + b * stride : nullptr,
              dbeta_blocks ? dbeta_blocks + b * stride : nullptr, stream));
        }
      },
      1);
  auto sum_blocks = [&](const T* block_sums, T* out) {
    if (!out) return;
    std::fill(out, out + cols, T(0));
    for (int64_t b = 0; b < blocks; ++b) {
      const T* s = block_sums + b * stride;
      for (int64_t c = 0; c < cols; ++c) out[c] += s[c];
    }
  };
  sum_blocks(dgamma_blocks, dgamma);
  sum_blocks(dbeta_blocks, dbeta);
}

#define FASTDL_INSTANTIATE_NORM(T)                                                             \
  template void norm_forward<T>(NormKind, const T*, int64_t, int64_t, const T*, const T*, T, \
                                T*, T*);                                                       \
  template void norm_backward<T>(NormKind, const T*, const T*, int64_t, int64_t, const T*,    \
                                 const T*, T*, T*, T*);
FASTDL_INSTANTIATE_NORM(float)
FASTDL_INSTANTIATE_NORM(double)
#undef FASTDL_INSTANTIATE_NORM

}  // namespace fastdl
