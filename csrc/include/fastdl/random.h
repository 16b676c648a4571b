#pragma once
// Random fills from a counter-based stream: value i of an array depends only on (key, i), so a
// key gives the same array whatever the thread count or the ISA. The CPU draws from the stream
// of csrc/cpu/random/stream.h (dropout's), the GPU from Philox4x32-10 (cuda/philox.cuh); both
// devices lay the stream's 32-bit words out the same way:
//
//   float32 uniform     element i        <- word i: its top 24 bits
//   float64 uniform     element i        <- words 2i (high half), 2i + 1: the top 53 bits
//   integers            element i        <- words 2i, 2i + 1 as one 64-bit number
//   float32 normal      elements 2j, 2j+1 <- words 2j (radius), 2j + 1 (angle)
//   float64 normal      elements 2j, 2j+1 <- words 4j, 4j + 1 (radius), 4j + 2, 4j + 3 (angle)
//
// Normals come in pairs from the Box-Muller transform: with u in (0, 1] from the radius words
// and a turn t in [0, 1) from the angle words, r = sqrt(-2 ln u) and the pair is
// (r cos 2 pi t, r sin 2 pi t). A truncated normal outside [-2, 2] standard deviations is drawn
// again from its pair under redraw_key(key, 1), then 2, ... until it falls inside.
//
// Keys should be uniformly random 64-bit numbers (see csrc/cpu/random/stream.h).
#include <cstdint>

namespace fastdl {

// The key of the round-th redraw: the key advanced `round` times by the 64-bit golden ratio.
constexpr uint64_t redraw_key(uint64_t key, uint32_t round) {
  return key + uint64_t{round} * 0x9e3779b97f4a7c15ULL;
}

// out[i] uniform on [low, high) (low <= high, high - low finite): low + u (high - low), clamped
// below high, where rounding would reach it.
template <class T>
void random_uniform(T* out, int64_t n, uint64_t key, T low, T high);

// out[i] = mean + stddev z, z standard normal.
template <class T>
void random_normal(T* out, int64_t n, uint64_t key, T mean, T stddev);

// The same with z a standard normal conditioned on |z| <= 2.
template <class T>
void random_truncated_normal(T* out, int64_t n, uint64_t key, T mean, T stddev);

// out[i] uniform on the integers [low, high) (low < high, both representable in I): low +
// floor(b (high - low) / 2^64) for 64 random bits b, which favours some values over others by
// at most (high - low) / 2^64 (below 2^-32 for int32 ranges).
template <class I>
void random_integers(I* out, int64_t n, uint64_t key, int64_t low, int64_t high);

}  // namespace fastdl
