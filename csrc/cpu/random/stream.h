#pragma once
// fastdl's counter-based random stream on the CPU, which dropout's masks and the random fills
// (fastdl/random.h) draw from: word(key, i) is a 32-bit number that depends only on a 64-bit key
// and the index i, so an array filled from it is the same whatever thread computes which part,
// in whatever order, on whatever ISA.
//
//   word(key, i) = mix32(mix32(lo32(i) ^ k0) ^ k1)
//   k1 = hi32(key),  k0 = lo32(key) ^ mix32(hi32(i) + 0x9e3779b9)
//
// For one key and one high half of the index, word is a bijection of the low half: 2^32
// consecutive words never repeat. The key is xored in, not hashed: keys must be uniformly random
// 64-bit numbers (fastdl draws them from NumPy's generator or derives them with SplitMix64), as
// two keys a few bits apart would give streams that are permutations of each other.
//
// Not a public header: the per-ISA kernel sources include it, so it lives in the ISA's namespace
// like fastdl/simd.h (one copy per instruction set, which the linker cannot mix up).
#include <algorithm>
#include <cstdint>

#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

// A 32-bit integer hash with full avalanche (two multiply-xorshift rounds, constants from
// Wellons' hash-prospector search for low bias).
inline uint32_t mix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352dU;
  h ^= h >> 15;
  h *= 0x846ca68bU;
  h ^= h >> 16;
  return h;
}

// words[j] = word(key, first + j) for j in [0, n). One loop of 32-bit integer arithmetic per
// run of indices sharing their high half, which the compiler vectorizes for the target ISA.
inline void stream_words(uint64_t key, uint64_t first, int64_t n, uint32_t* words) {
  const uint32_t k1 = static_cast<uint32_t>(key >> 32);
  for (int64_t done = 0; done < n;) {
    const uint64_t index = first + static_cast<uint64_t>(done);
    const uint32_t base = static_cast<uint32_t>(index);
    const uint32_t k0 =
        static_cast<uint32_t>(key) ^ mix32(static_cast<uint32_t>(index >> 32) + 0x9e3779b9U);
    // Up to the next multiple of 2^32, where the high half changes.
    const int64_t run = std::min(n - done, (int64_t{1} << 32) - static_cast<int64_t>(base));
    uint32_t* __restrict out = words + done;
    for (int64_t j = 0; j < run; ++j) {
      out[j] = mix32(mix32((base + static_cast<uint32_t>(j)) ^ k0) ^ k1);
    }
    done += run;
  }
}

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
