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

}  // namespace fastdl::cuda
