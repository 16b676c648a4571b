#pragma once
// Device side, shared by every .cu file: grid sizes and warp reductions.
#include <algorithm>

#include "common.h"

namespace fastdl::cuda {

// Blocks for a grid-stride loop over `n` items with `threads` per block: enough to fill the GPU
// several times over, no more (each thread then handles several items).
inline unsigned grid_for(int64_t n, int threads) {
  constexpr int64_t kMaxBlocks = 132 * 32;  // 32 blocks per multiprocessor of an H100
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(ceil_div(n, threads), kMaxBlocks)));
}

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ inline float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// True when p is aligned for 16-byte (float4) loads and stores.
__host__ __device__ inline bool aligned16(const void* p) {
  return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0;
}

// N consecutive floats, moved with one 16-byte access when N == 4.
template <int N>
struct Pack {
  float v[N];
};

template <int N>
__device__ __forceinline__ Pack<N> load(const float* p) {
  static_assert(N == 1 || N == 4, "a Pack is one float or one float4");
  if constexpr (N == 4) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    return {{q.x, q.y, q.z, q.w}};
  } else {
    return {{*p}};
  }
}

template <int N>
__device__ __forceinline__ void store(float* p, const Pack<N>& a) {
  if constexpr (N == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(a.v[0], a.v[1], a.v[2], a.v[3]);
  } else {
    *p = a.v[0];
  }
}

}  // namespace fastdl::cuda
