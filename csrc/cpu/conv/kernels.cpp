// Patch gathering and scattering for the convolutions, written once against Vec<T>; CMake
// compiles this file once per ISA (generic, avx2, avx512), each copy in its own namespace.
#include <algorithm>
#include <type_traits>

#include "activation/kernels.h"
#include "activation/vector_math.h"
#include "conv/kernels.h"
#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

// dst[i] = src[i] (Copy) or dst[i] += src[i] (Add) for i < n.
template <class T, bool Add>
inline void move_run(const T* src, T* dst, int64_t n) {
  constexpr int W = Vec<T>::width;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    Vec<T> v = Vec<T>::load(src + i);
    if constexpr (Add) v = v + Vec<T>::load(dst + i);
    v.store(dst + i);
  }
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    Vec<T> v = Vec<T>::load(src + i, rest);
    if constexpr (Add) v = v + Vec<T>::load(dst + i, rest);
    v.store(dst + i, rest);
  }
}

template <class T>
inline void zero_run(T* dst, int64_t n) {
  constexpr int W = Vec<T>::width;
  const Vec<T> zero(T(0));
  int64_t i = 0;
  for (; i + W <= n; i += W) zero.store(dst + i);
  if (i < n) zero.store(dst + i, static_cast<int>(n - i));
}

// Walks the patch rows of pixels [first_pixel, first_pixel + rows) and, for every run of taps
// that lies inside the image, calls inside(image_offset, patch_offset, length); for every run
// outside it, outside(patch_offset, length). Offsets in elements; patch offsets count from the
// first row. With unit dilation along W, the taps of one kernel row that are all inside the
// image form one contiguous run of KW * C elements.
template <class Inside, class Outside>
inline void for_each_tap_run(const ConvShape& s, int64_t first_pixel, int64_t rows,
                             Inside&& inside, Outside&& outside) {
  const int64_t C = s.C, K = s.patch(), row_run = s.KW * C;
  const int64_t image = s.H * s.W * C, plane = s.OH * s.OW;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = first_pixel + r;
    const int64_t n = p / plane, oh = (p % plane) / s.OW, ow = p % s.OW;
    const int64_t iw0 = ow * s.stride_w - s.pad_left;
    int64_t dst = r * K;
    for (int64_t kh = 0; kh < s.KH; ++kh, dst += row_run) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.H) {
        outside(dst, row_run);
        continue;
      }
      const int64_t src_row = n * image + ih * s.W * C;
      if (s.dilation_w == 1 && iw0 >= 0 && iw0 + s.KW <= s.W) {
        inside(src_row + iw0 * C, dst, row_run);
        continue;
      }
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        const int64_t iw = iw0 + kw * s.dilation_w;
        if (iw < 0 || iw >= s.W) {
          outside(dst + kw * C, C);
        } else {
          inside(src_row + iw * C, dst + kw * C, C);
        }
      }
    }
  }
}

}  // namespace

template <class T>
void conv_gather_patches(const ConvShape& s, const T* x, int64_t first_pixel, int64_t rows,
                         T* patches) {
  for_each_tap_run(
      s, first_pixel, rows,
      [&](int64_t src, int64_t dst, int64_t n) { move_run<T, false>(x + src, patches + dst, n); },
      [&](int64_t dst, int64_t n) { zero_run(patches + dst, n); });
}

template <class T>
void conv_scatter_patches(const ConvShape& s, const T* patches, int64_t first_pixel,
                          int64_t rows, T* dx) {
  for_each_tap_run(
      s, first_pixel, rows,
      [&](int64_t dst, int64_t src, int64_t n) { move_run<T, true>(patches + src, dx + dst, n); },
      [](int64_t, int64_t) {});
}

