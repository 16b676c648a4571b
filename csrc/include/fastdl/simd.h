#pragma once
// One SIMD vocabulary, three implementations. Translation units compiled for AVX-512 (-mavx512f
// -mavx512bw -mavx512dq -mavx512vl, FASTDL_ISA_AVX512=1) get 512-bit vectors; those compiled with
// -mavx2 -mfma (FASTDL_ISA_AVX2=1) get 256-bit vectors; every other unit gets a one-lane scalar
// vector that the compiler is free to auto-vectorize for whatever the baseline ISA is. Kernel
// code written against Vec<T> is compiled once per ISA, and each copy lives in its own namespace
// (fastdl::avx512, fastdl::avx2 or fastdl::generic) so the linker can never mix them.
//
// NaN semantics follow the x86 instructions on both sides: min/max return their second operand
// when either operand is NaN, so max(Vec(lo), x) keeps a NaN in x.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// For helpers that take a micro-kernel's accumulators by reference: if such a helper were not
// inlined, the accumulators would have to live in memory for the whole K loop.
#if defined(__GNUC__) || defined(__clang__)
#define FASTDL_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FASTDL_ALWAYS_INLINE inline
#endif

#if FASTDL_ISA_AVX512
// GCC 12 reports the intrinsics' own `_mm512_undefined_*` placeholders (initialized from
// themselves, on purpose) as used uninitialized once they are inlined into a kernel: silenced for
// the header's lines only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#define FASTDL_ISA_NS avx512
#elif FASTDL_ISA_AVX2
#include <immintrin.h>
#define FASTDL_ISA_NS avx2
#else
#define FASTDL_ISA_NS generic
#endif

namespace fastdl {
namespace FASTDL_ISA_NS {

template <class T>
struct Vec;

// int32 indices riding along a Vec<T>, one per lane: kernels that track where a value came from
// (max pooling's argmax) blend them with the masks of Vec<T> comparisons and store them as int32.
template <class T>
struct IndexVec;

#if FASTDL_ISA_AVX512

// AVX-512 (F, BW, DQ, VL). Comparisons give all-ones / all-zeros lanes, as on AVX2, so that
// kernels keep one vocabulary; tails use mask registers, which read and write nothing past the
// lanes asked for.
template <>
struct Vec<float> {
  static constexpr int width = 16;
  __m512 v;

  Vec() = default;
  Vec(__m512 x) : v(x) {}
  explicit Vec(float x) : v(_mm512_set1_ps(x)) {}

  static __mmask16 tail_mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static Vec load(const float* p, int n) { return _mm512_maskz_loadu_ps(tail_mask(n), p); }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
  void store(float* p, int n) const { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
  // A store that bypasses the caches; p aligned to the vector (see stream_fence).
  void stream(float* p) const { _mm512_stream_ps(p, v); }
  static Vec from_mask(__mmask16 k) { return _mm512_castsi512_ps(_mm512_movm_epi32(k)); }
  __mmask16 to_mask() const { return _mm512_movepi32_mask(_mm512_castps_si512(v)); }
  // Lanes [0, n) set: a mask for select()/mask_and() on the lanes a masked load left at 0.
  static Vec first_lanes(int n) { return from_mask(tail_mask(n)); }

  friend Vec operator+(Vec a, Vec b) { return _mm512_add_ps(a.v, b.v); }
  friend Vec operator-(Vec a, Vec b) { return _mm512_sub_ps(a.v, b.v); }
  friend Vec operator*(Vec a, Vec b) { return _mm512_mul_ps(a.v, b.v); }
  friend Vec operator/(Vec a, Vec b) { return _mm512_div_ps(a.v, b.v); }
  friend Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a.v, b.v, c.v); }
  friend Vec fnma(Vec a, Vec b, Vec c) { return _mm512_fnmadd_ps(a.v, b.v, c.v); }  // c - a*b
  friend Vec min(Vec a, Vec b) { return _mm512_min_ps(a.v, b.v); }
  friend Vec max(Vec a, Vec b) { return _mm512_max_ps(a.v, b.v); }
  friend Vec abs(Vec a) { return _mm512_abs_ps(a.v); }
  friend Vec sqrt(Vec a) { return _mm512_sqrt_ps(a.v); }
  friend Vec round(Vec a) {
    return _mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }

