// Parameter-update kernels, written once against Vec<T>; CMake compiles this file once per ISA
// (generic, avx2, avx512), each copy in its own namespace.
//
// Each optimizer kernel is one pass over a range: load the gradient, clip it, apply the weight
// decay and the update, store the parameter and the state. The options that change the work
// (clipping mode, momentum, amsgrad, centering, weight decay) are template parameters, chosen
// once per call, so the loops carry no per-element branches.
#include <limits>
#include <type_traits>

#include "fastdl/simd.h"
#include "optim/kernels.h"

// The per-vector bodies below are lambdas; they must be inlined into their loops for the
// constant `lanes` to fold.
#if defined(__GNUC__) || defined(__clang__)
#define FASTDL_LAMBDA_INLINE __attribute__((always_inline))
#else
#define FASTDL_LAMBDA_INLINE
#endif

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

template <GradMode M, class T>
FASTDL_ALWAYS_INLINE Vec<T> prepare(Vec<T> g, T a) {
  if constexpr (M == GradMode::clamp) {
    // max(lo, g) and min(hi, x) return their second operand when it is NaN.
    return min(Vec<T>(a), max(Vec<T>(-a), g));
  } else if constexpr (M == GradMode::scale) {
    return g * Vec<T>(a);
  } else if constexpr (M == GradMode::inf_sign) {
    const Vec<T> is_inf = abs(g) > Vec<T>(std::numeric_limits<T>::max());
    return mask_and(is_inf, select(g > Vec<T>(T(0)), Vec<T>(a), Vec<T>(-a)));
  } else {
    return g;
  }
}

// p - decay * p, only when the decay is on.
template <bool kDecay, class T>
FASTDL_ALWAYS_INLINE Vec<T> decayed(Vec<T> p, T decay) {
  if constexpr (kDecay) {
    return fnma(p, Vec<T>(decay), p);
  } else {
    (void)decay;
    return p;
  }
}

// Turns run-time choices into compile-time ones: f(std::integral_constant<...>...).
template <class F>
FASTDL_ALWAYS_INLINE void with_mode(GradMode mode, F&& f) {
  switch (mode) {
    case GradMode::clamp:
      f(std::integral_constant<GradMode, GradMode::clamp>{});
      break;
    case GradMode::scale:
      f(std::integral_constant<GradMode, GradMode::scale>{});
      break;
    case GradMode::inf_sign:
      f(std::integral_constant<GradMode, GradMode::inf_sign>{});
      break;
    default:
      f(std::integral_constant<GradMode, GradMode::plain>{});
  }
}

template <class F>
FASTDL_ALWAYS_INLINE void with_flag(bool flag, F&& f) {
  if (flag) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

template <GradMode M, bool kDecay, bool kMomentum, bool kNesterov, class T>
void sgd_loop(int64_t n, T* p, const T* g, T* m, const SgdConstants<T>& k, T a) {
  const Vec<T> lr(k.lr), mu(k.momentum);
  for_each_vector<T>(n, [&](int64_t i, int lanes) FASTDL_LAMBDA_INLINE {
    const Vec<T> gi = prepare<M>(load_lanes(g + i, lanes), a);
    Vec<T> pi = decayed<kDecay>(load_lanes(p + i, lanes), k.decay);
    if constexpr (kMomentum) {
      const Vec<T> mi = fnma(lr, gi, mu * load_lanes(m + i, lanes));  // momentum*m - lr*g
      store_lanes(mi, m + i, lanes);
      pi = kNesterov ? fnma(lr, gi, fma(mu, mi, pi)) : pi + mi;
    } else {
      pi = fnma(lr, gi, pi);
    }
    store_lanes(pi, p + i, lanes);
  });
}

template <GradMode M, bool kDecay, bool kAmsgrad, class T>
void adam_loop(int64_t n, T* p, const T* g, T* m, T* v, T* v_hat, const AdamConstants<T>& k,
               T a) {
  const Vec<T> alpha(k.alpha), c1(k.one_minus_beta_1), c2(k.one_minus_beta_2), eps(k.epsilon);
  for_each_vector<T>(n, [&](int64_t i, int lanes) FASTDL_LAMBDA_INLINE {
    const Vec<T> gi = prepare<M>(load_lanes(g + i, lanes), a);
    Vec<T> mi = load_lanes(m + i, lanes), vi = load_lanes(v + i, lanes);
    mi = fma(gi - mi, c1, mi);
    vi = fma(gi * gi - vi, c2, vi);
    store_lanes(mi, m + i, lanes);
    store_lanes(vi, v + i, lanes);
    if constexpr (kAmsgrad) {
      vi = max(load_lanes(v_hat + i, lanes), vi);
      store_lanes(vi, v_hat + i, lanes);
    }
    const Vec<T> pi = decayed<kDecay>(load_lanes(p + i, lanes), k.decay);
    store_lanes(pi - (mi * alpha) / (sqrt(vi) + eps), p + i, lanes);
  });
}

template <GradMode M, bool kDecay, bool kMomentum, bool kCentered, class T>
void rmsprop_loop(int64_t n, T* p, const T* g, T* v, T* mom, T* avg,
                  const RmspropConstants<T>& k, T a) {
  const Vec<T> lr(k.lr), rho(k.rho), c(k.one_minus_rho), mu(k.momentum), eps(k.epsilon);
  for_each_vector<T>(n, [&](int64_t i, int lanes) FASTDL_LAMBDA_INLINE {
    const Vec<T> gi = prepare<M>(load_lanes(g + i, lanes), a);
    const Vec<T> vi = fma(c, gi * gi, rho * load_lanes(v + i, lanes));
    store_lanes(vi, v + i, lanes);
    Vec<T> denominator;
    if constexpr (kCentered) {
      const Vec<T> ai = fma(c, gi, rho * load_lanes(avg + i, lanes));
      store_lanes(ai, avg + i, lanes);
      denominator = fnma(ai, ai, vi) + eps;
    } else {
      denominator = vi + eps;
    }
    Vec<T> step = (lr * gi) / sqrt(denominator);
    if constexpr (kMomentum) {
      step = fma(mu, load_lanes(mom + i, lanes), step);
      store_lanes(step, mom + i, lanes);
    }
    const Vec<T> pi = decayed<kDecay>(load_lanes(p + i, lanes), k.decay);
    store_lanes(pi - step, p + i, lanes);
  });
}

}  // namespace

