#pragma once
// The ISA-specific part of the random fills: a contiguous range of an array, compiled once per
// ISA from kernels.cpp. `first` is the range's index in the whole array, which the
// stream is keyed on; for normals it is even (a range holds whole pairs, but the last one of the
// array may lack its second element).
#include <cstdint>

namespace fastdl {

#define FASTDL_DECLARE_RANDOM_KERNELS(isa)                                                     \
  namespace isa {                                                                              \
  template <class T>                                                                           \
  void uniform_kernel(T* out, int64_t n, int64_t first, uint64_t key, T low, T span,           \
                      T below_high);                                                           \
  template <class T>                                                                           \
  void normal_kernel(T* out, int64_t n, int64_t first, uint64_t key, T mean, T stddev,         \
                     bool truncated);                                                          \
  template <class I>                                                                           \
  void integers_kernel(I* out, int64_t n, int64_t first, uint64_t key, int64_t low,            \
                       uint64_t span);                                                         \
  }

FASTDL_DECLARE_RANDOM_KERNELS(generic)
FASTDL_DECLARE_RANDOM_KERNELS(avx2)
FASTDL_DECLARE_RANDOM_KERNELS(avx512)
#undef FASTDL_DECLARE_RANDOM_KERNELS

}  // namespace fastdl
