#pragma once
// Vectorized elementary functions on Vec<T>, written once for every ISA (see fastdl/simd.h), and
// the activations built from them: forward values and derivatives.
// float32 uses polynomial approximations accurate to a few ulp; float64 uses higher-degree
// polynomials or, where none is worth the code, the C library lane by lane.
#include <cmath>
#include <limits>
#include <type_traits>

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
};

template <>
struct ExpConstants<double> {
  static constexpr double lo = -745.2;
  static constexpr double hi = 709.79;
  static constexpr double ln2_hi = 6.93147180369123816490e-01;
  static constexpr double ln2_lo = 1.90821492927058770002e-10;
};

// e^r for |r| <= ln(2)/2. float32: 1 + r + c2 r^2 + ... + c6 r^6, fitted for minimax relative
// error (3.1e-9, one degree below the Taylor series that reaches the same accuracy); exp
// below is within 0.91 ulp over every float32 input. float64: the Taylor series to degree 13,
// whose truncation error is below one ulp.
inline Vec<float> exp_reduced(Vec<float> r) {
  Vec<float> p(0.0013814613f);
  p = fma(p, r, Vec<float>(0.00836871f));
  p = fma(p, r, Vec<float>(0.04166839f));
  p = fma(p, r, Vec<float>(0.16666521f));
  p = fma(p, r, Vec<float>(0.49999994f));
  p = fma(p, r, Vec<float>(1.0f));
  return fma(p, r, Vec<float>(1.0f));
}

inline Vec<double> exp_reduced(Vec<double> r) {
  constexpr int kDegree = 13;
  double coef = 1;
  for (int k = 2; k <= kDegree; ++k) coef /= k;  // 1/13!, folded at compile time
  Vec<double> p(coef);
  for (int k = kDegree - 1; k >= 0; --k) {
    coef *= k + 1;
    p = fma(p, r, Vec<double>(coef));
  }
  return p;
}

// exp(x) = 2^n * e^r with n = round(x / ln 2) and |r| <= ln(2)/2, 2^n applied by ldexp so that
// results in the subnormal range and up to the overflow threshold come out right.
template <class T>
inline Vec<T> exp(Vec<T> x) {
  using C = ExpConstants<T>;
  x = min(Vec<T>(C::hi), max(Vec<T>(C::lo), x));  // operand order keeps NaN
  const Vec<T> n = round(x * Vec<T>(T(1.4426950408889634)));
  Vec<T> r = fnma(n, Vec<T>(C::ln2_hi), x);
  r = fnma(n, Vec<T>(C::ln2_lo), r);
  return ldexp(exp_reduced(r), n);
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
  // x P(x^2) / Q(x^2) on |x| <= 9 (beyond it tanh rounds to +-1): a rational function fitted
  // for relative error (5.9e-8 in exact arithmetic). Evaluated in float32 it is within 6 ulp
  // (mean 0.9 ulp; 8 ulp without FMA), exactly odd, and clamped to [-1, 1] so that 1 - y^2
  // stays >= 0. One division and no exp: 2.5 times the speed of 1 - 2 / (e^{2|x|} + 1) with a
  // polynomial near 0, which was within 1.4 ulp. The clamps' operand order keeps NaN.
  x = min(Vec<float>(9.0f), max(Vec<float>(-9.0f), x));
  const Vec<float> z = x * x;
  Vec<float> p(1.8254835143505233e-11f);
  p = fma(p, z, Vec<float>(-1.2780266622769432e-08f));
  p = fma(p, z, Vec<float>(9.267358109354973e-06f));
  p = fma(p, z, Vec<float>(0.002920754486694932f));
  p = fma(p, z, Vec<float>(0.12919221818447113f));
  p = fma(p, z, Vec<float>(0.9999999403953552f));
  Vec<float> q(0.0002280992193846032f);
  q = fma(q, z, Vec<float>(0.02376313880085945f));
  q = fma(q, z, Vec<float>(0.46252503991127014f));
  q = fma(q, z, Vec<float>(1.0f));
  return min(Vec<float>(1.0f), max(Vec<float>(-1.0f), x * p / q));
}

inline Vec<double> tanh(Vec<double> x) {
  return map_lanes(x, [](double v) { return std::tanh(v); });
}

