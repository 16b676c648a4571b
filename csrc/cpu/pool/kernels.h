#pragma once
// The ISA-specific part of the pooling family: whole rows, vectorized across channels. Each kernel
// exists once per ISA (kernels.cpp compiled into fastdl::generic, fastdl::avx2 and
// fastdl::avx512); the splitting of rows across threads (pool.cpp) is shared.
//
// Forward kernels produce the output rows [begin, end) of the flattened (batch, out_height)
// index; backward kernels produce the input-gradient rows [begin, end) of the flattened
// (batch, height) index, each element written exactly once (gathered from the windows that cover
// it), so that threads given different rows never write the same element.
#include <cstdint>

#include "fastdl/pool.h"

namespace fastdl {

#define FASTDL_DECLARE_POOL_KERNELS(isa)                                                        \
  namespace isa {                                                                               \
  /* argmax may be null: then only the maxima are computed. */                                  \
  template <class T>                                                                            \
  void max_pool2d_rows(const T* x, T* y, int32_t* argmax, const Pool2dShape& s, int64_t begin, \
                       int64_t end);                                                            \
  template <class T>                                                                            \
  void max_pool2d_backward_rows(const T* dy, const int32_t* argmax, T* dx,                      \
                                const Pool2dShape& s, int64_t begin, int64_t end);              \
  /* Output row `row` of max pooling with its argmax, reading input row h of the row's image */ \
  /* at rows + (h - first_h) * width * channels (a convolution's rows, pooled in cache). */      \
  template <class T>                                                                            \
  void max_pool2d_row_from(const T* rows, int64_t first_h, T* y, int32_t* argmax,               \
                           const Pool2dShape& s, int64_t row);                                  \
  /* Input-gradient row `row` (flat over batch, height) of max pooling, written to dx_row. */   \
  template <class T>                                                                            \
  void max_pool2d_backward_row_to(const T* dy, const int32_t* argmax, const Pool2dShape& s,     \
                                  int64_t row, T* dx_row);                                      \
  template <class T>                                                                            \
  void avg_pool2d_rows(const T* x, T* y, const Pool2dShape& s, int64_t begin, int64_t end);     \
  template <class T>                                                                            \
  void avg_pool2d_backward_rows(const T* dy, T* dx, const Pool2dShape& s, int64_t begin,        \
                                int64_t end);                                                   \
  }

FASTDL_DECLARE_POOL_KERNELS(generic)
FASTDL_DECLARE_POOL_KERNELS(avx2)
FASTDL_DECLARE_POOL_KERNELS(avx512)
#undef FASTDL_DECLARE_POOL_KERNELS

}  // namespace fastdl
