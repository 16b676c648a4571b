#pragma once
// The ISA-specific part of the parameter updates: one pass over a contiguous range, once per ISA
// (optim_kernels_impl.h compiled into fastdl::generic and fastdl::avx2); the split across
// threads (optim.cpp) is shared.
#include <cstdint>

namespace fastdl {

#define FASTDL_DECLARE_OPTIM_KERNELS(isa)                 \
  namespace isa {                                         \
  template <class T>                                      \
  void axpy_kernel(int64_t n, T alpha, const T* x, T* y); \
  }

FASTDL_DECLARE_OPTIM_KERNELS(generic)
FASTDL_DECLARE_OPTIM_KERNELS(avx2)
#undef FASTDL_DECLARE_OPTIM_KERNELS

}  // namespace fastdl
