#pragma once
// The ISA-specific part of the normalization family: whole rows, vectorized along each row.
// Each kernel exists once per ISA (kernels.cpp compiled into fastdl::generic, fastdl::avx2 and
// fastdl::avx512); the splitting of rows across threads (norm.cpp) is shared. cols >= 1.
#include <cstdint>

#include "fastdl/norm.h"

namespace fastdl {

#define FASTDL_DECLARE_NORM_KERNELS(isa)                                                        \
  namespace isa {                                                                               \
  /* With `stream`, y is written past the caches where its rows allow (aligned, no partial     \
     vector). */                                                                                \
  template <class T>                                                                            \
  void norm_forward_rows(NormKind kind, const T* x, int64_t rows, int64_t cols, const T* gamma, \
                         const T* beta, T eps, T* y, T* rstd, bool stream);                     \
  /* dx of the rows (streamed as y is, the rows then one at a time); where not null,          \
     dgamma_sum and dbeta_sum [cols] have the rows' terms added to them, a few rows at a time,  \
     in the rows' order. */                                                                     \
  template <class T>                                                                            \
  void norm_backward_rows(NormKind kind, const T* dy, const T* x, int64_t rows, int64_t cols,  \
                          const T* gamma, const T* rstd, T* dx, T* dgamma_sum, T* dbeta_sum,    \
                          bool stream);                                                         \
  }

FASTDL_DECLARE_NORM_KERNELS(generic)
FASTDL_DECLARE_NORM_KERNELS(avx2)
FASTDL_DECLARE_NORM_KERNELS(avx512)
#undef FASTDL_DECLARE_NORM_KERNELS

}  // namespace fastdl
