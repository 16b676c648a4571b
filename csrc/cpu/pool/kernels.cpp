// Pooling row kernels, written once against Vec<T>; CMake compiles this file once per ISA
// (generic, avx2, avx512), each copy in its own namespace.
//
// NHWC keeps the channels of one pixel contiguous, so every kernel works on a pixel's channels
// as a few vectors (kBlock at a time, then single ones, the last masked) and walks the window
// positions around them: a window costs pool_h * pool_w vector loads per block, with the
// running maxima, argmaxes or sums held in registers.
//
// The backward kernels gather: each input element sums the contributions of the windows that
// cover it, in output order, and is written once. Where windows cannot overlap along the width
// (stride_w >= pool_w) and an input row lies in a single window row, a faster path loads each
// window's gradient once and writes it to the window's columns.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "fastdl/simd.h"
#include "pool/kernels.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

// Vectors per block of channels: 4 running maxima and 4 argmaxes stay in registers.
constexpr int kBlock = 4;

// floor(a / b) for b > 0.
inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((b - 1 - a) / b); }

// A half-open range [begin, end) of indices along one axis.
struct Span {
  int64_t begin, end;
  bool empty() const { return begin >= end; }
  int64_t size() const { return end - begin; }
};

// The input indices of output `o`'s window along one axis, clipped to the input [0, size).
inline Span window_span(int64_t o, int64_t stride, int64_t pad, int64_t pool, int64_t size) {
  const int64_t start = o * stride - pad;
  return {std::max<int64_t>(start, 0), std::min<int64_t>(start + pool, size)};
}

// The outputs along one axis whose windows cover input index i (o * stride - pad <= i <
// o * stride - pad + pool), clipped to [0, out).
inline Span covering_span(int64_t i, int64_t stride, int64_t pad, int64_t pool, int64_t out) {
  return {std::max<int64_t>(floor_div(i + pad - pool, stride) + 1, 0),
          std::min<int64_t>(floor_div(i + pad, stride) + 1, out)};
}

// Calls body(std::integral_constant<int, K>, c, lanes) over the channels [0, C): blocks of
// kBlock whole vectors, then single vectors; `lanes` is the number of channels in the last
// vector of the call (a whole vector except at the very end).
template <class T, class Body>
FASTDL_ALWAYS_INLINE void for_channel_blocks(int64_t C, Body&& body) {
  constexpr int W = Vec<T>::width;
  int64_t c = 0;
  for (; c + kBlock * W <= C; c += kBlock * W) body(std::integral_constant<int, kBlock>{}, c, W);
  for (; c + W <= C; c += W) body(std::integral_constant<int, 1>{}, c, W);
  if (c < C) body(std::integral_constant<int, 1>{}, c, static_cast<int>(C - c));
}

// Lanes in vector j of a block of K whose last vector has `lanes` lanes.
template <class T, int K>
FASTDL_ALWAYS_INLINE int lanes_of(int j, int lanes) {
  return j == K - 1 ? lanes : Vec<T>::width;
}

// a | b for comparison masks (lanes all-ones/all-zeros, or 1/0 in the portable build).
template <class T>
FASTDL_ALWAYS_INLINE Vec<T> either(Vec<T> a, Vec<T> b) {
  return select(a, a, b);
}

template <class T>
inline void fill_zero(T* p, int64_t n) {
  std::fill(p, p + n, T(0));
}

// ---------------------------------------------------------------- max pooling

