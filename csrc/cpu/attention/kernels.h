#pragma once
// The ISA-specific part of attention: the softmax arithmetic on a tile of scores, row by row,
// vectorized along the row. Each kernel exists once per ISA (kernels.cpp compiled into
// fastdl::generic, fastdl::avx2 and fastdl::avx512); the tiling, the products (GEMM) and the
// masks (attention.cpp) are shared. Row r of a tile starts at r * ld.
#include <cstdint>

namespace fastdl {

#define FASTDL_DECLARE_ATTENTION_KERNELS(isa)                                                   \
  namespace isa {                                                                               \
  /* One key tile of the online softmax: with m[r] the largest score seen so far in row r and  \
     l[r] the sum of exp(score - m[r]), each row of s becomes exp(s - m_new) (0 where masked,   \
     and the whole row 0 while every score seen is masked), l and o's row are rescaled to      \
     m_new, and the row's new terms added to l. */                                              \
  template <class T>                                                                            \
  void attention_online_softmax(T* s, int64_t rows, int64_t cols, int64_t lds, T* m, T* l,     \
                                T* o, int64_t ldo, int64_t o_cols);                             \
  /* s = exp(s - lse[r]) in place: the probabilities again (0 where masked or lse is +inf). */  \
  template <class T>                                                                            \
  void attention_probabilities(T* s, int64_t rows, int64_t cols, int64_t lds, const T* lse);    \
  /* p becomes p * (dp - delta[r]): the scores' gradient. With dropout, `kept` holds the       \
     dropped-out probabilities and dp, the gradient of those, is first taken back through the  \
     dropout: times `scale` where kept > 0, else 0 (where p is 0 the product is 0 anyway). */  \
  template <class T>                                                                            \
  void attention_score_gradient(T* p, const T* dp, int64_t rows, int64_t cols, int64_t ld,      \
                                const T* delta, const T* kept, T scale);                        \
  /* out = in * scale where the dropout mask keeps the element, else 0 (in may be out): row r's \
     element c is element first + r * row_step + c of the stream dropout_forward draws from. */ \
  template <class T>                                                                            \
  void attention_dropout(const T* in, T* out, int64_t rows, int64_t cols, int64_t ld,          \
                         uint64_t seed, uint64_t first, int64_t row_step, uint32_t threshold,  \
                         T scale);                                                              \
  /* out[r] = sum of a[r, :] * b[r, :] over cols. */                                             \
  template <class T>                                                                            \
  void attention_row_dots(const T* a, int64_t lda, const T* b, int64_t ldb, int64_t rows,       \
                          int64_t cols, T* out);                                                \
  /* out's row = o's row / l[r] (zeros where l[r] is 0), and lse[r] = m[r] + log(l[r]) (+inf   \
     where l[r] is 0). */                                                                       \
  template <class T>                                                                            \
  void attention_finish_rows(const T* o, int64_t ldo, const T* m, const T* l, int64_t rows,     \
                             int64_t cols, T* out, int64_t ldout, T* lse);                      \
  }

FASTDL_DECLARE_ATTENTION_KERNELS(generic)
FASTDL_DECLARE_ATTENTION_KERNELS(avx2)
FASTDL_DECLARE_ATTENTION_KERNELS(avx512)
#undef FASTDL_DECLARE_ATTENTION_KERNELS

}  // namespace fastdl
