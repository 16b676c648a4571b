#pragma once
// Runs of contiguous elements (a pixel's channels, a kernel row's taps) copied, added or zeroed
// one vector at a time, the last partial vector masked: what the im2col and direct kernels
// share. Compiled per ISA with them, into fastdl::<isa>; internal to the CPU kernels.
#include <cstdint>

#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

// dst[i] = src[i] (Copy) or dst[i] += src[i] (Add) for i < n.
template <class T, bool Add>
inline void move_run(const T* src, T* dst, int64_t n) {
  constexpr int W = Vec<T>::width;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    Vec<T> v = Vec<T>::load(src + i);
    if constexpr (Add) v = v + Vec<T>::load(dst + i);
    v.store(dst + i);
  }
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    Vec<T> v = Vec<T>::load(src + i, rest);
    if constexpr (Add) v = v + Vec<T>::load(dst + i, rest);
    v.store(dst + i, rest);
  }
}

template <class T>
inline void zero_run(T* dst, int64_t n) {
  constexpr int W = Vec<T>::width;
  const Vec<T> zero(T(0));
  int64_t i = 0;
  for (; i + W <= n; i += W) zero.store(dst + i);
  if (i < n) zero.store(dst + i, static_cast<int>(n - i));
}

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