// One output row, from input rows that start at `rows`: input row h of the row's image at
// rows + (h - first_h) * width * channels. A candidate v replaces the running maximum m unless
// v <= m or m is already NaN: the first maximum in scan order wins ties, and the first NaN wins
// over everything. The running maximum starts at -inf with the argmax at the window's first
// position, which the first candidate then takes (it is >= -inf, or NaN).
//
// A row is scanned first on the assumption that it holds no NaN: m = max(v, m) takes v only
// when v > m, and the argmax follows the same comparison, so the only chain from one candidate
// to the next is one max. The sum of the row's candidates, NaN if any was NaN, tells whether
// the row needs the exact scan after all (also when it holds both infinities). With the exact
// rule's comparisons, masks and blends on every candidate, 4 x 26 x 26 x 32 -> 13 x 13 with
// its argmax took 17.6 us on one Zen 4 core, against 11.0 us this way.
template <bool kArgmax, class T>
void max_pool_row(const T* rows, int64_t first_h, T* y, int32_t* argmax, const Pool2dShape& s,
                  int64_t row) {
  constexpr int W = Vec<T>::width;
  const int64_t oh = row % s.out_height, C = s.channels;
  const Span hs = window_span(oh, s.stride_h, s.pad_top, s.pool_h, s.height);
  // Scans every window of the row, calling update(m, a, sum, v, pos) for each candidate in scan
  // order (m, a and sum: the running maximum, argmax and sum of its vector in the window), and
  // stores the results; returns the sum of the row's sums.
  auto scan_row = [&](auto&& update) {
    Vec<T> row_sum(T(0));
    for (int64_t ow = 0; ow < s.out_width; ++ow) {
      const Span ws = window_span(ow, s.stride_w, s.pad_left, s.pool_w, s.width);
      const int64_t out = (row * s.out_width + ow) * C;
      const int32_t first = static_cast<int32_t>(hs.begin * s.width + ws.begin);
      for_channel_blocks<T>(C, [&](auto block, int64_t c, int lanes) {
        constexpr int K = decltype(block)::value;
        Vec<T> m[K], sum[K];
        IndexVec<T> a[K];
        for (int j = 0; j < K; ++j) {
          m[j] = Vec<T>(-std::numeric_limits<T>::infinity());
          a[j] = IndexVec<T>(first);
          sum[j] = Vec<T>(T(0));
        }
        // The window's rows and columns: fixed at compile time for the usual 2 x 2 window,
        // whose loops then unroll (12.6 -> 11.0 us of the figures above).
        auto window = [&](auto fixed_rows, auto fixed_cols) {
          constexpr int64_t FH = decltype(fixed_rows)::value, FW = decltype(fixed_cols)::value;
          const int64_t rows_in = FH ? FH : hs.size(), cols_in = FW ? FW : ws.size();
          for (int64_t dh = 0; dh < rows_in; ++dh) {
            for (int64_t dw = 0; dw < cols_in; ++dw) {
              const int64_t h = hs.begin + dh, w = ws.begin + dw;
              const T* p = rows + ((h - first_h) * s.width + w) * C + c;
              const IndexVec<T> pos(static_cast<int32_t>(h * s.width + w));
              for (int j = 0; j < K; ++j) {
                update(m[j], a[j], sum[j], load_lanes(p + j * W, lanes_of<T, K>(j, lanes)),
                       pos);
              }
            }
          }
        };
        using Two = std::integral_constant<int64_t, 2>;
        using Any = std::integral_constant<int64_t, 0>;
        if (hs.size() == 2 && ws.size() == 2) {
          window(Two{}, Two{});
        } else {
          window(Any{}, Any{});
        }
        for (int j = 0; j < K; ++j) {
          row_sum = row_sum + sum[j];
          store_lanes(m[j], y + out + c + j * W, lanes_of<T, K>(j, lanes));
          if constexpr (kArgmax) {
            store_lanes(a[j], argmax + out + c + j * W, lanes_of<T, K>(j, lanes));
          }
        }
      });
    }
    return row_sum;
  };
  const Vec<T> sum = scan_row([](Vec<T>& m, IndexVec<T>& a, Vec<T>& sum, Vec<T> v,
                                 IndexVec<T> pos) {
    if constexpr (kArgmax) a = select(m < v, pos, a);
    m = max(v, m);  // m when v is NaN (simd.h): the sum catches that case
    sum = sum + v;
  });
  if (!std::isnan(sum.reduce_sum())) return;
  scan_row([](Vec<T>& m, IndexVec<T>& a, Vec<T>&, Vec<T> v, IndexVec<T> pos) {
    const Vec<T> stay = either(v <= m, is_nan(m));
    m = select(stay, m, v);
    if constexpr (kArgmax) a = select(stay, a, pos);
  });
}

// ---------------------------------------------------------------- average pooling

// One output row: the sum over the window's positions inside the input, divided by their count.
template <class T>
void avg_pool_row(const T* x, T* y, const Pool2dShape& s, int64_t row) {
  constexpr int W = Vec<T>::width;
  const int64_t n = row / s.out_height, oh = row % s.out_height, C = s.channels;
  const Span hs = window_span(oh, s.stride_h, s.pad_top, s.pool_h, s.height);
  const T* image = x + n * s.height * s.width * C;
  for (int64_t ow = 0; ow < s.out_width; ++ow) {
    const Span ws = window_span(ow, s.stride_w, s.pad_left, s.pool_w, s.width);
    const Vec<T> count(static_cast<T>(hs.size() * ws.size()));
    T* out = y + (row * s.out_width + ow) * C;
    for_channel_blocks<T>(C, [&](auto block, int64_t c, int lanes) {
      constexpr int K = decltype(block)::value;
      Vec<T> acc[K];
      for (int j = 0; j < K; ++j) acc[j] = Vec<T>(T(0));
      for (int64_t h = hs.begin; h < hs.end; ++h) {
        for (int64_t w = ws.begin; w < ws.end; ++w) {
          const T* p = image + (h * s.width + w) * C + c;
          for (int j = 0; j < K; ++j) {
            acc[j] = acc[j] + load_lanes(p + j * W, lanes_of<T, K>(j, lanes));
          }
        }
      }
      for (int j = 0; j < K; ++j) {
        store_lanes(acc[j] / count, out + c + j * W, lanes_of<T, K>(j, lanes));
      }
    });
  }
}