  friend Vec operator<(Vec a, Vec b) {
    return from_mask(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ));
  }
  friend Vec operator>(Vec a, Vec b) {
    return from_mask(_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ));
  }
  friend Vec operator<=(Vec a, Vec b) {
    return from_mask(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ));
  }
  friend Vec is_nan(Vec a) { return from_mask(_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q)); }
  friend Vec select(Vec mask, Vec a, Vec b) {
    return _mm512_mask_blend_ps(mask.to_mask(), b.v, a.v);
  }
  friend Vec mask_and(Vec mask, Vec a) { return _mm512_and_ps(mask.v, a.v); }  // mask ? a : 0

  // a * 2^floor(b) in one instruction, rounded once, overflow and subnormals included.
  friend Vec scalef(Vec a, Vec b) { return _mm512_scalef_ps(a.v, b.v); }

  // Transposes the 16 x 16 matrix whose rows are r[0..15]: 4 x 4 blocks of 4 x 4 within
  // 128-bit lanes (unpack, shuffle), then the blocks across lanes (two rounds of 128-bit
  // shuffles).
  friend void transpose(Vec (&r)[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i].v, r[i + 1].v);
      t[i + 1] = _mm512_unpackhi_ps(r[i].v, r[i + 1].v);
    }
    for (int i = 0; i < 16; i += 4) {
      u[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    // u[4b + j] holds, in 128-bit lane l, column j of the 4 x 4 block (rows 4b.., columns 4l..).
    for (int j = 0; j < 4; ++j) {
      t[j] = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);        // lanes 0, 2 of each
      t[4 + j] = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);    // lanes 1, 3 of each
      t[8 + j] = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
      t[12 + j] = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
    }
    for (int j = 0; j < 4; ++j) {
      r[j].v = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
      r[8 + j].v = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd);
      r[4 + j].v = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
      r[12 + j].v = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xdd);
    }
  }

  float reduce_sum() const { return _mm512_reduce_add_ps(v); }
  float reduce_max() const { return _mm512_reduce_max_ps(v); }
};

template <>
struct Vec<double> {
  static constexpr int width = 8;
  __m512d v;

  Vec() = default;
  Vec(__m512d x) : v(x) {}
  explicit Vec(double x) : v(_mm512_set1_pd(x)) {}

