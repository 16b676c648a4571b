// Winograd's transforms for the convolution with a 3x3 kernel, written once against Vec<T>;
// CMake compiles this file once per ISA (generic, avx2, avx512), each copy in its own namespace.
#include <algorithm>

#include "activation/vector_math.h"
#include "conv/kernels.h"
#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

namespace {

// Channels [c, c + lanes) of the pixel at `pixel`, or zeros where there is no pixel (nullptr:
// padding, or past the edge of the output).
template <class T>
FASTDL_ALWAYS_INLINE Vec<T> load_or_zero(const T* pixel, int64_t c, int lanes) {
  return pixel ? load_lanes(pixel + c, lanes) : Vec<T>(T(0));
}

// Where Winograd tile `tile` lies (tiles of m x m output pixels, flat over N, ceil(OH / m),
// ceil(OW / m)): its image and its first output row and column.
struct TileOrigin {
  int64_t n, oh0, ow0;
};

FASTDL_ALWAYS_INLINE TileOrigin tile_origin(const ConvShape& s, int64_t tile, int m) {
  const int64_t TH = (s.OH + m - 1) / m, TW = (s.OW + m - 1) / m;
  return {tile / (TH * TW), m * ((tile / TW) % TH), m * (tile % TW)};
}

// The P x P input patch of Winograd tile `tile`: a pointer to each pixel's channels in x (an
// input, or an input gradient: T may be const or not), nullptr outside the image.
template <int P, class T>
FASTDL_ALWAYS_INLINE void winograd_patch(const ConvShape& s, T* x, int64_t tile, int m,
                                         T* (&rows)[P][P]) {
  const TileOrigin o = tile_origin(s, tile, m);
  const int64_t n = o.n, ih0 = o.oh0 - s.pad_top, iw0 = o.ow0 - s.pad_left;
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

// B (the transpose of B^T) applied to six vectors: the input-gradient patch of six
// transformed values, the transpose of winograd4_bt.
template <class T>
FASTDL_ALWAYS_INLINE void winograd4_b(const Vec<T> (&p)[6], Vec<T> (&out)[6]) {
  const Vec<T> two(T(2)), four(T(4)), five(T(5));
  const Vec<T> dif12 = p[1] - p[2], dif34 = p[3] - p[4];
  const Vec<T> sum12 = p[1] + p[2], sum34 = p[3] + p[4];
  out[0] = four * p[0];
  out[1] = four * (p[5] - dif12) - two * dif34;
  out[2] = (Vec<T>(T(-5)) * p[0] - four * sum12) - sum34;
  out[3] = fma(two, dif34, dif12) - five * p[5];
  out[4] = p[0] + sum12 + sum34;
  out[5] = p[5];
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
  const int64_t CO = s.CO;
  const int64_t plane = tiles * CO;
  for (int64_t t = 0; t < tiles; ++t) {
    const auto [n, oh0, ow0] = tile_origin(s, first_tile + t, 4);
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
  const int64_t CO = s.CO;
  const int64_t plane = tiles * CO;
  for (int64_t t = 0; t < tiles; ++t) {
    const auto [n, oh0, ow0] = tile_origin(s, first_tile + t, 4);
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

template <class T>
void conv_winograd4_input_gradient(const ConvShape& s, const T* p, int64_t first_tile,
                                   int64_t tiles, T* dx) {
  constexpr int W = Vec<T>::width;
  const int64_t C = s.C;
  const int64_t plane = tiles * C;
  for (int64_t t = 0; t < tiles; ++t) {
    T* rows[6][6];
    winograd_patch(s, dx, first_tile + t, 4, rows);
    for (int64_t c = 0; c < C; c += W) {
      const int lanes = static_cast<int>(C - c < W ? C - c : W);
      const T* in = p + t * C + c;
      Vec<T> r[6][6];  // B p, column by column
      for (int j = 0; j < 6; ++j) {
        Vec<T> col[6], o[6];
        for (int i = 0; i < 6; ++i) col[i] = load_lanes(in + (6 * i + j) * plane, lanes);
        winograd4_b(col, o);
        for (int i = 0; i < 6; ++i) r[i][j] = o[i];
      }
      for (int i = 0; i < 6; ++i) {  // (B p) B^T, row by row, added into the patch
        Vec<T> row[6];
        winograd4_b(r[i], row);
        for (int j = 0; j < 6; ++j) {
          if (T* pixel = rows[i][j])
            store_lanes(load_lanes(pixel + c, lanes) + row[j], pixel + c, lanes);
        }
      }
    }
  }
}

template void conv_winograd4_input_gradient<float>(const ConvShape&, const float*, int64_t,
                                                   int64_t, float*);
template void conv_winograd4_input_gradient<double>(const ConvShape&, const double*, int64_t,
                                                    int64_t, double*);
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

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
