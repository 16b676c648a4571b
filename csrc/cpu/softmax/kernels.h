#pragma once
// The ISA-specific part of the softmax family: whole rows, vectorized along each row. Each kernel
// exists once per ISA (kernels.cpp compiled into fastdl::generic, fastdl::avx2 and
// fastdl::avx512); the splitting of rows across threads (softmax.cpp) is shared. cols >= 1.
#include <cstdint>

namespace fastdl {

#define FASTDL_DECLARE_SOFTMAX_KERNELS(isa)                                                     \
  namespace isa {                                                                               \
  template <class T>                                                                            \
  void softmax_rows(const T* x, T* y, int64_t rows, int64_t cols, bool log);                    \
  template <class T>                                                                            \
  void softmax_backward_rows(const T* dy, const T* y, T* dx, int64_t rows, int64_t cols,        \
                             bool log);                                                         \
  /* row_loss[r] = -log softmax(logits)[r, labels[r]]; when dlogits is not null it receives   \
     (softmax - onehot) * grad_scale. */                                                        \
  template <class T>                                                                            \
  void cross_entropy_rows(const T* logits, const int64_t* labels, T* dlogits, int64_t rows,    \
                          int64_t cols, T grad_scale, double* row_loss);                        \
  }

FASTDL_DECLARE_SOFTMAX_KERNELS(generic)
FASTDL_DECLARE_SOFTMAX_KERNELS(avx2)
FASTDL_DECLARE_SOFTMAX_KERNELS(avx512)
#undef FASTDL_DECLARE_SOFTMAX_KERNELS

}  // namespace fastdl