  static __mmask8 tail_mask(int n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static Vec load(const double* p) { return _mm512_loadu_pd(p); }
  static Vec load(const double* p, int n) { return _mm512_maskz_loadu_pd(tail_mask(n), p); }
  void store(double* p) const { _mm512_storeu_pd(p, v); }
  void store(double* p, int n) const { _mm512_mask_storeu_pd(p, tail_mask(n), v); }
  void stream(double* p) const { _mm512_stream_pd(p, v); }
  static Vec from_mask(__mmask8 k) { return _mm512_castsi512_pd(_mm512_movm_epi64(k)); }
  __mmask8 to_mask() const { return _mm512_movepi64_mask(_mm512_castpd_si512(v)); }
  static Vec first_lanes(int n) { return from_mask(tail_mask(n)); }

  friend Vec operator+(Vec a, Vec b) { return _mm512_add_pd(a.v, b.v); }
  friend Vec operator-(Vec a, Vec b) { return _mm512_sub_pd(a.v, b.v); }
  friend Vec operator*(Vec a, Vec b) { return _mm512_mul_pd(a.v, b.v); }
  friend Vec operator/(Vec a, Vec b) { return _mm512_div_pd(a.v, b.v); }
  friend Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_pd(a.v, b.v, c.v); }
  friend Vec fnma(Vec a, Vec b, Vec c) { return _mm512_fnmadd_pd(a.v, b.v, c.v); }
  friend Vec min(Vec a, Vec b) { return _mm512_min_pd(a.v, b.v); }
  friend Vec max(Vec a, Vec b) { return _mm512_max_pd(a.v, b.v); }
  friend Vec abs(Vec a) { return _mm512_abs_pd(a.v); }
  friend Vec sqrt(Vec a) { return _mm512_sqrt_pd(a.v); }
  friend Vec round(Vec a) {
    return _mm512_roundscale_pd(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }

  friend Vec operator<(Vec a, Vec b) {
    return from_mask(_mm512_cmp_pd_mask(a.v, b.v, _CMP_LT_OQ));
  }
  friend Vec operator>(Vec a, Vec b) {
    return from_mask(_mm512_cmp_pd_mask(a.v, b.v, _CMP_GT_OQ));
  }
  friend Vec operator<=(Vec a, Vec b) {
    return from_mask(_mm512_cmp_pd_mask(a.v, b.v, _CMP_LE_OQ));
  }
  friend Vec is_nan(Vec a) { return from_mask(_mm512_cmp_pd_mask(a.v, a.v, _CMP_UNORD_Q)); }
  friend Vec select(Vec mask, Vec a, Vec b) {
    return _mm512_mask_blend_pd(mask.to_mask(), b.v, a.v);
  }
  friend Vec mask_and(Vec mask, Vec a) { return _mm512_and_pd(mask.v, a.v); }

  friend Vec scalef(Vec a, Vec b) { return _mm512_scalef_pd(a.v, b.v); }

  // Transposes the 8 x 8 matrix whose rows are r[0..7].
  friend void transpose(Vec (&r)[8]) {
    __m512d t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm512_unpacklo_pd(r[i].v, r[i + 1].v);
      t[i + 1] = _mm512_unpackhi_pd(r[i].v, r[i + 1].v);
    }
    // t[2p + h] holds, in 128-bit lane l, column 2l + h of rows 2p, 2p + 1.
    for (int h = 0; h < 2; ++h) {
      u[h] = _mm512_shuffle_f64x2(t[h], t[2 + h], 0x88);      // lanes 0, 2: columns h, 4 + h
      u[2 + h] = _mm512_shuffle_f64x2(t[h], t[2 + h], 0xdd);  // lanes 1, 3: columns 2 + h, 6 + h
      u[4 + h] = _mm512_shuffle_f64x2(t[4 + h], t[6 + h], 0x88);
      u[6 + h] = _mm512_shuffle_f64x2(t[4 + h], t[6 + h], 0xdd);
    }
    for (int h = 0; h < 2; ++h) {
      r[h].v = _mm512_shuffle_f64x2(u[h], u[4 + h], 0x88);
      r[4 + h].v = _mm512_shuffle_f64x2(u[h], u[4 + h], 0xdd);
      r[2 + h].v = _mm512_shuffle_f64x2(u[2 + h], u[6 + h], 0x88);
      r[6 + h].v = _mm512_shuffle_f64x2(u[2 + h], u[6 + h], 0xdd);
    }
  }

  double reduce_sum() const { return _mm512_reduce_add_pd(v); }
  double reduce_max() const { return _mm512_reduce_max_pd(v); }
};

template <>
struct IndexVec<float> {
  __m512i v;

  IndexVec() = default;
  IndexVec(__m512i x) : v(x) {}
  explicit IndexVec(int32_t i) : v(_mm512_set1_epi32(i)) {}

  static IndexVec load(const int32_t* p) { return _mm512_loadu_si512(p); }
  static IndexVec load(const int32_t* p, int n) {
    return _mm512_maskz_loadu_epi32(Vec<float>::tail_mask(n), p);
  }
  void store(int32_t* p) const { _mm512_storeu_si512(p, v); }
  void store(int32_t* p, int n) const {
    _mm512_mask_storeu_epi32(p, Vec<float>::tail_mask(n), v);
  }

