#pragma once
// The ISA-specific part of dropout: one pass over a contiguous range of elements, compiled once
// per ISA from kernels.cpp. `first` is the range's global index, which the random
// stream is keyed on.
#include <cstdint>

namespace fastdl {

#define FASTDL_DECLARE_DROPOUT_KERNELS(isa)                                                    \
  namespace isa {                                                                              \
  template <class T>                                                                           \
  void dropout_forward_kernel(const T* x, T* y, uint8_t* keep, int64_t n, int64_t first,       \
                              uint32_t threshold, uint64_t seed, T scale);                     \
  template <class T>                                                                           \
  void dropout_backward_kernel(const T* dy, const uint8_t* keep, T* dx, int64_t n, T scale);   \
  }

FASTDL_DECLARE_DROPOUT_KERNELS(generic)
FASTDL_DECLARE_DROPOUT_KERNELS(avx2)
FASTDL_DECLARE_DROPOUT_KERNELS(avx512)
#undef FASTDL_DECLARE_DROPOUT_KERNELS

}  // namespace fastdl
