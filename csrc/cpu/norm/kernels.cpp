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

// Joins two accumulators of fold_vectors.
constexpr auto add = [](auto a, auto b) { return a + b; };

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
  const Vec<T> sum = fold_vectors<T>(n, Vec<T>(T(0)), [&](Vec<T> acc, int64_t i, int lanes) {
    return acc + fill_past(load_lanes(x + i, lanes) - vs, lanes, T(0));
  }, add);
  return {shift, sum.reduce_sum() / static_cast<T>(n)};
}

// 1 / sqrt(statistic + eps): the variance about the row's mean (layer, variance_scaling), or
// the mean of the squares (rms).
template <NormKind K, class T>
FASTDL_ALWAYS_INLINE T row_rstd(const T* x, int64_t n, const RowMean<T>& m, T eps) {
  const Vec<T> vs(m.shift), vo(m.offset);
  const Vec<T> sum = fold_vectors<T>(n, Vec<T>(T(0)), [&](Vec<T> acc, int64_t i, int lanes) {
    const Vec<T> v = load_lanes(x + i, lanes);
    if constexpr (K == NormKind::rms) {
      return fma(v, v, acc);
    } else {
      const Vec<T> c = fill_past((v - vs) - vo, lanes, T(0));
      return fma(c, c, acc);
    }
  }, add);
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

// Writes v, the output at p, past the caches when `stream` (see streamable).
template <class T>
FASTDL_ALWAYS_INLINE void write(Vec<T> v, T* p, int lanes, bool stream) {
  if (stream) {
    v.stream(p);
  } else {
    store_lanes(v, p, lanes);
  }
}

// Whether rows of `cols` elements from `out` on can be streamed: every row starts on a vector
// boundary and has no partial vector.
template <class T>
bool streamable(const T* out, int64_t cols) {
  return reinterpret_cast<uintptr_t>(out) % sizeof(Vec<T>) == 0 && cols % Vec<T>::width == 0;
}

template <NormKind K, class T>
void forward_row(const T* x, int64_t n, const T* gamma, const T* beta, T eps, T* y, T* rstd,
                 bool stream) {
  const RowMean<T> m = mean_for<K>(x, n);
  const T r = row_rstd<K>(x, n, m, eps);
  *rstd = r;
  const Vec<T> vr(r), vs(m.shift), vo(m.offset);
  if constexpr (K == NormKind::layer) {
    for_each_vector<T>(n, [&](int64_t i, int lanes) {
      const Vec<T> c = (load_lanes(x + i, lanes) - vs) - vo;
      const Vec<T> scale = vr * load_or(gamma, i, lanes, T(1));
      write(fma(c, scale, load_or(beta, i, lanes, T(0))), y + i, lanes, stream);
    });
  } else {
    for_each_vector<T>(n, [&](int64_t i, int lanes) {
      const Vec<T> scale = vr * load_or(gamma, i, lanes, T(1));
      write(load_lanes(x + i, lanes) * scale, y + i, lanes, stream);
    });
  }
}

// One row of the backward pass. With u = dy * gamma and xn the normalized row (the output
// before gamma and beta), r the row's rstd and n its length:
//   layer             dx = r * (u - mean(u) - xn * mean(u * xn))
//   rms               dx = r * (u - xn * mean(u * xn))
//   variance_scaling  dx = r * (u - c * r * mean(u * xn)), c the centered row
// (the variance depends on x through its centered values, the mean of the squares through x);
// dgamma += dy * xn, dbeta += dy.
template <NormKind K, class T>
struct BackwardRow {
  const T* dy;
  const T* x;
  Vec<T> r, shift, offset, mean_u, mean_u_xn;

  // The row's means of u and u * xn (a pass over the row after the one for its mean).
  void start(const T* dy_row, const T* x_row, int64_t n, const T* gamma, T rstd) {
    dy = dy_row;
    x = x_row;
    const RowMean<T> m = mean_for<K>(x, n);
    r = Vec<T>(rstd);
    shift = Vec<T>(m.shift);
    offset = Vec<T>(m.offset);
    // sum(u) and sum(u * xn) together.
    struct Sums {
      Vec<T> u, u_xn;
      Sums operator+(const Sums& o) const { return {u + o.u, u_xn + o.u_xn}; }
    };
    const Sums sums = fold_vectors<T>(n, Sums{Vec<T>(T(0)), Vec<T>(T(0))},
                                      [&](const Sums& acc, int64_t i, int lanes) {
      const Vec<T> u = load_lanes(dy + i, lanes) * load_or(gamma, i, lanes, T(1));
      return Sums{acc.u + u, fma(u, fill_past(normalized(i, lanes), lanes, T(0)), acc.u_xn)};
    }, add);
    const T inv_n = T(1) / static_cast<T>(n);
    mean_u = Vec<T>(K == NormKind::layer ? sums.u.reduce_sum() * inv_n : T(0));
    mean_u_xn = Vec<T>(sums.u_xn.reduce_sum() * inv_n);
  }

  // The row's values centered (layer, variance_scaling) or as they are (rms).
  FASTDL_ALWAYS_INLINE Vec<T> centered(int64_t i, int lanes) const {
    const Vec<T> v = load_lanes(x + i, lanes);
    if constexpr (K == NormKind::rms) {
      return v;
    } else {
      return (v - shift) - offset;
    }
  }

  FASTDL_ALWAYS_INLINE Vec<T> normalized(int64_t i, int lanes) const {
    if constexpr (K == NormKind::layer) {
      return centered(i, lanes) * r;
    } else {
      return load_lanes(x + i, lanes) * r;
    }
  }

  // dx at i, given the row's dy there (g), gamma there and xn = normalized(i, lanes).
  FASTDL_ALWAYS_INLINE Vec<T> dx(int64_t i, int lanes, Vec<T> g, Vec<T> gamma, Vec<T> xn) const {
    const Vec<T> z = K == NormKind::variance_scaling ? centered(i, lanes) * r : xn;
    return r * fnma(z, mean_u_xn, g * gamma - mean_u);
  }
};

// R consecutive rows' dx, and their terms of dgamma and dbeta added once for all R: a pass over
// the rows reads and writes the parameter sums R times less often than row by row would.
template <NormKind K, int R, class T>
void backward_rows(const T* dy, const T* x, int64_t n, const T* gamma, const T* rstd, T* dx,
                   T* dgamma_sum, T* dbeta_sum, bool stream) {
  BackwardRow<K, T> rows[R];
  for (int k = 0; k < R; ++k) rows[k].start(dy + k * n, x + k * n, n, gamma, rstd[k]);
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    const Vec<T> gm = load_or(gamma, i, lanes, T(1));
    Vec<T> sum_g(T(0)), sum_g_xn(T(0));
    for (int k = 0; k < R; ++k) {
      const Vec<T> g = load_lanes(rows[k].dy + i, lanes);
      const Vec<T> xn = rows[k].normalized(i, lanes);
      write(rows[k].dx(i, lanes, g, gm, xn), dx + k * n + i, lanes, stream);
      sum_g = sum_g + g;
      sum_g_xn = fma(g, xn, sum_g_xn);
    }
    if (dgamma_sum) {
      store_lanes(load_lanes(dgamma_sum + i, lanes) + sum_g_xn, dgamma_sum + i, lanes);
    }
    if (dbeta_sum) store_lanes(load_lanes(dbeta_sum + i, lanes) + sum_g, dbeta_sum + i, lanes);
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
                       const T* beta, T eps, T* y, T* rstd, bool stream) {
  stream = stream && streamable(y, cols);
  with_kind(kind, [&](auto tag) {
    for (int64_t r = 0; r < rows; ++r) {
      forward_row<decltype(tag)::value>(x + r * cols, cols, gamma, beta, eps, y + r * cols,
                                        rstd + r, stream);
    }
  });
  if (stream) stream_fence();
}

template <class T>
void norm_backward_rows(NormKind kind, const T* dy, const T* x, int64_t rows, int64_t cols,
                        const T* gamma, const T* rstd, T* dx, T* dgamma_sum, T* dbeta_sum,
                        bool stream) {
  // Four rows at a time, while four rows of x and dy stay in L1 between their passes, and while
  // the arrays come from the caches: from memory (the arrays that stream their output), the
  // two streams of one row at a time read faster than the eight of four rows. (Zen 4, 2
  // threads, forward and backward: 8192 x 128, 0.385 ms one row at a time, 0.322 ms four;
  // 8192 x 512, 2.50 ms one row, 3.23 four; streamed, 2.26 and 3.74.)
  constexpr int kRows = 4;
  const bool together = !stream && kRows * cols * int64_t(sizeof(T)) * 2 <= 32 * 1024;
  stream = stream && streamable(dx, cols);
  with_kind(kind, [&](auto tag) {
    constexpr NormKind K = decltype(tag)::value;
    int64_t r = 0;
    for (; together && r + kRows <= rows; r += kRows) {
      const int64_t off = r * cols;
      backward_rows<K, kRows>(dy + off, x + off, cols, gamma, rstd + r, dx + off, dgamma_sum,
                              dbeta_sum, stream);
    }
    for (; r < rows; ++r) {
      const int64_t off = r * cols;
      backward_rows<K, 1>(dy + off, x + off, cols, gamma, rstd + r, dx + off, dgamma_sum,
                          dbeta_sum, stream);
    }
  });
  if (stream) stream_fence();
}

#define FASTDL_INSTANTIATE_NORM_KERNELS(T)                                                    \
  template void norm_forward_rows<T>(NormKind, const T*, int64_t, int64_t, const T*, const T*, \
                                     T, T*, T*, bool);                                        \
  template void norm_backward_rows<T>(NormKind, const T*, const T*, int64_t, int64_t, const T*, \
                                      const T*, T*, T*, T*, bool);
FASTDL_INSTANTIATE_NORM_KERNELS(float)
FASTDL_INSTANTIATE_NORM_KERNELS(double)
#undef FASTDL_INSTANTIATE_NORM_KERNELS

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