  friend IndexVec select(Vec<float> mask, IndexVec a, IndexVec b) {
    return _mm512_mask_blend_epi32(mask.to_mask(), b.v, a.v);
  }
  friend Vec<float> operator==(IndexVec a, IndexVec b) {
    return Vec<float>::from_mask(_mm512_cmpeq_epi32_mask(a.v, b.v));
  }
};

// Eight int32 indices held sign-extended in 64-bit lanes, so that double masks select them
// directly; narrowed back to int32 when stored.
template <>
struct IndexVec<double> {
  __m512i v;

  IndexVec() = default;
  IndexVec(__m512i x) : v(x) {}
  explicit IndexVec(int32_t i) : v(_mm512_set1_epi64(i)) {}

  static IndexVec load(const int32_t* p) {
    return _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static IndexVec load(const int32_t* p, int n) {
    return _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(Vec<double>::tail_mask(n), p));
  }
  void store(int32_t* p) const {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi64_epi32(v));
  }
  void store(int32_t* p, int n) const {
    _mm256_mask_storeu_epi32(p, Vec<double>::tail_mask(n), _mm512_cvtepi64_epi32(v));
  }

  friend IndexVec select(Vec<double> mask, IndexVec a, IndexVec b) {
    return _mm512_mask_blend_epi64(mask.to_mask(), b.v, a.v);
  }
  friend Vec<double> operator==(IndexVec a, IndexVec b) {
    return Vec<double>::from_mask(_mm512_cmpeq_epi64_mask(a.v, b.v));
  }
};

#elif FASTDL_ISA_AVX2

namespace detail {
// 8 lanes of -1 followed by 8 lanes of 0: loading 8 ints at offset (8 - n) gives a mask whose
// first n lanes are set.
alignas(64) inline constexpr int32_t kTailMask32[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                        0,  0,  0,  0,  0,  0,  0,  0};
alignas(64) inline constexpr int64_t kTailMask64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
}  // namespace detail

template <>
struct Vec<float> {
  static constexpr int width = 8;
  __m256 v;