namespace {

// The direct kernels' blocks of output channels: NV vectors, at most 16 channels (what
// direct_packed_weights_size makes room for): two vectors up to 8 lanes, one of 16.
template <class T>
constexpr int kDirectVectors = Vec<T>::width >= 16 ? 1 : 2;

// Calls body(std::bool_constant<whole>{}, co) for each block of output channels [co, co + NV
// vectors): the whole blocks, then the partial last one.
template <class T, class Body>
FASTDL_ALWAYS_INLINE void for_direct_channel_blocks(int64_t CO, Body&& body) {
  constexpr int64_t B = kDirectVectors<T> * Vec<T>::width;
  int64_t co = 0;
  for (; co + B <= CO; co += B) body(std::true_type{}, co);
  if (co < CO) body(std::false_type{}, co);
}

// P output pixels x NV vectors of output channels (from co; lanes[v] of vector v are real) of
// one output row, before any activation, from the zero-padded input rows under the kernel
// (`span` elements each, one per kernel row, from the row's first tap column) and the block's
// packed weights (conv_single_channel_pack_weights). Four pixels by sixteen channels measured
// fastest: eight accumulators leave the registers for the two vectors of weights and a
// broadcast input without spilling. kUnit3x3 (a 3x3 kernel with unit stride and dilation along
// the width) fixes the loops' bounds and the taps' offsets at compile time, which the unrolled
// loops turn into constant displacements (measured 40% faster than the same code with them
// read from s).
template <class T, int P, int NV, bool kUnit3x3, bool kWhole>
FASTDL_ALWAYS_INLINE void single_channel_block(const ConvShape& s, const T* padded, int64_t span,
                                               int64_t ow, const T* packed, const T* b, T* out,
                                               int64_t co, const int (&lanes)[NV]) {
  constexpr int W = Vec<T>::width;
  const int64_t KH = kUnit3x3 ? 3 : s.KH, KW = kUnit3x3 ? 3 : s.KW;
  const int64_t stride = kUnit3x3 ? 1 : s.stride_w, dilation = kUnit3x3 ? 1 : s.dilation_w;
  // Every index into acc is a constant once the loops are unrolled: it stays in registers.
  Vec<T> acc[P][NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const Vec<T> bias = b ? load_lanes(b + co + v * W, lanes[v]) : Vec<T>(T(0));
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) acc[p][v] = bias;
  }
  const T* taps = packed + co * KH * KW;
#pragma GCC unroll 3
  for (int64_t kh = 0; kh < KH; ++kh) {
    const T* tap = padded + kh * span + ow * stride;
#pragma GCC unroll 3
    for (int64_t kw = 0; kw < KW; ++kw, taps += NV * W, tap += dilation) {
      Vec<T> wv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) wv[v] = Vec<T>::load(taps + v * W);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const Vec<T> xv(tap[p * stride]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[p][v] = fma(xv, wv[v], acc[p][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      T* at = out + (ow + p) * s.CO + co + v * W;
      if (kWhole) {
        acc[p][v].store(at);
      } else if (lanes[v] > 0) {
        store_lanes(acc[p][v], at, lanes[v]);
      }
    }
  }
}

// One output row's pixels, block by block, for the block of output channels at co (kWhole: a
// whole one, whose stores need no lane checks, which would otherwise cost registers).
template <class T, bool kUnit3x3, bool kWhole>
void single_channel_row_block(const ConvShape& s, const T* padded, const T* packed, const T* b,
                              T* out, int64_t co) {
  constexpr int W = Vec<T>::width, P = 4, NV = kDirectVectors<T>;
  const int64_t span = direct_kernel_span(s);
  int lanes[NV];
  for (int v = 0; v < NV; ++v)
    lanes[v] = static_cast<int>(std::clamp<int64_t>(s.CO - co - v * W, 0, W));
  int64_t ow = 0;
  for (; ow + P <= s.OW; ow += P)
    single_channel_block<T, P, NV, kUnit3x3, kWhole>(s, padded, span, ow, packed, b, out, co,
                                                     lanes);
  for (; ow + 2 <= s.OW; ow += 2)
    single_channel_block<T, 2, NV, kUnit3x3, kWhole>(s, padded, span, ow, packed, b, out, co,
                                                     lanes);
  if (ow < s.OW)
    single_channel_block<T, 1, NV, kUnit3x3, kWhole>(s, padded, span, ow, packed, b, out, co,
                                                     lanes);
}

template <class T, bool kUnit3x3>
void single_channel_row(const ConvShape& s, const T* padded, const T* packed, const T* b,
                        T* out) {
  for_direct_channel_blocks<T>(s.CO, [&](auto whole, int64_t co) {
    single_channel_row_block<T, kUnit3x3, decltype(whole)::value>(s, padded, packed, b, out, co);
  });
}

}  // namespace

namespace {

// The single-channel input rows under the kernel for output row r (flat over N, OH), each
// zero-padded to direct_kernel_span(s) columns: KH rows one after the other in `padded`.
template <class T>
void pad_input_rows(const ConvShape& s, const T* x, int64_t r, T* padded) {
  const int64_t span = direct_kernel_span(s), n = r / s.OH, oh = r % s.OH;
  // Columns [begin, end) of a span are inside the image; the rest is padding.
  const int64_t begin = std::min(span, std::max<int64_t>(0, s.pad_left));
  const int64_t end = std::max(begin, std::min(span, s.pad_left + s.W));
  for (int64_t kh = 0; kh < s.KH; ++kh) {
    T* dst = padded + kh * span;
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.H) {
      zero_run(dst, span);
      continue;
    }
    zero_run(dst, begin);
    move_run<T, false>(x + (n * s.H + ih) * s.W + (begin - s.pad_left), dst + begin, end - begin);
    zero_run(dst + end, span - end);
  }
}

// dw[first_tap + g, co:] (and db when given) += the products of G taps with NV vectors of
// output channels of one output row's gradient dy_row (OW x CO), the taps' input values read
// from `padded`; lanes[v] of vector v are real. Three taps by sixteen channels measured
// fastest: the six accumulators each take one FMA per pixel, and each pixel's three
// broadcasts and two loads feed all six. kUnit3x3 and kWhole as in single_channel_block.
template <class T, int G, int NV, bool kUnit3x3, bool kWhole>
FASTDL_ALWAYS_INLINE void single_channel_weight_taps(const ConvShape& s, const T* padded,
                                                     const T* dy_row, int64_t first_tap,
                                                     int64_t co, const int (&lanes)[NV], T* dw,
                                                     T* db) {
  constexpr int W = Vec<T>::width;
  const int64_t span = direct_kernel_span(s), KW = kUnit3x3 ? 3 : s.KW;
  const int64_t stride = kUnit3x3 ? 1 : s.stride_w, dilation = kUnit3x3 ? 1 : s.dilation_w;
  auto load = [&](const T* p, int v) { return kWhole ? Vec<T>::load(p) : load_lanes(p, lanes[v]); };
  const T* tap[G];
  Vec<T> acc[G][NV], bias[NV];
#pragma GCC unroll 16
  for (int g = 0; g < G; ++g) {
    const int64_t t = first_tap + g, kh = t / KW, kw = t % KW;
    tap[g] = padded + kh * span + kw * dilation;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[g][v] = load(dw + t * s.CO + co + v * W, v);
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) bias[v] = db ? load(db + co + v * W, v) : Vec<T>(T(0));
  for (int64_t ow = 0; ow < s.OW; ++ow) {
    Vec<T> g_out[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      g_out[v] = load(dy_row + ow * s.CO + co + v * W, v);
      if (db) bias[v] = bias[v] + g_out[v];
    }
    const int64_t at = ow * stride;
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g) {
      const Vec<T> xv(tap[g][at]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[g][v] = fma(xv, g_out[v], acc[g][v]);
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    if (!kWhole && lanes[v] == 0) continue;
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g)
      store_lanes(acc[g][v], dw + (first_tap + g) * s.CO + co + v * W, kWhole ? W : lanes[v]);
    if (db) store_lanes(bias[v], db + co + v * W, kWhole ? W : lanes[v]);
  }
}

// One output row's contributions for the block of output channels at co.
template <class T, bool kUnit3x3, bool kWhole>
void single_channel_weight_block(const ConvShape& s, const T* padded, const T* dy_row,
                                 int64_t co, T* dw, T* db) {
  constexpr int W = Vec<T>::width, G = 3, NV = kDirectVectors<T>;
  const int64_t taps = kUnit3x3 ? 9 : s.KH * s.KW;
  int lanes[NV];
  for (int v = 0; v < NV; ++v)
    lanes[v] = static_cast<int>(std::clamp<int64_t>(s.CO - co - v * W, 0, W));
  int64_t t = 0;
  for (; t + G <= taps; t += G) {
    T* bias = t == 0 ? db : nullptr;  // db once per row: with the first taps
    single_channel_weight_taps<T, G, NV, kUnit3x3, kWhole>(s, padded, dy_row, t, co, lanes, dw,
                                                           bias);
  }
  for (; t < taps; ++t) {
    T* bias = t == 0 ? db : nullptr;
    single_channel_weight_taps<T, 1, NV, kUnit3x3, kWhole>(s, padded, dy_row, t, co, lanes, dw,
                                                           bias);
  }
}

template <class T, bool kUnit3x3>
void single_channel_weight_row(const ConvShape& s, const T* padded, const T* dy_row, T* dw,
                               T* db) {
  for_direct_channel_blocks<T>(s.CO, [&](auto whole, int64_t co) {
    single_channel_weight_block<T, kUnit3x3, decltype(whole)::value>(s, padded, dy_row, co, dw,
                                                                     db);
  });
}

}  // namespace

