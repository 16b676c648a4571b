// Normalization row kernels, written once against Vec<T>; CMake compiles this file once per ISA
// (generic, avx2, avx512), each copy in its own namespace.
//
// A row is read a few times (its statistics, then the output); the rows a layer normalizes
// (hundreds to thousands of values) stay in L1 between the passes, so each pass costs compute,
// not memory.
#include <cmath>
#include <type_traits>

#include "fastdl/simd.h"
#include "norm/kernels.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

template <class T>
FASTDL_ALWAYS_INLINE Vec<T> load_or(const T* p, int64_t i, int lanes, T fallback) {
  return p ? load_lanes(p + i, lanes) : Vec<T>(fallback);
}

// The mean of a row as shift + offset: shift is its first element and offset the mean of
// x - shift, whose terms are exact when the values are close to each other (Sterbenz), so a
// row near 1e6 with a spread of 1 has its mean to float32's precision of the spread rather than
// of 1e6. Its centered values are (x - shift) - offset.
template <class T>
struct RowMean {
  T shift, offset;
};

template <class T>
FASTDL_ALWAYS_INLINE RowMean<T> row_mean(const T* x, int64_t n) {
  const T shift = x[0];
  const Vec<T> vs(shift);
  Vec<T> sum(T(0));
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    sum = sum + fill_past(load_lanes(x + i, lanes) - vs, lanes, T(0));
  });
  return {shift, sum.reduce_sum() / static_cast<T>(n)};
}

// 1 / sqrt(statistic + eps): the variance about the row's mean (layer, variance_scaling), or
// the mean of the squares (rms).
template <NormKind K, class T>
FASTDL_ALWAYS_INLINE T row_rstd(const T* x, int64_t n, const RowMean<T>& m, T eps) {
  Vec<T> sum(T(0));
  if constexpr (K == NormKind::rms) {
    for_each_vector<T>(n, [&](int64_t i, int lanes) {
      const Vec<T> v = load_lanes(x + i, lanes);
      sum = fma(v, v, sum);
    });
  } else {
    const Vec<T> vs(m.shift), vo(m.offset);
    for_each_vector<T>(n, [&](int64_t i, int lanes) {
      const Vec<T> c = fill_past((load_lanes(x + i, lanes) - vs) - vo, lanes, T(0));
      sum = fma(c, c, sum);
    });
  }
  return T(1) / std::sqrt(sum.reduce_sum() / static_cast<T>(n) + eps);
}

// The row's mean where the kind centers or scales by the variance; none for rms.
template <NormKind K, class T>
FASTDL_ALWAYS_INLINE RowMean<T> mean_for(const T* x, int64_t n) {
  if constexpr (K == NormKind::rms) {
    return {T(0), T(0)};
  } else {
    return row_mean(x, n);
  }
}

template <NormKind K, class T>
void forward_row(const T* x, int64_t n, const T* gamma, const T* beta, T eps, T* y, T* rstd) {
  const RowMean<T> m = mean_for<K>(x, n);
  const T r = row_rstd<K>(x, n, m, eps);
  *rstd = r;
  const Vec<T> vr(r), vs(m.shift), vo(m.offset);
  if constexpr (K == NormKind::layer) {
    for_each_vector<T>(n, [&](int64_t i, int lanes) {
      const Vec<T> c = (load_lanes(x + i, lanes) - vs) - vo;
      const Vec<T> scale = vr * load_or(gamma, i, lanes, T(1));
      store_lanes(fma(c, scale, load_or(beta, i, lanes, T(0))), y + i, lanes);
    });
  } else {
    for_each_vector<T>(n, [&](int64_t i, int lanes) {
      const Vec<T> scale = vr * load_or(gamma, i, lanes, T(1));
      store_lanes(load_lanes(x + i, lanes) * scale, y + i, lanes);
    });
  }
}

