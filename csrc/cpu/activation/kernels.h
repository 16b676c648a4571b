#pragma once
// The ISA-specific part of the elementwise activations: one pass over a contiguous range. Each
// exists once per ISA (kernels.cpp compiled into fastdl::generic, fastdl::avx2 and
// fastdl::avx512); the splitting across threads around them (activation.cpp) is shared.
#include <cstdint>

#include "fastdl/activation.h"

namespace fastdl {

#define FASTDL_DECLARE_ACTIVATION_KERNELS(isa)                                                  \
  namespace isa {                                                                               \
  /* y[i] = act(x[i]) for i < n; x and y may be the same array. With `stream`, y is written   \
     past the caches (an output too large to stay in them). */                                  \
  template <class T>                                                                            \
  void activation_forward_kernel(Activation act, const T* x, T* y, int64_t n, T alpha,          \
                                 bool stream);                                                  \
  /* dx[i] = dy[i] * act'(saved[i]) for i < n; dx and dy may be the same array. */              \
  template <class T>                                                                            \
  void activation_backward_kernel(Activation act, const T* dy, const T* saved, T* dx, int64_t n, \
                                  T alpha, bool stream);                                        \
  }

FASTDL_DECLARE_ACTIVATION_KERNELS(generic)
FASTDL_DECLARE_ACTIVATION_KERNELS(avx2)
FASTDL_DECLARE_ACTIVATION_KERNELS(avx512)
#undef FASTDL_DECLARE_ACTIVATION_KERNELS

}  // namespace fastdl