  Vec() = default;
  Vec(__m256 x) : v(x) {}
  explicit Vec(float x) : v(_mm256_set1_ps(x)) {}

  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static Vec load(const float* p, int n) { return _mm256_maskload_ps(p, tail_mask(n)); }
  void store(float* p) const { _mm256_storeu_ps(p, v); }
  void store(float* p, int n) const { _mm256_maskstore_ps(p, tail_mask(n), v); }
  // A store that bypasses the caches; p aligned to the vector (see stream_fence).
  void stream(float* p) const { _mm256_stream_ps(p, v); }
  static __m256i tail_mask(int n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(detail::kTailMask32 + 8 - n));
  }
  // Lanes [0, n) set: a mask for select()/mask_and() on the lanes a masked load left at 0.
  static Vec first_lanes(int n) { return _mm256_castsi256_ps(tail_mask(n)); }

  friend Vec operator+(Vec a, Vec b) { return _mm256_add_ps(a.v, b.v); }
  friend Vec operator-(Vec a, Vec b) { return _mm256_sub_ps(a.v, b.v); }
  friend Vec operator*(Vec a, Vec b) { return _mm256_mul_ps(a.v, b.v); }
  friend Vec operator/(Vec a, Vec b) { return _mm256_div_ps(a.v, b.v); }
  friend Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a.v, b.v, c.v); }
  friend Vec fnma(Vec a, Vec b, Vec c) { return _mm256_fnmadd_ps(a.v, b.v, c.v); }  // c - a*b
  friend Vec min(Vec a, Vec b) { return _mm256_min_ps(a.v, b.v); }
  friend Vec max(Vec a, Vec b) { return _mm256_max_ps(a.v, b.v); }
  friend Vec abs(Vec a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v); }
  friend Vec sqrt(Vec a) { return _mm256_sqrt_ps(a.v); }  // correctly rounded, as std::sqrt
  friend Vec round(Vec a) { return _mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

  // Comparisons give all-ones / all-zeros lanes; select(m, a, b) = m ? a : b.
  friend Vec operator<(Vec a, Vec b) { return _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ); }
  friend Vec operator>(Vec a, Vec b) { return _mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ); }
  friend Vec operator<=(Vec a, Vec b) { return _mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ); }
  friend Vec is_nan(Vec a) { return _mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q); }
  friend Vec select(Vec mask, Vec a, Vec b) { return _mm256_blendv_ps(b.v, a.v, mask.v); }
  friend Vec mask_and(Vec mask, Vec a) { return _mm256_and_ps(mask.v, a.v); }  // mask ? a : 0

  // 2^n for lanes holding small integers (|n| <= 127), built from the exponent bits.
  friend Vec exp2_int(Vec n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n.v), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }

  // Transposes the 8 x 8 matrix whose rows are r[0..7].
  friend void transpose(Vec (&r)[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0].v, r[1].v), t1 = _mm256_unpackhi_ps(r[0].v, r[1].v);
    const __m256 t2 = _mm256_unpacklo_ps(r[2].v, r[3].v), t3 = _mm256_unpackhi_ps(r[2].v, r[3].v);
    const __m256 t4 = _mm256_unpacklo_ps(r[4].v, r[5].v), t5 = _mm256_unpackhi_ps(r[4].v, r[5].v);
    const __m256 t6 = _mm256_unpacklo_ps(r[6].v, r[7].v), t7 = _mm256_unpackhi_ps(r[6].v, r[7].v);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
  }

  float reduce_sum() const {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  float reduce_max() const {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

template <>
struct Vec<double> {
  static constexpr int width = 4;
  __m256d v;

  Vec() = default;
  Vec(__m256d x) : v(x) {}
  explicit Vec(double x) : v(_mm256_set1_pd(x)) {}

  static Vec load(const double* p) { return _mm256_loadu_pd(p); }
  static Vec load(const double* p, int n) { return _mm256_maskload_pd(p, tail_mask(n)); }
  void store(double* p) const { _mm256_storeu_pd(p, v); }
  void store(double* p, int n) const { _mm256_maskstore_pd(p, tail_mask(n), v); }
  void stream(double* p) const { _mm256_stream_pd(p, v); }
  static __m256i tail_mask(int n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(detail::kTailMask64 + 4 - n));
  }
  static Vec first_lanes(int n) { return _mm256_castsi256_pd(tail_mask(n)); }

  friend Vec operator+(Vec a, Vec b) { return _mm256_add_pd(a.v, b.v); }
  friend Vec operator-(Vec a, Vec b) { return _mm256_sub_pd(a.v, b.v); }
  friend Vec operator*(Vec a, Vec b) { return _mm256_mul_pd(a.v, b.v); }
  friend Vec operator/(Vec a, Vec b) { return _mm256_div_pd(a.v, b.v); }
  friend Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a.v, b.v, c.v); }
  friend Vec fnma(Vec a, Vec b, Vec c) { return _mm256_fnmadd_pd(a.v, b.v, c.v); }
  friend Vec min(Vec a, Vec b) { return _mm256_min_pd(a.v, b.v); }
  friend Vec max(Vec a, Vec b) { return _mm256_max_pd(a.v, b.v); }
  friend Vec abs(Vec a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a.v); }
  friend Vec sqrt(Vec a) { return _mm256_sqrt_pd(a.v); }
  friend Vec round(Vec a) { return _mm256_round_pd(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

  friend Vec operator<(Vec a, Vec b) { return _mm256_cmp_pd(a.v, b.v, _CMP_LT_OQ); }
  friend Vec operator>(Vec a, Vec b) { return _mm256_cmp_pd(a.v, b.v, _CMP_GT_OQ); }
  friend Vec operator<=(Vec a, Vec b) { return _mm256_cmp_pd(a.v, b.v, _CMP_LE_OQ); }
  friend Vec is_nan(Vec a) { return _mm256_cmp_pd(a.v, a.v, _CMP_UNORD_Q); }
  friend Vec select(Vec mask, Vec a, Vec b) { return _mm256_blendv_pd(b.v, a.v, mask.v); }
  friend Vec mask_and(Vec mask, Vec a) { return _mm256_and_pd(mask.v, a.v); }

  // 2^n for lanes holding small integers (|n| <= 1023). Adding 1.5 * 2^52 puts the integer in
  // the low mantissa bits, which gives an int64 without AVX-512's conversion instructions.
  friend Vec exp2_int(Vec n) {
    const __m256d magic = _mm256_set1_pd(6755399441055744.0);
    __m256i i = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(n.v, magic)),
                                 _mm256_castpd_si256(magic));
    i = _mm256_add_epi64(i, _mm256_set1_epi64x(1023));
    return _mm256_castsi256_pd(_mm256_slli_epi64(i, 52));
  }

  // Transposes the 4 x 4 matrix whose rows are r[0..3].
  friend void transpose(Vec (&r)[4]) {
    const __m256d t0 = _mm256_unpacklo_pd(r[0].v, r[1].v), t1 = _mm256_unpackhi_pd(r[0].v, r[1].v);
    const __m256d t2 = _mm256_unpacklo_pd(r[2].v, r[3].v), t3 = _mm256_unpackhi_pd(r[2].v, r[3].v);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }

  double reduce_sum() const {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  double reduce_max() const {
    __m128d s = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
  }
};