template <class T>
void conv_single_channel_pack_weights(const ConvShape& s, const T* w, T* packed) {
  constexpr int64_t B = kDirectVectors<T> * Vec<T>::width;
  const int64_t taps = s.KH * s.KW;
  for (int64_t co = 0; co < s.CO; co += B)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t j = 0; j < B; ++j)
        *packed++ = co + j < s.CO ? w[t * s.CO + co + j] : T(0);
}

template <class T>
void conv_single_channel_rows(const ConvShape& s, const T* x, const T* packed, const T* b,
                              Activation act, T* y, int64_t first_row, int64_t last_row,
                              T* padded) {
  const int64_t row_size = s.OW * s.CO;
  const bool unit3x3 = s.KH == 3 && s.KW == 3 && s.stride_w == 1 && s.dilation_w == 1;
  for (int64_t r = first_row; r < last_row; ++r) {
    pad_input_rows(s, x, r, padded);
    T* out = y + (r - first_row) * row_size;
    if (unit3x3) {
      single_channel_row<T, true>(s, padded, packed, b, out);
    } else {
      single_channel_row<T, false>(s, padded, packed, b, out);
    }
    // The activation once per row, while the row is in cache: one loop per activation rather
    // than a choice per vector inside the blocks.
    if (act != Activation::none) activation_forward_kernel<T>(act, out, out, row_size, T(0));
  }
}