// With u = dy * gamma and xn the normalized row (the output before gamma and beta), r the
// row's rstd and n its length:
//   layer             dx = r * (u - mean(u) - xn * mean(u * xn))
//   rms               dx = r * (u - xn * mean(u * xn))
//   variance_scaling  dx = r * (u - c * r * mean(u * xn)), c the centered row
// (the variance depends on x through its centered values, the mean of the squares through x);
// dgamma += dy * xn, dbeta += dy.
template <NormKind K, class T>
void backward_row(const T* dy, const T* x, int64_t n, const T* gamma, T r, T* dx, T* dgamma_sum,
                  T* dbeta_sum) {
  const RowMean<T> m = mean_for<K>(x, n);
  const Vec<T> vr(r), vs(m.shift), vo(m.offset);
  constexpr bool centers = K == NormKind::layer;
  // The row's values centered (layer, variance_scaling) or as they are (rms).
  const auto centered = [&](int64_t i, int lanes) {
    const Vec<T> v = load_lanes(x + i, lanes);
    if constexpr (K == NormKind::rms) {
      return v;
    } else {
      return (v - vs) - vo;
    }
  };
  const auto normalized = [&](int64_t i, int lanes) {
    return (centers ? centered(i, lanes) : load_lanes(x + i, lanes)) * vr;
  };
  Vec<T> sum_u(T(0)), sum_u_xn(T(0));
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    const Vec<T> u = load_lanes(dy + i, lanes) * load_or(gamma, i, lanes, T(1));
    sum_u = sum_u + u;
    sum_u_xn = fma(u, fill_past(normalized(i, lanes), lanes, T(0)), sum_u_xn);
  });
  const T inv_n = T(1) / static_cast<T>(n);
  const Vec<T> mean_u(centers ? sum_u.reduce_sum() * inv_n : T(0));
  const Vec<T> mean_u_xn(sum_u_xn.reduce_sum() * inv_n);
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    const Vec<T> g = load_lanes(dy + i, lanes);
    const Vec<T> u = g * load_or(gamma, i, lanes, T(1));
    const Vec<T> xn = normalized(i, lanes);
    const Vec<T> z = K == NormKind::variance_scaling ? centered(i, lanes) * vr : xn;
    store_lanes(vr * fnma(z, mean_u_xn, u - mean_u), dx + i, lanes);
    if (dgamma_sum) {
      store_lanes(fma(g, xn, load_lanes(dgamma_sum + i, lanes)), dgamma_sum + i, lanes);
    }
    if (dbeta_sum) store_lanes(load_lanes(dbeta_sum + i, lanes) + g, dbeta_sum + i, lanes);
  });
}

// Calls f(kind tag) with the kind as a compile-time constant.
template <class F>
void with_kind(NormKind kind, F&& f) {
  switch (kind) {
    case NormKind::layer:
      return f(std::integral_constant<NormKind, NormKind::layer>{});
    case NormKind::rms:
      return f(std::integral_constant<NormKind, NormKind::rms>{});
    case NormKind::variance_scaling:
      return f(std::integral_constant<NormKind, NormKind::variance_scaling>{});
  }
}

}  // namespace

template <class T>
void norm_forward_rows(NormKind kind, const T* x, int64_t rows, int64_t cols, const T* gamma,
                       const T* beta, T eps, T* y, T* rstd) {
  with_kind(kind, [&](auto tag) {
    for (int64_t r = 0; r < rows; ++r) {
      forward_row<decltype(tag)::value>(x + r * cols, cols, gamma, beta, eps, y + r * cols,
                                        rstd + r);
    }
  });
}

template <class T>
void norm_backward_rows(NormKind kind, const T* dy, const T* x, int64_t rows, int64_t cols,
                        const T* gamma, const T* rstd, T* dx, T* dgamma_sum, T* dbeta_sum) {
  with_kind(kind, [&](auto tag) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t off = r * cols;
      backward_row<decltype(tag)::value>(dy + off, x + off, cols, gamma, rstd[r], dx + off,
                                         dgamma_sum, dbeta_sum);
    }
  });
}

#define FASTDL_INSTANTIATE_NORM_KERNELS(T)                                                    \
  template void norm_forward_rows<T>(NormKind, const T*, int64_t, int64_t, const T*, const T*, \
                                     T, T*, T*);                                              \
  template void norm_backward_rows<T>(NormKind, const T*, const T*, int64_t, int64_t, const T*, \
                                      const T*, T*, T*, T*);
FASTDL_INSTANTIATE_NORM_KERNELS(float)
FASTDL_INSTANTIATE_NORM_KERNELS(double)
#undef FASTDL_INSTANTIATE_NORM_KERNELS

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