template <>
struct IndexVec<float> {
  __m256i v;

  IndexVec() = default;
  IndexVec(__m256i x) : v(x) {}
  explicit IndexVec(int32_t i) : v(_mm256_set1_epi32(i)) {}

  static IndexVec load(const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static IndexVec load(const int32_t* p, int n) {
    return _mm256_maskload_epi32(p, Vec<float>::tail_mask(n));
  }
  void store(int32_t* p) const { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  void store(int32_t* p, int n) const { _mm256_maskstore_epi32(p, Vec<float>::tail_mask(n), v); }

  friend IndexVec select(Vec<float> mask, IndexVec a, IndexVec b) {
    return _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(b.v), _mm256_castsi256_ps(a.v), mask.v));
  }
  // A Vec<float> mask: all-ones lanes where a == b.
  friend Vec<float> operator==(IndexVec a, IndexVec b) {
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(a.v, b.v));
  }
};

// Four int32 indices held sign-extended in 64-bit lanes, so that double masks select them
// directly; narrowed back to int32 when stored.
template <>
struct IndexVec<double> {
  __m256i v;

  IndexVec() = default;
  IndexVec(__m256i x) : v(x) {}
  explicit IndexVec(int32_t i) : v(_mm256_set1_epi64x(i)) {}

  static __m128i tail_mask(int n) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(detail::kTailMask32 + 8 - n));
  }
  static IndexVec load(const int32_t* p) {
    return _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static IndexVec load(const int32_t* p, int n) {
    return _mm256_cvtepi32_epi64(_mm_maskload_epi32(p, tail_mask(n)));
  }
  __m128i narrow() const {
    const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, low_halves));
  }
  void store(int32_t* p) const { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), narrow()); }
  void store(int32_t* p, int n) const { _mm_maskstore_epi32(p, tail_mask(n), narrow()); }

  friend IndexVec select(Vec<double> mask, IndexVec a, IndexVec b) {
    return _mm256_castpd_si256(
        _mm256_blendv_pd(_mm256_castsi256_pd(b.v), _mm256_castsi256_pd(a.v), mask.v));
  }
  friend Vec<double> operator==(IndexVec a, IndexVec b) {
    return _mm256_castsi256_pd(_mm256_cmpeq_epi64(a.v, b.v));
  }
};

#else  // portable one-lane vectors

template <class T>
struct Vec {
  static constexpr int width = 1;
  T v;

  Vec() = default;
  explicit Vec(T x) : v(x) {}