template <class T>
void axpy_kernel(int64_t n, T alpha, const T* x, T* y) {
  constexpr int W = Vec<T>::width;
  const Vec<T> a(alpha);
  int64_t i = 0;
  for (; i + W <= n; i += W) fma(a, Vec<T>::load(x + i), Vec<T>::load(y + i)).store(y + i);
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    fma(a, Vec<T>::load(x + i, rest), Vec<T>::load(y + i, rest)).store(y + i, rest);
  }
}

template <class T>
double sum_squares_kernel(int64_t n, const T* g) {
  // Blocks short enough that the accumulation in T loses nothing that matters for a clipping
  // factor; four accumulators to hide the latency of the adds.
  constexpr int W = Vec<T>::width;
  constexpr int64_t kBlock = 4096;
  double total = 0;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t len = n - start < kBlock ? n - start : kBlock;
    const T* x = g + start;
    Vec<T> s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
    int64_t i = 0;
    for (; i + 4 * W <= len; i += 4 * W) {
      const Vec<T> a = Vec<T>::load(x + i), b = Vec<T>::load(x + i + W);
      const Vec<T> c = Vec<T>::load(x + i + 2 * W), d = Vec<T>::load(x + i + 3 * W);
      s0 = fma(a, a, s0);
      s1 = fma(b, b, s1);
      s2 = fma(c, c, s2);
      s3 = fma(d, d, s3);
    }
    for (; i + W <= len; i += W) {
      const Vec<T> a = Vec<T>::load(x + i);
      s0 = fma(a, a, s0);
    }
    if (i < len) {
      const Vec<T> a = Vec<T>::load(x + i, static_cast<int>(len - i));  // zeros past the end
      s1 = fma(a, a, s1);
    }
    total += static_cast<double>(((s0 + s1) + (s2 + s3)).reduce_sum());
  }
  return total;
}

template <class T>
void sgd_kernel(int64_t n, T* p, const T* g, T* m, const SgdConstants<T>& k, GradPrep<T> gp) {
  with_mode(gp.mode, [&](auto mode) {
    with_flag(k.decay != T(0), [&](auto decay) {
      constexpr GradMode M = decltype(mode)::value;
      constexpr bool kDecay = decltype(decay)::value;
      if (!k.use_momentum) {
        sgd_loop<M, kDecay, false, false>(n, p, g, m, k, gp.a);
      } else if (k.nesterov) {
        sgd_loop<M, kDecay, true, true>(n, p, g, m, k, gp.a);
      } else {
        sgd_loop<M, kDecay, true, false>(n, p, g, m, k, gp.a);
      }
    });
  });
}

template <class T>
void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, T* v_hat, const AdamConstants<T>& k,
                 GradPrep<T> gp) {
  with_mode(gp.mode, [&](auto mode) {
    with_flag(k.decay != T(0), [&](auto decay) {
      with_flag(k.amsgrad, [&](auto amsgrad) {
        constexpr GradMode M = decltype(mode)::value;
        adam_loop<M, decltype(decay)::value, decltype(amsgrad)::value>(n, p, g, m, v, v_hat, k,
                                                                         gp.a);
      });
    });
  });
}

template <class T>
void rmsprop_kernel(int64_t n, T* p, const T* g, T* v, T* mom, T* avg,
                    const RmspropConstants<T>& k, GradPrep<T> gp) {
  with_mode(gp.mode, [&](auto mode) {
    with_flag(k.decay != T(0), [&](auto decay) {
      with_flag(k.use_momentum, [&](auto momentum) {
        with_flag(k.centered, [&](auto centered) {
          constexpr GradMode M = decltype(mode)::value;
          constexpr bool kDecay = decltype(decay)::value;
          constexpr bool kMomentum = decltype(momentum)::value;
          constexpr bool kCentered = decltype(centered)::value;
          rmsprop_loop<M, kDecay, kMomentum, kCentered>(n, p, g, v, mom, avg, k, gp.a);
        });
      });
    });
  });
}

template void axpy_kernel<float>(int64_t, float, const float*, float*);
template void axpy_kernel<double>(int64_t, double, const double*, double*);
template double sum_squares_kernel<float>(int64_t, const float*);
template double sum_squares_kernel<double>(int64_t, const double*);
template void sgd_kernel<float>(int64_t, float*, const float*, float*, const SgdConstants<float>&,
                                GradPrep<float>);
template void sgd_kernel<double>(int64_t, double*, const double*, double*,
                                 const SgdConstants<double>&, GradPrep<double>);
template void adam_kernel<float>(int64_t, float*, const float*, float*, float*, float*,
                                 const AdamConstants<float>&, GradPrep<float>);
template void adam_kernel<double>(int64_t, double*, const double*, double*, double*, double*,
                                  const AdamConstants<double>&, GradPrep<double>);
template void rmsprop_kernel<float>(int64_t, float*, const float*, float*, float*, float*,
                                    const RmspropConstants<float>&, GradPrep<float>);
template void rmsprop_kernel<double>(int64_t, double*, const double*, double*, double*, double*,
                                     const RmspropConstants<double>&, GradPrep<double>);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
