// Random fill kernels; CMake compiles this file once per ISA (generic, avx2, avx512), each copy
// in its own namespace. Each kernel works through its range in chunks that stay in L1, a few
// passes per chunk, each a loop the compiler vectorizes: the stream's words, then the transforms
// of transforms.h, then the scaling into the output.
//
// Every ISA must compute the same bits, so floating-point contraction is off in this
// translation unit: GCC would otherwise fuse the polynomials' multiply-adds into FMA
// instructions where the ISA has them (AVX2) and round twice where it does not (the portable
// build). The pragma comes before any include so that the inline functions of the headers get
// the same options and still inline.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "fastdl/random.h"
#include "fastdl/simd.h"
#include "random/kernels.h"
#include "random/stream.h"
#include "random/transforms.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

// Values per chunk: the words and intermediate arrays of one chunk take a few KiB.
constexpr int64_t kChunk = 256;

// v[i] = sqrt(v[i]) with the ISA's vector square root (a loop calling std::sqrt does not
// vectorize: the compiler keeps its errno path).
template <class T>
void sqrt_in_place(T* v, int64_t n) {
  constexpr int W = Vec<T>::width;
  for (int64_t i = 0; i < n; i += W) {
    const int lanes = static_cast<int>(std::min<int64_t>(W, n - i));
    store_lanes(sqrt(load_lanes(v + i, lanes)), v + i, lanes);
  }
}

// z[0, 2 pairs) = the standard normals of pairs [first_pair, first_pair + pairs) under `key`;
// pairs <= kChunk / 2.
void standard_normal_pairs(float* z, uint64_t key, int64_t first_pair, int64_t pairs) {
  uint32_t words[kChunk];
  float radius[kChunk / 2], cos_t[kChunk / 2], sin_t[kChunk / 2];
  stream_words(key, static_cast<uint64_t>(2 * first_pair), 2 * pairs, words);
  for (int64_t k = 0; k < pairs; ++k) {
    radius[k] = minus_two_log(positive_unit_float(words[2 * k]));
    cos_sin_of_turn(words[2 * k + 1], cos_t[k], sin_t[k]);
  }
  sqrt_in_place(radius, pairs);
  for (int64_t k = 0; k < pairs; ++k) {
    z[2 * k] = radius[k] * cos_t[k];
    z[2 * k + 1] = radius[k] * sin_t[k];
  }
}

void standard_normal_pairs(double* z, uint64_t key, int64_t first_pair, int64_t pairs) {
  uint32_t words[2 * kChunk];
  stream_words(key, static_cast<uint64_t>(4 * first_pair), 4 * pairs, words);
  for (int64_t k = 0; k < pairs; ++k) {
    box_muller(join_words(words[4 * k], words[4 * k + 1]),
               join_words(words[4 * k + 2], words[4 * k + 3]), z[2 * k], z[2 * k + 1]);
  }
}

// Draws the values of z outside [-2, 2] again, each from its pair under the next redraw key
// until it falls inside. z holds the values from element `first` (even) on. A value is redrawn
// with probability 4.6%, ten times in a row once in 10^13 values.
template <class T>
void redraw_outside_two(T* z, int64_t n, int64_t first, uint64_t key) {
  for (int64_t j = 0; j < n; ++j) {
    for (uint32_t round = 1; std::abs(z[j]) > T(2); ++round) {
      T pair[2];
      standard_normal_pairs(pair, redraw_key(key, round), (first + j) / 2, 1);
      z[j] = pair[j & 1];
    }
  }
}

}  // namespace

template <class T>
void uniform_kernel(T* out, int64_t n, int64_t first, uint64_t key, T low, T span,
                    T below_high) {
  constexpr int64_t kWords = sizeof(T) / sizeof(uint32_t);  // per value
  uint32_t words[kWords * kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    stream_words(key, static_cast<uint64_t>(kWords * (first + i)), kWords * len, words);
    T* __restrict o = out + i;
    for (int64_t j = 0; j < len; ++j) {
      const T v = unit_value<T>(words, j) * span + low;
      o[j] = v < below_high ? v : below_high;
    }
  }
}

template <class T>
void normal_kernel(T* out, int64_t n, int64_t first, uint64_t key, T mean, T stddev,
                   bool truncated) {
  T z[kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    standard_normal_pairs(z, key, (first + i) / 2, (len + 1) / 2);
    if (truncated) redraw_outside_two(z, len, first + i, key);
    T* __restrict o = out + i;
    for (int64_t j = 0; j < len; ++j) o[j] = z[j] * stddev + mean;
  }
}

template <class I>
void integers_kernel(I* out, int64_t n, int64_t first, uint64_t key, int64_t low,
                     uint64_t span) {
  uint32_t words[2 * kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    stream_words(key, static_cast<uint64_t>(2 * (first + i)), 2 * len, words);
    I* __restrict o = out + i;
    for (int64_t j = 0; j < len; ++j) {
      // In uint64, where wrapping is defined; the sum is in [low, high), which I holds.
      const uint64_t offset = scale_to_span(join_words(words[2 * j], words[2 * j + 1]), span);
      o[j] = static_cast<I>(static_cast<int64_t>(static_cast<uint64_t>(low) + offset));
    }
  }
}

template void uniform_kernel<float>(float*, int64_t, int64_t, uint64_t, float, float, float);
template void uniform_kernel<double>(double*, int64_t, int64_t, uint64_t, double, double,
                                     double);
template void normal_kernel<float>(float*, int64_t, int64_t, uint64_t, float, float, bool);
template void normal_kernel<double>(double*, int64_t, int64_t, uint64_t, double, double, bool);
template void integers_kernel<int32_t>(int32_t*, int64_t, int64_t, uint64_t, int64_t, uint64_t);
template void integers_kernel<int64_t>(int64_t*, int64_t, int64_t, uint64_t, int64_t, uint64_t);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