  static Vec load(const T* p) { return Vec(*p); }
  static Vec load(const T* p, int n) { return Vec(n > 0 ? *p : T(0)); }
  void store(T* p) const { *p = v; }
  void store(T* p, int n) const {
    if (n > 0) *p = v;
  }
  void stream(T* p) const { *p = v; }
  static Vec first_lanes(int n) { return Vec(n > 0 ? T(1) : T(0)); }

  friend Vec operator+(Vec a, Vec b) { return Vec(a.v + b.v); }
  friend Vec operator-(Vec a, Vec b) { return Vec(a.v - b.v); }
  friend Vec operator*(Vec a, Vec b) { return Vec(a.v * b.v); }
  friend Vec operator/(Vec a, Vec b) { return Vec(a.v / b.v); }
  friend Vec fma(Vec a, Vec b, Vec c) { return Vec(a.v * b.v + c.v); }
  friend Vec fnma(Vec a, Vec b, Vec c) { return Vec(c.v - a.v * b.v); }
  friend Vec min(Vec a, Vec b) { return Vec(a.v < b.v ? a.v : b.v); }
  friend Vec max(Vec a, Vec b) { return Vec(a.v > b.v ? a.v : b.v); }
  friend Vec abs(Vec a) { return Vec(std::fabs(a.v)); }
  friend Vec sqrt(Vec a) { return Vec(std::sqrt(a.v)); }
  friend Vec round(Vec a) { return Vec(std::nearbyint(a.v)); }

  // Masks are 1 or 0 in a lane of the value type.
  friend Vec operator<(Vec a, Vec b) { return Vec(a.v < b.v ? T(1) : T(0)); }
  friend Vec operator>(Vec a, Vec b) { return Vec(a.v > b.v ? T(1) : T(0)); }
  friend Vec operator<=(Vec a, Vec b) { return Vec(a.v <= b.v ? T(1) : T(0)); }
  friend Vec is_nan(Vec a) { return Vec(a.v != a.v ? T(1) : T(0)); }
  friend Vec select(Vec mask, Vec a, Vec b) { return mask.v != T(0) ? a : b; }
  friend Vec mask_and(Vec mask, Vec a) { return mask.v != T(0) ? a : Vec(T(0)); }

  // A NaN lane gives 1 (converting NaN to int is undefined); the caller's NaN survives the product.
  friend Vec exp2_int(Vec n) {
    return Vec(std::ldexp(T(1), n.v == n.v ? static_cast<int>(n.v) : 0));
  }
  friend void transpose(Vec (&)[1]) {}

  T reduce_sum() const { return v; }
  T reduce_max() const { return v; }
};

template <class T>
struct IndexVec {
  int32_t v;

  IndexVec() = default;
  explicit IndexVec(int32_t i) : v(i) {}

  static IndexVec load(const int32_t* p) { return IndexVec(*p); }
  static IndexVec load(const int32_t* p, int n) { return IndexVec(n > 0 ? *p : 0); }
  void store(int32_t* p) const { *p = v; }
  void store(int32_t* p, int n) const {
    if (n > 0) *p = v;
  }

  friend IndexVec select(Vec<T> mask, IndexVec a, IndexVec b) { return mask.v != T(0) ? a : b; }
  friend Vec<T> operator==(IndexVec a, IndexVec b) { return Vec<T>(a.v == b.v ? T(1) : T(0)); }
};

#endif

// p * 2^n for lanes n holding integers, from the smallest exponent that still gives a nonzero
// subnormal to the one that overflows (float: |n| <= 254): overflow gives inf, and results in
// the subnormal range are rounded once. AVX-512 has an instruction for it; elsewhere 2^n is
// applied in two halves, each a normal power of two.
template <class T>
inline Vec<T> ldexp(Vec<T> p, Vec<T> n) {
#if FASTDL_ISA_AVX512
  return scalef(p, n);
#else
  const Vec<T> half = round(n * Vec<T>(T(0.5)));
  return p * exp2_int(half) * exp2_int(n - half);
#endif
}