template <class T>
void conv_single_channel_weight_grad_row(const ConvShape& s, const T* x, int64_t row,
                                         const T* dy_row, T* dw, T* db, T* padded) {
  pad_input_rows(s, x, row, padded);
  if (s.KH == 3 && s.KW == 3 && s.stride_w == 1 && s.dilation_w == 1) {
    single_channel_weight_row<T, true>(s, padded, dy_row, dw, db);
  } else {
    single_channel_weight_row<T, false>(s, padded, dy_row, dw, db);
  }
}

// ---------------------------------------------------------------- Winograd tiles

namespace {

// Channels [c, c + lanes) of the pixel at `pixel`, or zeros where there is no pixel (nullptr:
// padding, or past the edge of the output).
template <class T>
FASTDL_ALWAYS_INLINE Vec<T> load_or_zero(const T* pixel, int64_t c, int lanes) {
  return pixel ? load_lanes(pixel + c, lanes) : Vec<T>(T(0));
}

// The P x P input patch of Winograd tile `tile` (tiles of m x m output pixels, flat over N,
// ceil(OH / m), ceil(OW / m)): a pointer to each pixel's channels, nullptr outside the image.
template <int P, class T>
FASTDL_ALWAYS_INLINE void winograd_patch(const ConvShape& s, const T* x, int64_t tile, int m,
                                         const T* (&rows)[P][P]) {
  const int64_t TH = (s.OH + m - 1) / m, TW = (s.OW + m - 1) / m, n = tile / (TH * TW);
  const int64_t ih0 = m * ((tile / TW) % TH) - s.pad_top, iw0 = m * (tile % TW) - s.pad_left;
  for (int i = 0; i < P; ++i)
    for (int j = 0; j < P; ++j) {
      const int64_t ih = ih0 + i, iw = iw0 + j;
      rows[i][j] = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W
                       ? x + ((n * s.H + ih) * s.W + iw) * s.C
                       : nullptr;
    }
}

}  // namespace