// 1 / (the number of input positions in window (oh, ow)).
template <class T>
inline T inverse_count(const Pool2dShape& s, int64_t oh, int64_t ow) {
  const Span hs = window_span(oh, s.stride_h, s.pad_top, s.pool_h, s.height);
  const Span ws = window_span(ow, s.stride_w, s.pad_left, s.pool_w, s.width);
  return T(1) / static_cast<T>(hs.size() * ws.size());
}

// ---------------------------------------------------------------- backward, both poolings
//
// What a window's output gradient gives each input position it covers: for max pooling the
// gradient where the window's argmax names the position (else 0), for average pooling the
// gradient divided by the window's count of input positions. `load` reads a window's vector
// once; `share` is what position `pos` receives from it.

template <class T>
struct MaxPoolGradient {
  const T* dy;
  const int32_t* argmax;
  struct Window {
    Vec<T> g;
    IndexVec<T> a;
  };
  FASTDL_ALWAYS_INLINE Window load(int64_t out, int64_t, int64_t, int lanes) const {
    return {load_lanes(dy + out, lanes), load_index_lanes<T>(argmax + out, lanes)};
  }
  FASTDL_ALWAYS_INLINE Vec<T> share(const Window& w, IndexVec<T> pos) const {
    return mask_and(w.a == pos, w.g);
  }
};

template <class T>
struct AvgPoolGradient {
  const T* dy;
  const Pool2dShape& s;
  struct Window {
    Vec<T> g;
  };
  FASTDL_ALWAYS_INLINE Window load(int64_t out, int64_t oh, int64_t ow, int lanes) const {
    return {load_lanes(dy + out, lanes) * Vec<T>(inverse_count<T>(s, oh, ow))};
  }
  FASTDL_ALWAYS_INLINE Vec<T> share(const Window& w, IndexVec<T>) const { return w.g; }
};

// One input-gradient row when it lies in the single window row `oh` and windows do not overlap
// along the width: each window's gradient is loaded once and written to the window's columns;
// columns outside every window get zeros.
template <class T, class Gradient>
void pool_backward_row_disjoint(const Gradient& grad, T* row, const Pool2dShape& s, int64_t n,
                                int64_t h, int64_t oh) {
  constexpr int W = Vec<T>::width;
  const int64_t C = s.channels;
  int64_t done = 0;  // columns [0, done) written
  for (int64_t ow = 0; ow < s.out_width; ++ow) {
    const Span ws = window_span(ow, s.stride_w, s.pad_left, s.pool_w, s.width);
    fill_zero(row + done * C, (ws.begin - done) * C);
    const int64_t out = ((n * s.out_height + oh) * s.out_width + ow) * C;
    for_channel_blocks<T>(C, [&](auto block, int64_t c, int lanes) {
      constexpr int K = decltype(block)::value;
      typename Gradient::Window win[K];
      for (int j = 0; j < K; ++j) {
        win[j] = grad.load(out + c + j * W, oh, ow, lanes_of<T, K>(j, lanes));
      }
      for (int64_t w = ws.begin; w < ws.end; ++w) {
        const IndexVec<T> pos(static_cast<int32_t>(h * s.width + w));
        T* p = row + w * C + c;
        for (int j = 0; j < K; ++j) {
          store_lanes(grad.share(win[j], pos), p + j * W, lanes_of<T, K>(j, lanes));
        }
      }
    });
    done = ws.end;
  }
  fill_zero(row + done * C, (s.width - done) * C);
}

