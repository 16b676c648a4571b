#pragma once
// Vectorized elementary functions on Vec<T>, written once for every ISA (see fastdl/simd.h).
// float32 uses polynomial approximations accurate to a few ulp; float64 uses higher-degree
// polynomials or, where none is worth the code, the C library lane by lane.
#include <cmath>
#include <limits>

#include "fastdl/activation.h"
#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

template <class T>
struct ExpConstants;

template <>
struct ExpConstants<float> {
  static constexpr float lo = -103.98f;  // exp(lo) rounds to 0
  static constexpr float hi = 88.73f;    // exp(hi) overflows to inf
  static constexpr float ln2_hi = 0.693359375f;
  static constexpr float ln2_lo = -2.12194440e-4f;
  static constexpr int degree = 7;
};

template <>
struct ExpConstants<double> {
  static constexpr double lo = -745.2;
  static constexpr double hi = 709.79;
  static constexpr double ln2_hi = 6.93147180369123816490e-01;
  static constexpr double ln2_lo = 1.90821492927058770002e-10;
  static constexpr int degree = 13;
};

// exp(x) = 2^n * e^r with n = round(x / ln 2) and |r| <= ln(2)/2; e^r by its Taylor series
// (degree chosen so the truncation error is below one ulp), 2^n applied in two halves so that
// results in the subnormal range and up to the overflow threshold come out right.
template <class T>
inline Vec<T> exp(Vec<T> x) {
  using C = ExpConstants<T>;
  x = min(Vec<T>(C::hi), max(Vec<T>(C::lo), x));  // operand order keeps NaN
  const Vec<T> n = round(x * Vec<T>(T(1.4426950408889634)));
  Vec<T> r = fnma(n, Vec<T>(C::ln2_hi), x);
  r = fnma(n, Vec<T>(C::ln2_lo), r);
  T coef = T(1);
  for (int k = 2; k <= C::degree; ++k) coef /= T(k);  // 1/degree!, folded at compile time
  Vec<T> p(coef);
  for (int k = C::degree - 1; k >= 0; --k) {
    coef *= T(k + 1);
    p = fma(p, r, Vec<T>(coef));
  }
  const Vec<T> n_half = round(n * Vec<T>(T(0.5)));
  return p * exp2_int(n_half) * exp2_int(n - n_half);
}

template <class T>
inline Vec<T> sigmoid(Vec<T> x) {
  const Vec<T> one(T(1));
  return one / (one + exp(Vec<T>(T(0)) - x));
}

// Applies a scalar function to each lane: for float64 paths where a polynomial is not worth it.
template <class T, class F>
inline Vec<T> map_lanes(Vec<T> x, F f) {
  T lanes[Vec<T>::width];
  x.store(lanes);
  for (T& v : lanes) v = f(v);
  return Vec<T>::load(lanes);
}

inline Vec<float> tanh(Vec<float> x) {
  // |x| < 0.625: odd polynomial (Cephes tanhf coefficients); otherwise 1 - 2 / (e^{2|x|} + 1),
  // which has no cancellation there. The sign is restored at the end.
  const Vec<float> ax = abs(x);
  const Vec<float> z = x * x;
  Vec<float> p(-5.70498872745e-3f);
  p = fma(p, z, Vec<float>(2.06390887954e-2f));
  p = fma(p, z, Vec<float>(-5.37397155531e-2f));
  p = fma(p, z, Vec<float>(1.33314422036e-1f));
  p = fma(p, z, Vec<float>(-3.33332819422e-1f));
  const Vec<float> small = fma(p * z, x, x);
  const Vec<float> one(1.0f);
  const Vec<float> large_abs = one - Vec<float>(2.0f) / (exp(ax + ax) + one);
  const Vec<float> large = select(x < Vec<float>(0.0f), Vec<float>(0.0f) - large_abs, large_abs);
  return select(ax < Vec<float>(0.625f), small, select(is_nan(x), x, large));
}

inline Vec<double> tanh(Vec<double> x) {
  return map_lanes(x, [](double v) { return std::tanh(v); });
}

// act(x) for one vector. NaN inputs give NaN outputs for every activation.
template <class T>
inline Vec<T> activate(Activation act, Vec<T> x, T alpha) {
  const Vec<T> zero(T(0));
  switch (act) {
    case Activation::none:
      return x;
    case Activation::relu:
      return max(zero, x);
    case Activation::leaky_relu:
      return select(x > zero, x, x * Vec<T>(alpha));
    case Activation::sigmoid:
      return sigmoid(x);
    case Activation::tanh:
      return tanh(x);
    case Activation::step:
      return select(is_nan(x), x, mask_and(x > zero, Vec<T>(T(1))));
  }
  return x;
}

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