// ---------------------------------------------------------------- Winograd F(4x4, 3x3)
//
// Output tiles of 4x4 pixels from 6x6 input patches, with
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Transformed values are stored as 36 matrices (one per position xi = 6 * i + j of the 6x6
// transform), tiles by channels. The weight gradient (F(3x3, 4x4), the same matrices
// transposed) uses the input transform and conv_winograd4_output_gradient's A g A^T.

namespace {

// B^T applied to six vectors: out[k] = sum_i B^T[k][i] * d[i].
template <class T>
FASTDL_ALWAYS_INLINE void winograd4_bt(const Vec<T> (&d)[6], Vec<T> (&out)[6]) {
  const Vec<T> two(T(2)), four(T(4)), five(T(5));
  out[0] = fma(four, d[0], d[4]) - five * d[2];
  out[1] = (d[3] + d[4]) - four * (d[1] + d[2]);
  out[2] = (d[4] - d[3]) + four * (d[1] - d[2]);
  out[3] = (d[4] - d[2]) + two * (d[3] - d[1]);
  out[4] = (d[4] - d[2]) - two * (d[3] - d[1]);
  out[5] = fma(four, d[1], d[5]) - five * d[3];
}

// A^T applied to six vectors: the four outputs.
template <class T>
FASTDL_ALWAYS_INLINE void winograd4_at(const Vec<T> (&m)[6], Vec<T> (&out)[4]) {
  const Vec<T> two(T(2)), four(T(4)), eight(T(8));
  const Vec<T> sum12 = m[1] + m[2], dif12 = m[1] - m[2];
  const Vec<T> sum34 = m[3] + m[4], dif34 = m[3] - m[4];
  out[0] = m[0] + sum12 + sum34;
  out[1] = fma(two, dif34, dif12);
  out[2] = fma(four, sum34, sum12);
  out[3] = fma(eight, dif34, dif12) + m[5];
}

// A (the transpose of A^T) applied to four vectors: the six values of a 4-tap "kernel" (an
// output-gradient tile) as the weight gradient's F(3x3, 4x4) needs them.
template <class T>
FASTDL_ALWAYS_INLINE void winograd4_a(const Vec<T> (&g)[4], Vec<T> (&out)[6]) {
  const Vec<T> two(T(2)), four(T(4)), eight(T(8));
  const Vec<T> even = g[0] + g[2], odd = g[1] + g[3];
  const Vec<T> even4 = fma(four, g[2], g[0]), odd8 = fma(eight, g[3], two * g[1]);
  out[0] = g[0];
  out[1] = even + odd;
  out[2] = even - odd;
  out[3] = even4 + odd8;
  out[4] = even4 - odd8;
  out[5] = g[3];
}

}  // namespace

template <class T>
void conv_winograd4_input(const ConvShape& s, const T* x, int64_t first_tile, int64_t tiles,
                          T* v) {
  constexpr int W = Vec<T>::width;
  const int64_t C = s.C;
  const int64_t plane = tiles * C;
  for (int64_t t = 0; t < tiles; ++t) {
    const T* rows[6][6];
    winograd_patch(s, x, first_tile + t, 4, rows);
    for (int64_t c = 0; c < C; c += W) {
      const int lanes = static_cast<int>(C - c < W ? C - c : W);
      Vec<T> u[6][6];  // u[k][j] = (B^T d)[k][j], column by column
      for (int j = 0; j < 6; ++j) {
        Vec<T> d[6], col[6];
        for (int i = 0; i < 6; ++i)
          d[i] = load_or_zero(rows[i][j], c, lanes);
        winograd4_bt(d, col);
        for (int k = 0; k < 6; ++k) u[k][j] = col[k];
      }
      T* out = v + t * C + c;
      for (int k = 0; k < 6; ++k) {  // (B^T d) B, row by row
        Vec<T> row[6];
        winograd4_bt(u[k], row);
        for (int l = 0; l < 6; ++l) store_lanes(row[l], out + (6 * k + l) * plane, lanes);
      }
    }
  }
}

template <class T>
void conv_winograd4_output(const ConvShape& s, const T* m, const T* b, Activation act,
                           int64_t first_tile, int64_t tiles, T* y) {
  constexpr int W = Vec<T>::width;
  const int64_t CO = s.CO, TH = (s.OH + 3) / 4, TW = (s.OW + 3) / 4;
  const int64_t plane = tiles * CO;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t tile = first_tile + t, n = tile / (TH * TW);
    const int64_t oh0 = 4 * ((tile / TW) % TH), ow0 = 4 * (tile % TW);
    const int out_rows = static_cast<int>(std::min<int64_t>(4, s.OH - oh0));
    const int out_cols = static_cast<int>(std::min<int64_t>(4, s.OW - ow0));
    T* y00 = y + ((n * s.OH + oh0) * s.OW + ow0) * CO;
    for (int64_t c = 0; c < CO; c += W) {
      const int lanes = static_cast<int>(CO - c < W ? CO - c : W);
      const T* in = m + t * CO + c;
      Vec<T> r[4][6];  // A^T m, column by column
      for (int j = 0; j < 6; ++j) {
        Vec<T> col[6], o[4];
        for (int i = 0; i < 6; ++i) col[i] = load_lanes(in + (6 * i + j) * plane, lanes);
        winograd4_at(col, o);
        for (int a = 0; a < 4; ++a) r[a][j] = o[a];
      }
      const Vec<T> bias = b ? load_lanes(b + c, lanes) : Vec<T>(T(0));
      for (int a = 0; a < out_rows; ++a) {  // (A^T m) A, row by row
        Vec<T> o[4];
        winograd4_at(r[a], o);
        T* row = y00 + a * s.OW * CO + c;
        for (int e = 0; e < out_cols; ++e) {
          Vec<T> out = o[e] + bias;
          if (act != Activation::none) out = activate(act, out, T(0));
          store_lanes(out, row + e * CO, lanes);
        }
      }
    }
  }
}

