// Attention's softmax arithmetic, written once against Vec<T>; CMake compiles this file once per
// ISA (generic, avx2, avx512), each copy in its own namespace.
#include <algorithm>
#include <cmath>
#include <limits>

#include "attention/kernels.h"
#include "fastdl/simd.h"
#include "random/stream.h"
#include "softmax/rows.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

template <class T>
void attention_online_softmax(T* s, int64_t rows, int64_t cols, int64_t lds, T* m, T* l, T* o,
                              int64_t ldo, int64_t o_cols) {
  constexpr int W = Vec<T>::width;
  constexpr T kNothing = -std::numeric_limits<T>::infinity();
  // W rows at a time: their new maxima, then their rescaling factors exp(m - m_new) as one
  // vector exp rather than a call to the scalar one per row.
  for (int64_t r0 = 0; r0 < rows; r0 += W) {
    const int lanes = static_cast<int>(std::min<int64_t>(W, rows - r0));
    T m_new[W], rescale[W];
    for (int k = 0; k < lanes; ++k) m_new[k] = row_max(s + (r0 + k) * lds, cols);
    const Vec<T> old_max = load_lanes(m + r0, lanes);
    const Vec<T> new_max = max(old_max, load_lanes(m_new, lanes));
    store_lanes(new_max, m_new, lanes);
    store_lanes(new_max, m + r0, lanes);
    // 0 for the first keys a row attends to (exp of -inf); NaN for a row with nothing to attend
    // to yet, which does not use it.
    store_lanes(exp(old_max - new_max), rescale, lanes);
    for (int k = 0; k < lanes; ++k) {
      T* row = s + (r0 + k) * lds;
      if (m_new[k] == kNothing) {
        std::fill(row, row + cols, T(0));  // nothing to attend to yet
        continue;
      }
      const T sum = exp_sum<true>(row, m_new[k], row, cols);
      if (rescale[k] != T(1)) scale_row(o + (r0 + k) * ldo, rescale[k], o_cols);
      l[r0 + k] = l[r0 + k] * rescale[k] + sum;
    }
  }
}

template <class T>
void attention_probabilities(T* s, int64_t rows, int64_t cols, int64_t lds, const T* lse) {
  for (int64_t r = 0; r < rows; ++r) {
    if (lse[r] == std::numeric_limits<T>::infinity()) {
      std::fill(s + r * lds, s + r * lds + cols, T(0));
    } else {
      exp_sum<true>(s + r * lds, lse[r], s + r * lds, cols);
    }
  }
}

template <class T>
void attention_score_gradient(T* p, const T* dp, int64_t rows, int64_t cols, int64_t ld,
                              const T* delta, const T* kept, T scale) {
  const Vec<T> zero(T(0)), vscale(scale);
  for (int64_t r = 0; r < rows; ++r) {
    T* pr = p + r * ld;
    const T* dpr = dp + r * ld;
    const Vec<T> d(delta[r]);
    if (kept) {
      const T* kr = kept + r * ld;
      for_each_vector<T>(cols, [&](int64_t i, int lanes) {
        const Vec<T> g = select(zero < load_lanes(kr + i, lanes), load_lanes(dpr + i, lanes) *
                                vscale, zero);
        store_lanes(load_lanes(pr + i, lanes) * (g - d), pr + i, lanes);
      });
    } else {
      for_each_vector<T>(cols, [&](int64_t i, int lanes) {
        store_lanes(load_lanes(pr + i, lanes) * (load_lanes(dpr + i, lanes) - d), pr + i, lanes);
      });
    }
  }
}

