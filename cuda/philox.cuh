#pragma once
// The GPU's counter-based random stream, which dropout's masks and the random fills draw from:
// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011). One evaluation turns a 128-bit counter and a 64-bit key into four 32-bit words, so
// word w of the stream, word w % 4 of the evaluation at counter w / 4, depends on the key and w
// alone: each thread computes its own, with no state to carry and the same values for any
// launch shape.
#include <cuda_runtime.h>

#include <cstdint>

namespace fastdl::cuda {

// Ten rounds of two 32x32 -> 64-bit multiplications, the key bumped by the Weyl constants
// between rounds. Known answers (Random123's kat_vectors) are checked by the tests through
// dropout's mask.
__device__ __forceinline__ uint4 philox4x32_10(uint4 counter, uint2 key) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key.x += kWeyl0;
      key.y += kWeyl1;
    }
    const uint64_t p0 = uint64_t(kMul0) * counter.x, p1 = uint64_t(kMul1) * counter.z;
    counter = make_uint4(uint32_t(p1 >> 32) ^ counter.y ^ key.x, uint32_t(p1),
                         uint32_t(p0 >> 32) ^ counter.w ^ key.y, uint32_t(p0));
  }
  return counter;
}

// A 64-bit key as Philox takes it: low half first.
__host__ __device__ __forceinline__ uint2 philox_key(uint64_t key) {
  return make_uint2(uint32_t(key), uint32_t(key >> 32));
}

// Words 4 * group ... 4 * group + 3 of the stream under `key`.
__device__ __forceinline__ uint4 words_of_group(int64_t group, uint2 key) {
  const uint64_t g = static_cast<uint64_t>(group);
  return philox4x32_10(make_uint4(uint32_t(g), uint32_t(g >> 32), 0u, 0u), key);
}

}  // namespace fastdl::cuda