// The standard normal distribution's upper tail at |x|, P(N(0, 1) > |x|) = erfc(|x| / sqrt 2) / 2,
// with the Gaussian factor e^{-x^2/2} it is built from: gelu needs the tail, its derivative the
// density e^{-x^2/2} / sqrt(2 pi) as well, and shares the exponential.
template <class T>
struct GaussianTail {
  Vec<T> tail, gauss;
};

// float32: with a = |x| / sqrt 2, erfc(a) = t e^{-a^2} Q(t) for t = 1 / (1 + 3a/8). The factor
// t e^{-a^2} carries the asymptotic decay ~ e^{-a^2} / (a sqrt(pi)), which leaves Q smooth on t
// in (0, 1], and a degree-8 polynomial (fitted for minimax relative error, 1.3e-8; here halved,
// exactly, for the tail) covers it from 0 down to underflow with no cancellation. What error
// remains is that of e^{-x^2/2} for a rounded x^2, about x^2 / 2 ulp: the conditioning of the
// tail itself (under 1e-6 relative for |x| < 3).
inline GaussianTail<float> gaussian_tail(Vec<float> x) {
  const Vec<float> t =
      Vec<float>(1.0f) / fma(abs(x), Vec<float>(0.375f * 0.70710678118654752f), Vec<float>(1.0f));
  Vec<float> q(3.0713557655e-02f);
  q = fma(q, t, Vec<float>(-1.4340224605e-01f));
  q = fma(q, t, Vec<float>(2.156723165e-01f));
  q = fma(q, t, Vec<float>(-1.141209466e-01f));
  q = fma(q, t, Vec<float>(1.3646854665e-01f));
  q = fma(q, t, Vec<float>(6.09161247e-02f));
  q = fma(q, t, Vec<float>(1.0261576965e-01f));
  q = fma(q, t, Vec<float>(1.0533046705e-01f));
  q = fma(q, t, Vec<float>(1.0580641135e-01f));
  const Vec<float> gauss = exp(x * x * Vec<float>(-0.5f));
  return {t * q * gauss, gauss};
}

// float64: erfc from the C library, lane by lane.
inline GaussianTail<double> gaussian_tail(Vec<double> x) {
  const Vec<double> tail =
      map_lanes(x, [](double v) { return 0.5 * std::erfc(std::fabs(v) * 0.70710678118654752); });
  return {tail, exp(x * x * Vec<double>(-0.5))};
}

// Beyond +-40, gelu and gelu_tanh have saturated in float32 and float64 alike (the Gaussian
// factors underflow to 0): clamping there keeps the products of x with them at +-inf (values and
// derivatives) from becoming inf * 0 = NaN. Operand order keeps NaN.
constexpr double kGeluSaturation = 40;

template <class T>
inline Vec<T> clamp_below_gelu_range(Vec<T> x) {
  return max(Vec<T>(T(-kGeluSaturation)), x);
}

template <class T>
inline Vec<T> clamp_to_gelu_range(Vec<T> x) {
  return min(Vec<T>(T(kGeluSaturation)), clamp_below_gelu_range(x));
}

// The gate of the tanh approximation: (1 + tanh(u)) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3),
// computed as sigmoid(2u), the same function with one exp and no tanh.
constexpr double kSqrt2OverPi = 0.79788456080286536;
constexpr double kGeluCubic = 0.044715;

template <class T>
inline Vec<T> gelu_tanh_gate(Vec<T> x) {
  const Vec<T> two_u = x * fma(x * x, Vec<T>(T(2 * kSqrt2OverPi * kGeluCubic)),
                               Vec<T>(T(2 * kSqrt2OverPi)));
  return sigmoid(two_u);
}

// NaN where `s` is NaN, else v: for derivatives that are piecewise constant in s.
template <class T>
inline Vec<T> keep_nan(Vec<T> s, Vec<T> v) {
  return select(is_nan(s), s, v);
}

template <Activation A>
using ActivationTag = std::integral_constant<Activation, A>;

