// The direct kernels of the convolution with one input channel, written once against Vec<T>;
// CMake compiles this file once per ISA (generic, avx2, avx512), each copy in its own namespace.
#include <algorithm>
#include <type_traits>

#include "activation/kernels.h"
#include "conv/kernels.h"
#include "conv/runs.h"
#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
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
    if (act != Activation::none) {
      activation_forward_kernel<T>(act, out, out, row_size, T(0), false);
    }
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