// The first `lanes` elements at p: a plain load for a whole vector, a masked one (reading nothing
// past them) otherwise. With `lanes` a compile-time W the branch folds away.
template <class T>
inline Vec<T> load_lanes(const T* p, int lanes) {
  return lanes == Vec<T>::width ? Vec<T>::load(p) : Vec<T>::load(p, lanes);
}

// Stores the first `lanes` elements of v at p, writing nothing past them.
template <class T>
inline void store_lanes(Vec<T> v, T* p, int lanes) {
  if (lanes == Vec<T>::width) {
    v.store(p);
  } else {
    v.store(p, lanes);
  }
}

// v with the lanes from `lanes` on replaced by `fill`: a masked load leaves zeros there, and a
// value computed from them (x - shift, or a 0 where the maximum is wanted) must not enter a
// reduction.
template <class T>
inline Vec<T> fill_past(Vec<T> v, int lanes, T fill) {
  return lanes == Vec<T>::width ? v : select(Vec<T>::first_lanes(lanes), v, Vec<T>(fill));
}

// Calls body(i, lanes) for each vector of [0, n): whole vectors, then one partial vector.
// Inlined, so that `lanes` is the constant W in the main loop and the masked loads and stores
// of load_lanes/store_lanes fold away there.
template <class T, class Body>
FASTDL_ALWAYS_INLINE void for_each_vector(int64_t n, Body&& body) {
  constexpr int W = Vec<T>::width;
  int64_t i = 0;
  for (; i + W <= n; i += W) body(i, W);
  if (i < n) body(i, static_cast<int>(n - i));
}

// Folds acc = step(acc, i, lanes) over the vectors of [0, n) into four accumulators started at
// `init`, then joins them with combine(a, b): a reduction through one accumulator waits out
// each step's latency (3 to 4 cycles for an add or an FMA) before it can take the next, four
// overlap. The lanes of a partial vector past `lanes` are step's to keep neutral.
template <class T, class Acc, class Step, class Combine>
FASTDL_ALWAYS_INLINE Acc fold_vectors(int64_t n, Acc init, Step&& step, Combine&& combine) {
  constexpr int W = Vec<T>::width;
  Acc a0 = init, a1 = init, a2 = init, a3 = init;
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    a0 = step(a0, i, W);
    a1 = step(a1, i + W, W);
    a2 = step(a2, i + 2 * W, W);
    a3 = step(a3, i + 3 * W, W);
  }
  for (; i + W <= n; i += W) a0 = step(a0, i, W);
  if (i < n) a1 = step(a1, i, static_cast<int>(n - i));
  return combine(combine(a0, a1), combine(a2, a3));
}

// Orders the streaming stores (Vec::stream) before every later store, as ordinary stores are:
// a kernel that streamed calls it before returning.
inline void stream_fence() {
#if FASTDL_ISA_AVX512 || FASTDL_ISA_AVX2
  _mm_sfence();
#endif
}

// The same for the int32 indices of an IndexVec<T>.
template <class T>
inline IndexVec<T> load_index_lanes(const int32_t* p, int lanes) {
  return lanes == Vec<T>::width ? IndexVec<T>::load(p) : IndexVec<T>::load(p, lanes);
}

template <class T>
inline void store_lanes(IndexVec<T> v, int32_t* p, int lanes) {
  if (lanes == Vec<T>::width) {
    v.store(p);
  } else {
    v.store(p, lanes);
  }
}

// Calls f(std::integral_constant<int, n>{}) for 1 <= n <= N: a count known at run time (a
// tile's rows, a block's vectors) as a constant, so that the kernel's loops over it unroll and
// its accumulators stay in registers.
template <int N, class F>
FASTDL_ALWAYS_INLINE void with_count(int n, F&& f) {
  if constexpr (N == 1) {
    f(std::integral_constant<int, 1>{});
  } else if (n == N) {
    f(std::integral_constant<int, N>{});
  } else {
    with_count<N - 1>(n, f);
  }
}

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