// Input-gradient row `row` (flat over batch, height) in general, written to dx_row: every
// element sums what the windows covering it give it.
template <class T, class Gradient>
void pool_backward_row(const Gradient& grad, T* dx_row, const Pool2dShape& s, int64_t row) {
  constexpr int W = Vec<T>::width;
  const int64_t n = row / s.height, h = row % s.height, C = s.channels;
  const Span ohs = covering_span(h, s.stride_h, s.pad_top, s.pool_h, s.out_height);
  if (ohs.empty()) {
    fill_zero(dx_row, s.width * C);
    return;
  }
  if (ohs.size() == 1 && s.stride_w >= s.pool_w) {
    pool_backward_row_disjoint<T>(grad, dx_row, s, n, h, ohs.begin);
    return;
  }
  for (int64_t w = 0; w < s.width; ++w) {
    const Span ows = covering_span(w, s.stride_w, s.pad_left, s.pool_w, s.out_width);
    const IndexVec<T> pos(static_cast<int32_t>(h * s.width + w));
    T* p = dx_row + w * C;
    for_channel_blocks<T>(C, [&](auto block, int64_t c, int lanes) {
      constexpr int K = decltype(block)::value;
      Vec<T> acc[K];
      for (int j = 0; j < K; ++j) acc[j] = Vec<T>(T(0));
      for (int64_t oh = ohs.begin; oh < ohs.end; ++oh) {
        for (int64_t ow = ows.begin; ow < ows.end; ++ow) {
          const int64_t out = ((n * s.out_height + oh) * s.out_width + ow) * C + c;
          for (int j = 0; j < K; ++j) {
            const int l = lanes_of<T, K>(j, lanes);
            acc[j] = acc[j] + grad.share(grad.load(out + j * W, oh, ow, l), pos);
          }
        }
      }
      for (int j = 0; j < K; ++j) store_lanes(acc[j], p + c + j * W, lanes_of<T, K>(j, lanes));
    });
  }
}


}  // namespace

template <class T>
void max_pool2d_rows(const T* x, T* y, int32_t* argmax, const Pool2dShape& s, int64_t begin,
                     int64_t end) {
  const int64_t image = s.height * s.width * s.channels;
  for (int64_t row = begin; row < end; ++row) {
    const T* rows = x + row / s.out_height * image;
    if (argmax) {
      max_pool_row<true>(rows, 0, y, argmax, s, row);
    } else {
      max_pool_row<false>(rows, 0, y, argmax, s, row);
    }
  }
}

template <class T>
void max_pool2d_row_from(const T* rows, int64_t first_h, T* y, int32_t* argmax,
                         const Pool2dShape& s, int64_t row) {
  max_pool_row<true>(rows, first_h, y, argmax, s, row);
}

template <class T>
void max_pool2d_backward_rows(const T* dy, const int32_t* argmax, T* dx, const Pool2dShape& s,
                              int64_t begin, int64_t end) {
  const MaxPoolGradient<T> grad{dy, argmax};
  const int64_t row_size = s.width * s.channels;
  for (int64_t row = begin; row < end; ++row)
    pool_backward_row<T>(grad, dx + row * row_size, s, row);
}

template <class T>
void max_pool2d_backward_row_to(const T* dy, const int32_t* argmax, const Pool2dShape& s,
                                int64_t row, T* dx_row) {
  pool_backward_row<T>(MaxPoolGradient<T>{dy, argmax}, dx_row, s, row);
}

template <class T>
void avg_pool2d_rows(const T* x, T* y, const Pool2dShape& s, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) avg_pool_row(x, y, s, row);
}

template <class T>
void avg_pool2d_backward_rows(const T* dy, T* dx, const Pool2dShape& s, int64_t begin,
                              int64_t end) {
  const AvgPoolGradient<T> grad{dy, s};
  const int64_t row_size = s.width * s.channels;
  for (int64_t row = begin; row < end; ++row)
    pool_backward_row<T>(grad, dx + row * row_size, s, row);
}

template void max_pool2d_rows<float>(const float*, float*, int32_t*, const Pool2dShape&, int64_t,
                                     int64_t);
template void max_pool2d_rows<double>(const double*, double*, int32_t*, const Pool2dShape&,
                                      int64_t, int64_t);
template void max_pool2d_backward_rows<float>(const float*, const int32_t*, float*,
                                              const Pool2dShape&, int64_t, int64_t);
template void max_pool2d_backward_rows<double>(const double*, const int32_t*, double*,
                                               const Pool2dShape&, int64_t, int64_t);
template void max_pool2d_row_from<float>(const float*, int64_t, float*, int32_t*,
                                         const Pool2dShape&, int64_t);
template void max_pool2d_row_from<double>(const double*, int64_t, double*, int32_t*,
                                          const Pool2dShape&, int64_t);
template void max_pool2d_backward_row_to<float>(const float*, const int32_t*,
                                                const Pool2dShape&, int64_t, float*);
template void max_pool2d_backward_row_to<double>(const double*, const int32_t*,
                                                 const Pool2dShape&, int64_t, double*);
template void avg_pool2d_rows<float>(const float*, float*, const Pool2dShape&, int64_t, int64_t);
template void avg_pool2d_rows<double>(const double*, double*, const Pool2dShape&, int64_t,
                                      int64_t);
template void avg_pool2d_backward_rows<float>(const float*, float*, const Pool2dShape&, int64_t,
                                              int64_t);
template void avg_pool2d_backward_rows<double>(const double*, double*, const Pool2dShape&,
                                               int64_t, int64_t);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