template <class T>
void conv_winograd4_output_gradient(const ConvShape& s, const T* dy, int64_t first_tile,
                                    int64_t tiles, T* u) {
  constexpr int W = Vec<T>::width;
  const int64_t CO = s.CO, TH = (s.OH + 3) / 4, TW = (s.OW + 3) / 4;
  const int64_t plane = tiles * CO;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t tile = first_tile + t, n = tile / (TH * TW);
    const int64_t oh0 = 4 * ((tile / TW) % TH), ow0 = 4 * (tile % TW);
    const T* at[4][4];  // nullptr past the edge of the output
    for (int a = 0; a < 4; ++a)
      for (int b = 0; b < 4; ++b)
        at[a][b] = oh0 + a < s.OH && ow0 + b < s.OW
                       ? dy + ((n * s.OH + oh0 + a) * s.OW + ow0 + b) * CO
                       : nullptr;
    for (int64_t c = 0; c < CO; c += W) {
      const int lanes = static_cast<int>(CO - c < W ? CO - c : W);
      Vec<T> r[6][4];  // A g, column by column
      for (int b = 0; b < 4; ++b) {
        Vec<T> g[4], col[6];
        for (int a = 0; a < 4; ++a) g[a] = load_or_zero(at[a][b], c, lanes);
        winograd4_a(g, col);
        for (int i = 0; i < 6; ++i) r[i][b] = col[i];
      }
      T* out = u + t * CO + c;
      for (int i = 0; i < 6; ++i) {  // (A g) A^T, row by row
        Vec<T> row[6];
        winograd4_a(r[i], row);
        for (int j = 0; j < 6; ++j) store_lanes(row[j], out + (6 * i + j) * plane, lanes);
      }
    }
  }
}

template void conv_winograd4_input<float>(const ConvShape&, const float*, int64_t, int64_t,
                                          float*);
template void conv_winograd4_input<double>(const ConvShape&, const double*, int64_t, int64_t,
                                           double*);
template void conv_winograd4_output<float>(const ConvShape&, const float*, const float*,
                                           Activation, int64_t, int64_t, float*);
template void conv_winograd4_output<double>(const ConvShape&, const double*, const double*,
                                            Activation, int64_t, int64_t, double*);
template void conv_winograd4_output_gradient<float>(const ConvShape&, const float*, int64_t,
                                                    int64_t, float*);
template void conv_winograd4_output_gradient<double>(const ConvShape&, const double*, int64_t,
                                                     int64_t, double*);

template void conv_gather_patches<float>(const ConvShape&, const float*, int64_t, int64_t,
                                         float*);
template void conv_gather_patches<double>(const ConvShape&, const double*, int64_t, int64_t,
                                          double*);
template void conv_scatter_patches<float>(const ConvShape&, const float*, int64_t, int64_t,
                                          float*);
template void conv_scatter_patches<double>(const ConvShape&, const double*, int64_t, int64_t,
                                           double*);
template void conv_single_channel_pack_weights<float>(const ConvShape&, const float*, float*);
template void conv_single_channel_pack_weights<double>(const ConvShape&, const double*,
                                                       double*);
template void conv_single_channel_rows<float>(const ConvShape&, const float*, const float*,
                                              const float*, Activation, float*, int64_t, int64_t,
                                              float*);
template void conv_single_channel_rows<double>(const ConvShape&, const double*, const double*,
                                               const double*, Activation, double*, int64_t,
                                               int64_t, double*);
template void conv_single_channel_weight_grad_row<float>(const ConvShape&, const float*,
                                                         int64_t, const float*, float*, float*,
                                                         float*);
template void conv_single_channel_weight_grad_row<double>(const ConvShape&, const double*,
                                                          int64_t, const double*, double*,
                                                          double*, double*);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
