#pragma once
// From the stream's 32-bit words to numbers (the layout is fastdl/random.h's): uniform floats
// with 24 or 53 random bits, integers in a range, and the pieces of the Box-Muller transform.
// The float32 logarithm, sine and cosine are polynomials evaluated branch-free with integer
// range reduction, so that loops over them vectorize; float64 uses the C library, as its
// polynomials would not be worth their length here.
//
// Not a public header: compiled per ISA through kernels.cpp, which turns off
// floating-point contraction so that every ISA computes the same bits.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

// 64 random bits from two words, the first one the high half.
inline uint64_t join_words(uint32_t high, uint32_t low) { return (uint64_t{high} << 32) | low; }

// Uniform on [0, 1): the top 24 bits of a word, scaled exactly. (Through int32, which converts
// to float in one instruction on every ISA, unlike uint32.)
inline float unit_float(uint32_t word) {
  return static_cast<float>(static_cast<int32_t>(word >> 8)) * 0x1p-24f;
}

// Uniform on [0, 1): the top 53 of 64 bits, scaled exactly.
inline double unit_double(uint64_t bits) {
  return static_cast<double>(static_cast<int64_t>(bits >> 11)) * 0x1p-53;
}

// Uniform on (0, 1] with 24 random bits, never 0: the radius of Box-Muller takes its logarithm.
inline float positive_unit_float(uint32_t word) {
  return static_cast<float>(static_cast<int32_t>(word >> 8) + 1) * 0x1p-24f;
}

inline double positive_unit_double(uint64_t bits) {
  return (static_cast<double>(static_cast<int64_t>(bits >> 11)) + 1.0) * 0x1p-53;
}

// Uniform on [0, 1) as T, from the words of value j (one word for float, two for double).
template <class T>
T unit_value(const uint32_t* words, int64_t j);

template <>
inline float unit_value<float>(const uint32_t* words, int64_t j) {
  return unit_float(words[j]);
}

template <>
inline double unit_value<double>(const uint32_t* words, int64_t j) {
  return unit_double(join_words(words[2 * j], words[2 * j + 1]));
}

// floor(bits * span / 2^64): 64 random bits spread over [0, span), by 32-bit limbs.
inline uint64_t scale_to_span(uint64_t bits, uint64_t span) {
  const uint64_t b_lo = static_cast<uint32_t>(bits), b_hi = bits >> 32;
  const uint64_t s_lo = static_cast<uint32_t>(span), s_hi = span >> 32;
  const uint64_t lo_lo = b_lo * s_lo, hi_lo = b_hi * s_lo, lo_hi = b_lo * s_hi;
  // At most (2^32 - 1) * 2 + (2^32 - 1)^2 = 2^64 - 1: no overflow.
  const uint64_t middle = (lo_lo >> 32) + static_cast<uint32_t>(hi_lo) + lo_hi;
  return b_hi * s_hi + (hi_lo >> 32) + (middle >> 32);
}

inline float float_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t bits_of(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// -2 ln(u) for a normal float u in (0, 1]. u = 2^e m with m in [sqrt(1/2), sqrt(2)), found from
// the bits (the comparison with sqrt(2) on the mantissa's integer bits, which vectorizes where
// a float comparison, which may trap, does not); ln(m) = ln(1 + x) by Cephes' logf polynomial,
// ln 2 split in two so that e ln 2 adds no rounding error. Under one ulp over all 2^24 inputs.
inline float minus_two_log(float u) {
  const uint32_t bits = bits_of(u);
  const uint32_t mantissa = bits & 0x7fffffU;
  const uint32_t above_sqrt2 = mantissa > 0x3504f3U;  // sqrt(2) = 0x3fb504f3
  const float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - 127 +
                                     static_cast<int32_t>(above_sqrt2));
  const float x = float_from_bits(mantissa | (above_sqrt2 ? 0x3f000000U : 0x3f800000U)) - 1.0f;
  const float z = x * x;
  float p = 7.0376836292e-2f;
  p = p * x - 1.1514610310e-1f;
  p = p * x + 1.1676998740e-1f;
  p = p * x - 1.2420140846e-1f;
  p = p * x + 1.4249322787e-1f;
  p = p * x - 1.6668057665e-1f;
  p = p * x + 2.0000714765e-1f;
  p = p * x - 2.4999993993e-1f;
  p = p * x + 3.3333331174e-1f;
  const float log_u = (x + (p * x * z + e * -2.12194440e-4f - 0.5f * z)) + e * 0.693359375f;
  return -2.0f * log_u;
}

// cos and sin of the angle 2 pi word / 2^32. The range reduction is exact, in integers: adding
// an eighth of a turn, the top two bits give the quadrant q and the other 30 an angle a in
// [-pi/4, pi/4), where Cephes' sinf and cosf polynomials hold; then a quarter turn q times.
inline void cos_sin_of_turn(uint32_t word, float& cos_out, float& sin_out) {
  const uint32_t shifted = word + (1U << 29);
  const uint32_t quadrant = shifted >> 30;
  const float a = static_cast<float>(static_cast<int32_t>(shifted & 0x3fffffffU) - (1 << 29)) *
                  1.4629180792671596e-9f;  // (pi / 2) / 2^30
  const float z = a * a;
  const float sin_a =
      ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * a + a;
  const float cos_a =
      ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z -
      0.5f * z + 1.0f;
  // cos(q pi/2 + a), sin(q pi/2 + a): quadrants 1 and 3 swap cos and sin; the cosine is
  // negative in quadrants 1 and 2, the sine in 2 and 3.
  const uint32_t odd = quadrant & 1U;
  const float c = odd ? sin_a : cos_a, s = odd ? cos_a : sin_a;
  cos_out = ((quadrant + 1U) & 2U) ? -c : c;
  sin_out = (quadrant & 2U) ? -s : s;
}

// The float64 pair of Box and Muller (1958) from 64 radius bits and 64 angle bits.
inline void box_muller(uint64_t radius_bits, uint64_t angle_bits, double& z0, double& z1) {
  const double r = std::sqrt(-2.0 * std::log(positive_unit_double(radius_bits)));
  const double angle = 6.283185307179586 * unit_double(angle_bits);
  z0 = r * std::cos(angle);
  z1 = r * std::sin(angle);
}

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