template <class T>
void attention_dropout(const T* in, T* out, int64_t rows, int64_t cols, int64_t ld,
                       uint64_t seed, uint64_t first, int64_t row_step, uint32_t threshold,
                       T scale) {
  // As dropout's kernel: the words, then the scaled values, each a loop the compiler vectorizes.
  // A tile that spans whole rows of the stream (cols == row_step: every key, as in the short
  // sequences of a small vision transformer) has consecutive words in consecutive rows: they are
  // drawn for as many rows at a time as fit in the buffer, not a row's few at a time.
  constexpr int64_t kChunk = 256;
  uint32_t words[kChunk];
  const int64_t rows_per_draw = cols == row_step ? std::max<int64_t>(1, kChunk / cols) : 1;
  for (int64_t r0 = 0; r0 < rows; r0 += rows_per_draw) {
    const int64_t draw_rows = std::min(rows_per_draw, rows - r0);
    for (int64_t c0 = 0; c0 < cols; c0 += kChunk) {
      const int64_t len = std::min(kChunk, cols - c0);
      // Several rows are drawn only when a row fits the buffer whole (len == cols).
      stream_words(seed, first + static_cast<uint64_t>(r0 * row_step + c0), draw_rows * len,
                   words);
      for (int64_t r = r0; r < r0 + draw_rows; ++r) {
        const uint32_t* w = words + (r - r0) * len;
        const T* src = in + r * ld + c0;
        T* dst = out + r * ld + c0;
        for (int64_t c = 0; c < len; ++c) {
          dst[c] = src[c] * (static_cast<T>(static_cast<int32_t>(w[c] >= threshold)) * scale);
        }
      }
    }
  }
}

template <class T>
void attention_row_dots(const T* a, int64_t lda, const T* b, int64_t ldb, int64_t rows,
                        int64_t cols, T* out) {
  for (int64_t r = 0; r < rows; ++r) {
    Vec<T> sum(T(0));
    for_each_vector<T>(cols, [&](int64_t i, int lanes) {
      sum = fma(load_lanes(a + r * lda + i, lanes), load_lanes(b + r * ldb + i, lanes), sum);
    });
    out[r] = sum.reduce_sum();
  }
}

template <class T>
void attention_finish_rows(const T* o, int64_t ldo, const T* m, const T* l, int64_t rows,
                           int64_t cols, T* out, int64_t ldout, T* lse) {
  for (int64_t r = 0; r < rows; ++r) {
    T* dst = out + r * ldout;
    if (l[r] == T(0)) {
      std::fill(dst, dst + cols, T(0));
      lse[r] = std::numeric_limits<T>::infinity();
      continue;
    }
    const Vec<T> inv(T(1) / l[r]);
    const T* src = o + r * ldo;
    for_each_vector<T>(cols, [&](int64_t i, int lanes) {
      store_lanes(load_lanes(src + i, lanes) * inv, dst + i, lanes);
    });
    lse[r] = m[r] + std::log(l[r]);
  }
}

#define FASTDL_INSTANTIATE_ATTENTION_KERNELS(T)                                                 \
  template void attention_online_softmax<T>(T*, int64_t, int64_t, int64_t, T*, T*, T*, int64_t,  \
                                            int64_t);                                           \
  template void attention_probabilities<T>(T*, int64_t, int64_t, int64_t, const T*);            \
  template void attention_score_gradient<T>(T*, const T*, int64_t, int64_t, int64_t, const T*,  \
                                            const T*, T);                                       \
  template void attention_dropout<T>(const T*, T*, int64_t, int64_t, int64_t, uint64_t,         \
                                     uint64_t, int64_t, uint32_t, T);                           \
  template void attention_row_dots<T>(const T*, int64_t, const T*, int64_t, int64_t, int64_t,  \
                                      T*);                                                      \
  template void attention_finish_rows<T>(const T*, int64_t, const T*, const T*, int64_t,       \
                                         int64_t, T*, int64_t, T*);
FASTDL_INSTANTIATE_ATTENTION_KERNELS(float)
FASTDL_INSTANTIATE_ATTENTION_KERNELS(double)
#undef FASTDL_INSTANTIATE_ATTENTION_KERNELS

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