// Calls f(ActivationTag<act>{}), turning the run-time activation into a compile-time one, so a
// loop over an array is compiled once per activation with no switch inside it. `act` must be
// one of the enumerators.
template <class F>
inline decltype(auto) with_activation(Activation act, F&& f) {
  switch (act) {
    case Activation::none:
      return f(ActivationTag<Activation::none>{});
    case Activation::relu:
      return f(ActivationTag<Activation::relu>{});
    case Activation::leaky_relu:
      return f(ActivationTag<Activation::leaky_relu>{});
    case Activation::sigmoid:
      return f(ActivationTag<Activation::sigmoid>{});
    case Activation::tanh:
      return f(ActivationTag<Activation::tanh>{});
    case Activation::step:
      return f(ActivationTag<Activation::step>{});
    case Activation::gelu:
      return f(ActivationTag<Activation::gelu>{});
    case Activation::gelu_tanh:
      return f(ActivationTag<Activation::gelu_tanh>{});
  }
  return f(ActivationTag<Activation::none>{});
}

// A(x) for one vector; `alpha` is leaky_relu's slope. NaN inputs give NaN outputs.
template <Activation A, class T>
inline Vec<T> activate(Vec<T> x, T alpha) {
  const Vec<T> zero(T(0));
  if constexpr (A == Activation::none) {
    return x;
  } else if constexpr (A == Activation::relu) {
    return max(zero, x);
  } else if constexpr (A == Activation::leaky_relu) {
    return select(x > zero, x, x * Vec<T>(alpha));
  } else if constexpr (A == Activation::sigmoid) {
    return sigmoid(x);
  } else if constexpr (A == Activation::tanh) {
    return tanh(x);
  } else if constexpr (A == Activation::step) {
    return keep_nan(x, mask_and(x > zero, Vec<T>(T(1))));
  } else if constexpr (A == Activation::gelu) {
    // x Phi(x): x times the tail below 0, x less it above (the tail is Phi(-|x|)).
    const Vec<T> xc = clamp_to_gelu_range(x);
    const Vec<T> g = xc * gaussian_tail(xc).tail;
    return select(x < zero, g, x - g);
  } else {
    static_assert(A == Activation::gelu_tanh);
    x = clamp_below_gelu_range(x);
    return x * gelu_tanh_gate(x);
  }
}

// act(x) for one vector, with the activation chosen at run time (the GEMM epilogue).
template <class T>
inline Vec<T> activate(Activation act, Vec<T> x, T alpha) {
  return with_activation(act, [&](auto tag) { return activate<decltype(tag)::value>(x, alpha); });
}

// dy * A'(.) for one vector. `s` is the saved forward output for sigmoid and tanh and the
// forward input otherwise (fastdl::activation_backward_uses_output). At the kinks of relu,
// leaky_relu and step the derivative is taken from the left: 0, alpha and 0. A NaN in `s` gives
// NaN; where the derivative is exactly 0 the result is 0 whatever dy holds.
template <Activation A, class T>
inline Vec<T> activate_grad(Vec<T> dy, Vec<T> s, T alpha) {
  const Vec<T> zero(T(0)), one(T(1));
  if constexpr (A == Activation::none) {
    return dy;
  } else if constexpr (A == Activation::relu) {
    return keep_nan(s, mask_and(s > zero, dy));
  } else if constexpr (A == Activation::leaky_relu) {
    return keep_nan(s, select(s > zero, dy, dy * Vec<T>(alpha)));
  } else if constexpr (A == Activation::sigmoid) {
    return dy * (s - s * s);  // y (1 - y)
  } else if constexpr (A == Activation::tanh) {
    return dy * fnma(s, s, one);  // 1 - y^2
  } else if constexpr (A == Activation::step) {
    return keep_nan(s, zero);
  } else if constexpr (A == Activation::gelu) {
    // Phi(x) + x phi(x), phi(x) = e^{-x^2/2} / sqrt(2 pi).
    const Vec<T> x = clamp_to_gelu_range(s);
    const GaussianTail<T> g = gaussian_tail(x);
    const Vec<T> cdf = select(x < zero, g.tail, one - g.tail);
    return dy * fma(x, g.gauss * Vec<T>(T(0.39894228040143268)), cdf);
  } else {
    static_assert(A == Activation::gelu_tanh);
    // With g = sigmoid(2u): d/dx [x g] = g + x g (1 - g) d(2u)/dx.
    const Vec<T> x = clamp_to_gelu_range(s);
    const Vec<T> g = gelu_tanh_gate(x);
    const Vec<T> du2 = fma(x * x, Vec<T>(T(6 * kSqrt2OverPi * kGeluCubic)),
                           Vec<T>(T(2 * kSqrt2OverPi)));
    return dy * fma(x * (g - g * g), du2, g);
  }
}

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
