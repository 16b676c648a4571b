// GEMM micro-kernels, written once against Vec<T>; CMake compiles this file once per ISA
// (generic, avx2, avx512), each copy in its own namespace.
#include <array>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "activation/vector_math.h"
#include "fastdl/simd.h"
#include "gemm/kernels.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

// A register tile of Rows x Vectors * W elements of C. Wide is the ISA's MicroTile, which the
// packed panels are laid out for; Narrow is one vector wide and twice as tall, for products of
// at most one vector of columns (a dense layer's output of 10 classes): the wide tile would
// spend most of its multiply-adds on padding.
template <class T, int kRows, int kVectors>
struct TileShape {
  static constexpr int rows = kRows, vectors = kVectors, width = kVectors * Vec<T>::width;
};
template <class T>
using Wide = TileShape<T, MicroTile<T>::MR, MicroTile<T>::NR / Vec<T>::width>;
template <class T>
using Narrow = TileShape<T, geometry<T>().narrow_rows, 1>;
static_assert(Narrow<float>::width == geometry<float>().narrow &&
              Narrow<double>::width == geometry<double>().narrow);

// How many of `count` elements fall in vector v of a tile (0 to W): the edge tiles' masks.
template <class T>
constexpr int lanes_of_vector(int count, int v) {
  const int left = count - v * Vec<T>::width;
  return left < 0 ? 0 : (left > Vec<T>::width ? Vec<T>::width : left);
}

// The activation, called out of line: inlined into a kernel whose K loop uses nearly every
// register, its constants would take some of them.
template <class T>
__attribute__((noinline)) Vec<T> activate_out_of_line(Activation act, Vec<T> x, T alpha) {
  return activate(act, x, alpha);
}

// The epilogue of the columns of C from `column` on: the product's, with its bias from there.
template <class T>
inline TileEpilogue<T> tile_epilogue(const GemmEpilogue<T>& ep, int64_t column = 0) {
  return {ep.alpha, ep.accumulate, ep.bias ? ep.bias + column : nullptr, ep.act, ep.act_alpha};
}

// Applies the epilogue to one vector of C: x = alpha * acc (+ C) (+ bias), then act(x). Always
// inlined: called out of line, it costs a full tile's store more than the tile's K loop.
template <class T, bool kActivationOutOfLine = false>
FASTDL_ALWAYS_INLINE Vec<T> epilogue_vector(Vec<T> acc, const T* c, const T* bias, int cols,
                                            const TileEpilogue<T>& ep) {
  Vec<T> x = acc * Vec<T>(ep.alpha);
  if (ep.accumulate) x = x + load_lanes(c, cols);
  if (bias) x = x + load_lanes(bias, cols);
  if (ep.act != Activation::none) {
    x = kActivationOutOfLine ? activate_out_of_line(ep.act, x, ep.act_alpha)
                             : activate(ep.act, x, ep.act_alpha);
  }
  return x;
}

// Writes a tile held in `tile` (row-major, `stride` wide) to the mr x nr corner of C, applying
// the epilogue. Edge tiles use masked loads and stores; nothing outside the corner is touched.
template <class T>
inline void store_tile(const T* tile, int stride, T* C, int64_t ldc, int mr, int nr,
                       const TileEpilogue<T>& ep) {
  constexpr int W = Vec<T>::width;
  for (int r = 0; r < mr; ++r) {
    T* c_row = C + r * ldc;
    for (int j = 0; j < nr; j += W) {
      const int cols = nr - j < W ? nr - j : W;
      const Vec<T> x = epilogue_vector(Vec<T>::load(tile + r * stride + j), c_row + j,
                                       ep.bias ? ep.bias + j : nullptr, cols, ep);
      store_lanes(x, c_row + j, cols);
    }
  }
}

// Writes the accumulators to the mr x nr corner of C through the epilogue. A full tile is stored
// straight from registers with constant indices (so they never leave registers in the K loop);
// an edge tile is spilled to a buffer and stored with masks, touching nothing outside it.
template <class T, class Shape>
FASTDL_ALWAYS_INLINE void finish_tile(const Vec<T> (&acc)[Shape::rows][Shape::vectors], T* C,
                                      int64_t ldc, int mr, int nr, const TileEpilogue<T>& ep) {
  constexpr int MR = Shape::rows, NR = Shape::width, NV = Shape::vectors, W = Vec<T>::width;
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        T* c = C + r * ldc + v * W;
        epilogue_vector(acc[r][v], c, ep.bias ? ep.bias + v * W : nullptr, W, ep).store(c);
      }
    return;
  }
  alignas(64) T tile[MR * NR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v].store(tile + r * NR + v * W);
  store_tile(tile, NR, C, ldc, mr, nr, ep);
}

}  // namespace

template <class T>
void gemm_tile_packed(int64_t kc, const T* __restrict a, const T* __restrict b, T* C,
                       int64_t ldc, int mr, int nr, const TileEpilogue<T>& ep) {
  using Shape = Wide<T>;
  constexpr int MR = Shape::rows, NR = Shape::width, NV = Shape::vectors, W = Vec<T>::width;
  for (int r = 0; r < mr; ++r) __builtin_prefetch(C + r * ldc, 1);

  Vec<T> acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = Vec<T>(T(0));

#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    Vec<T> bv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) bv[v] = Vec<T>::load(b + v * W);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const Vec<T> av(a[r]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = fma(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += NR;
  }

  finish_tile<T, Shape>(acc, C, ldc, mr, nr, ep);
}

// kPackB: also store each row of the B block, zero-padded to NR, in the packed panel b_panel.
template <class T, class Shape, bool kPackB>
FASTDL_ALWAYS_INLINE void tile_strided(int64_t kc, const T* A, int64_t rsa, int64_t csa, int mr,
                                       const T* B, int64_t rsb, int nr, T* b_panel, T* C,
                                       int64_t ldc, const TileEpilogue<T>& ep) {
  constexpr int MR = Shape::rows, NR = Shape::width, NV = Shape::vectors, W = Vec<T>::width;
  // Rows past the edge re-read the last row; their results are never stored.
  const T* a_rows[MR];
  for (int r = 0; r < MR; ++r) a_rows[r] = A + (r < mr ? r : mr - 1) * rsa;
  int cols[NV];
  for (int v = 0; v < NV; ++v) cols[v] = lanes_of_vector<T>(nr, v);

  Vec<T> acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = Vec<T>(T(0));

  const T* b_row = B;
  for (int64_t k = 0; k < kc; ++k, b_row += rsb) {
    Vec<T> bv[NV];
    if (nr == NR) {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) bv[v] = Vec<T>::load(b_row + v * W);
    } else {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) bv[v] = Vec<T>::load(b_row + v * W, cols[v]);
    }
    if constexpr (kPackB) {
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) bv[v].store(b_panel + k * NR + v * W);
    }
    const int64_t ak = k * csa;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const Vec<T> av(a_rows[r][ak]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[r][v] = fma(av, bv[v], acc[r][v]);
    }
  }

  finish_tile<T, Shape>(acc, C, ldc, mr, nr, ep);
}

template <class T>
void gemm_tile_strided(int64_t kc, const T* A, int64_t rsa, int64_t csa, int mr, const T* B,
                       int64_t rsb, int nr, T* C, int64_t ldc, const TileEpilogue<T>& ep) {
  tile_strided<T, Wide<T>, false>(kc, A, rsa, csa, mr, B, rsb, nr, nullptr, C, ldc, ep);
}

template <class T>
void gemm_tile_strided_packing_b(int64_t kc, const T* A, int64_t rsa, int64_t csa, int mr,
                                 const T* B, int64_t rsb, int nr, T* b_panel, T* C, int64_t ldc,
                                 const TileEpilogue<T>& ep) {
  tile_strided<T, Wide<T>, true>(kc, A, rsa, csa, mr, B, rsb, nr, b_panel, C, ldc, ep);
}

namespace {

// Every Shape tile of C[M, N] for gemm_tiles, A read in place.
template <class T, class Shape>
void tiles_in_place(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa,
                    const T* B, int64_t rsb, int64_t panel_stride, T* C, int64_t ldc,
                    const GemmEpilogue<T>& ep) {
  constexpr int MR = Shape::rows, NR = Shape::width;
  for (int64_t i = 0; i < M; i += MR) {
    const int mr = static_cast<int>(M - i < MR ? M - i : MR);
    for (int64_t j = 0; j < N; j += NR) {
      const int nr = static_cast<int>(N - j < NR ? N - j : NR);
      const TileEpilogue<T> tile_ep = tile_epilogue(ep, j);
      tile_strided<T, Shape, false>(K, A + i * rsa, rsa, csa, mr, B + (j / NR) * panel_stride,
                                    rsb, nr, nullptr, C + i * ldc + j, ldc, tile_ep);
    }
  }
}

}  // namespace

template <class T>
void gemm_tiles(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa,
                const T* B, int64_t rsb, int64_t panel_stride, T* C, int64_t ldc,
                const GemmEpilogue<T>& ep) {
  // One panel of B at most: its first columns are the narrow tile's (panel_stride unused).
  if (N <= geometry<T>().narrow) {
    tiles_in_place<T, Narrow<T>>(M, N, K, A, rsa, csa, B, rsb, 0, C, ldc, ep);
  } else {
    tiles_in_place<T, Wide<T>>(M, N, K, A, rsa, csa, B, rsb, panel_stride, C, ldc, ep);
  }
}

namespace {

// Packs kc x kWidth elements whose columns are contiguous (column j at B + j * col_stride) into
// `panel`, row k holding element k of every column; columns past nr are zero. W columns x W rows
// at a time: W loads along the columns (masked past kc), one register transpose, and a store per
// row, so that a short K (a weight matrix of 10 columns read transposed) takes one masked block
// rather than a scalar loop.
template <class T, int kWidth>
void pack_columns(int64_t kc, int nr, const T* B, int64_t col_stride,
                                       T* panel) {
  constexpr int W = Vec<T>::width;
  for (int64_t k = 0; k < kc; k += W) {
    const int rows = kc - k < W ? static_cast<int>(kc - k) : W;
#pragma GCC unroll 4
    for (int g = 0; g < kWidth / W; ++g) {
      Vec<T> v[W];
#pragma GCC unroll 16
      for (int j = 0; j < W; ++j) {
        const int col = g * W + j;
        v[j] = col < nr ? load_lanes(B + col * col_stride + k, rows) : Vec<T>(T(0));
      }
      transpose(v);
      for (int kk = 0; kk < rows; ++kk) v[kk].store(panel + (k + kk) * kWidth + g * W);
    }
  }
}

// The column tile: kVectors vectors of rows of C by kCols columns, each accumulator running
// down one column. With few columns (a dense layer of 10 units, its weight gradient) every lane
// does useful work, where a tile along the rows would use kCols of its W lanes. Column k of A
// (rows [0, rows)) is the kVectors vectors at A + k * csa; the elements of B are broadcast. The
// accumulators leave through register transposes, W columns at a time, as rows of C.
template <class T, int kVectors, int kCols>
void column_tile(int64_t K, const T* A, int64_t csa, int rows, const T* B, int64_t rsb,
                 int64_t csb, T* C, int64_t ldc, const GemmEpilogue<T>& ep) {
  constexpr int W = Vec<T>::width;
  int lanes[kVectors];
  for (int v = 0; v < kVectors; ++v) lanes[v] = lanes_of_vector<T>(rows, v);
  Vec<T> acc[kCols][kVectors];
#pragma GCC unroll 16
  for (int n = 0; n < kCols; ++n)
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) acc[n][v] = Vec<T>(T(0));

  // Whole vectors of rows or not; B's rows contiguous (its elements at constant offsets, where a
  // stride would take a register per column) or not.
  auto k_loop = [&](auto full, auto unit_csb) {
    const T* a_col = A;
    const T* b_row = B;
    for (int64_t k = 0; k < K; ++k, a_col += csa, b_row += rsb) {
      Vec<T> a[kVectors];
#pragma GCC unroll 4
      for (int v = 0; v < kVectors; ++v)
        a[v] = full ? Vec<T>::load(a_col + v * W) : load_lanes(a_col + v * W, lanes[v]);
#pragma GCC unroll 16
      for (int n = 0; n < kCols; ++n) {
        const Vec<T> b(b_row[unit_csb ? n : n * csb]);
#pragma GCC unroll 4
        for (int v = 0; v < kVectors; ++v) acc[n][v] = fma(a[v], b, acc[n][v]);
      }
    }
  };
  const bool full = rows == kVectors * W;
  if (csb == 1) {
    full ? k_loop(std::true_type{}, std::true_type{}) : k_loop(std::false_type{}, std::true_type{});
  } else {
    full ? k_loop(std::true_type{}, std::false_type{})
         : k_loop(std::false_type{}, std::false_type{});
  }

#pragma GCC unroll 4
  for (int v = 0; v < kVectors; ++v) {
#pragma GCC unroll 4
    for (int g = 0; g < kCols; g += W) {
      Vec<T> t[W];
#pragma GCC unroll 16
      for (int j = 0; j < W; ++j) t[j] = g + j < kCols ? acc[g + j][v] : Vec<T>(T(0));
      transpose(t);
      const int cols = kCols - g < W ? kCols - g : W;
      const TileEpilogue<T> tile_ep = tile_epilogue(ep, g);
#pragma GCC unroll 16
      for (int i = 0; i < W; ++i) {
        if (i == lanes[v]) break;
        T* c = C + (v * W + i) * ldc + g;
        store_lanes(epilogue_vector<T, true>(t[i], c, tile_ep.bias, cols, tile_ep), c, cols);
      }
    }
  }
}

// Every column tile of C[M, N] for N == kCols.
template <class T, int kCols>
void column_tiles(int64_t M, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B,
                  int64_t rsb, int64_t csb, T* panel, T* C, int64_t ldc,
                  const GemmEpilogue<T>& ep) {
  constexpr int kRows = geometry<T>().column_rows, kVectors = kRows / Vec<T>::width;
  for (int64_t i = 0; i < M; i += kRows) {
    const int rows = static_cast<int>(M - i < kRows ? M - i : kRows);
    if (rsa == 1) {
      column_tile<T, kVectors, kCols>(K, A + i, csa, rows, B, rsb, csb, C + i * ldc, ldc, ep);
    } else {
      pack_columns<T, kRows>(K, rows, A + i * rsa, rsa, panel);
      column_tile<T, kVectors, kCols>(K, panel, kRows, rows, B, rsb, csb, C + i * ldc, ldc, ep);
    }
  }
}

template <class T, int... kCols>
constexpr auto column_tiles_table(std::integer_sequence<int, kCols...>) {
  using Fn = void (*)(int64_t, int64_t, const T*, int64_t, int64_t, const T*, int64_t, int64_t,
                      T*, T*, int64_t, const GemmEpilogue<T>&);
  return std::array<Fn, sizeof...(kCols)>{column_tiles<T, kCols + 1>...};
}

}  // namespace

template <class T>
void gemm_pack_b_columns(int64_t kc, int nr, const T* B, int64_t col_stride, T* panel) {
  pack_columns<T, MicroTile<T>::NR>(kc, nr, B, col_stride, panel);
}

template <class T>
void gemm_pack_a_rows(int64_t mc, int64_t kc, const T* A, int64_t row_stride, T* packed) {
  constexpr int W = Vec<T>::width, MR = MicroTile<T>::MR;
  for (int64_t i0 = 0; i0 < mc; i0 += MR, packed += MR * kc) {
    // A panel's rows, W at a time (one group when MR <= W): W loads along them, a register
    // transpose, and at each k a store of the group's lanes.
    for (int r0 = 0; r0 < MR; r0 += W) {
      const int lanes = MR - r0 < W ? MR - r0 : W;
      const int64_t present = mc - i0 - r0;  // rows of the group inside A (the rest are zero)
      for (int64_t k = 0; k < kc; k += W) {
        const int cols = kc - k < W ? static_cast<int>(kc - k) : W;
        Vec<T> v[W];
#pragma GCC unroll 16
        for (int j = 0; j < W; ++j)
          v[j] = j < lanes && j < present
                     ? load_lanes(A + (i0 + r0 + j) * row_stride + k, cols)
                     : Vec<T>(T(0));
        transpose(v);
        for (int kk = 0; kk < cols; ++kk) store_lanes(v[kk], packed + (k + kk) * MR + r0, lanes);
      }
    }
  }
}

template <class T>
void gemm_pack_a_columns(int64_t mc, int64_t kc, const T* A, int64_t col_stride, T* packed) {
  constexpr int W = Vec<T>::width, MR = MicroTile<T>::MR;
  for (int64_t i0 = 0; i0 < mc; i0 += MR, packed += MR * kc) {
    const int64_t rows = mc - i0 < MR ? mc - i0 : MR;  // the rest of the panel is zero
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = A + i0 + k * col_stride;
#pragma GCC unroll 4
      for (int r0 = 0; r0 < MR; r0 += W) {
        const int lanes = MR - r0 < W ? MR - r0 : W;
        const int64_t present = rows - r0 < lanes ? rows - r0 : lanes;
        const Vec<T> v = present > 0 ? load_lanes(src + r0, static_cast<int>(present))
                                     : Vec<T>(T(0));
        store_lanes(v, packed + k * MR + r0, lanes);
      }
    }
  }
}

template <class T>
void gemm_columns(int64_t M, int N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B,
                  int64_t rsb, int64_t csb, T* panel, T* C, int64_t ldc,
                  const GemmEpilogue<T>& ep) {
  if constexpr (geometry<T>().column_cols > 0) {
    static constexpr auto table = column_tiles_table<T>(
        std::make_integer_sequence<int, geometry<T>().column_cols>{});
    table[N - 1](M, K, A, rsa, csa, B, rsb, csb, panel, C, ldc, ep);
  } else {
    throw std::logic_error("gemm_columns: this ISA has no column tile");
  }
}

// acc[r] += A[r, :K] * b[:K] for r < Rows, a vector of K at a time.
template <class T, int Rows>
FASTDL_ALWAYS_INLINE void dot_accumulate(int64_t K, const T* A, int64_t rsa, const T* b,
                                         Vec<T> (&acc)[Rows]) {
  constexpr int W = Vec<T>::width;
  for (Vec<T>& a : acc) a = Vec<T>(T(0));
  int64_t k = 0;
  for (; k + W <= K; k += W) {
    const Vec<T> bv = Vec<T>::load(b + k);
    for (int r = 0; r < Rows; ++r) acc[r] = fma(Vec<T>::load(A + r * rsa + k), bv, acc[r]);
  }
  if (k < K) {
    const int lanes = static_cast<int>(K - k);
    const Vec<T> bv = Vec<T>::load(b + k, lanes);
    for (int r = 0; r < Rows; ++r) acc[r] = fma(Vec<T>::load(A + r * rsa + k, lanes), bv, acc[r]);
  }
}

// The dot products of `Rows` rows of A with b, each through the epilogue into its element of C.
template <class T, int Rows>
FASTDL_ALWAYS_INLINE void dot_rows(int64_t K, const T* A, int64_t rsa, const T* b, T* C,
                                   int64_t ldc, const TileEpilogue<T>& ep) {
  Vec<T> acc[Rows];
  dot_accumulate<T, Rows>(K, A, rsa, b, acc);
  for (int r = 0; r < Rows; ++r) {
    const T dot = acc[r].reduce_sum();
    T* c = C + r * ldc;
    store_lanes(epilogue_vector(Vec<T>::load(&dot, 1), c, ep.bias, 1, ep), c, 1);
  }
}

// A vector's width of rows into contiguous elements of C: the accumulators transposed and added
// give the width's dot products in one vector, which goes through the epilogue and out at once.
// `bias` holds the one bias value in every lane.
template <class T>
FASTDL_ALWAYS_INLINE void dot_rows_to_vector(int64_t K, const T* A, int64_t rsa, const T* b,
                                             T* C, const T* bias, const TileEpilogue<T>& ep) {
  constexpr int W = Vec<T>::width;
  Vec<T> acc[W];
  dot_accumulate<T, W>(K, A, rsa, b, acc);
  transpose(acc);
  Vec<T> sums = acc[0];
  for (int r = 1; r < W; ++r) sums = sums + acc[r];
  epilogue_vector(sums, C, bias, W, ep).store(C);
}

template <class T>
void gemm_dot_rows(int64_t M, int64_t K, const T* A, int64_t rsa, const T* b, T* C, int64_t ldc,
                   const GemmEpilogue<T>& ep) {
  // Four rows share each vector of b: four independent FMA chains, and a quarter of b's loads.
  constexpr int kRows = 4, W = Vec<T>::width;
  const TileEpilogue<T> tile_ep = tile_epilogue(ep);
  int64_t i = 0;
  if (ldc == 1 && W > 1) {
    T bias[W];
    for (T& v : bias) v = ep.bias ? ep.bias[0] : T(0);
    for (; i + W <= M; i += W) {
      dot_rows_to_vector<T>(K, A + i * rsa, rsa, b, C + i, ep.bias ? bias : nullptr, tile_ep);
    }
  }
  for (; i + kRows <= M; i += kRows) {
    dot_rows<T, kRows>(K, A + i * rsa, rsa, b, C + i * ldc, ldc, tile_ep);
  }
  for (; i < M; ++i) dot_rows<T, 1>(K, A + i * rsa, rsa, b, C + i * ldc, ldc, tile_ep);
}

// Columns [j, j + NV vectors) of a one-row product (the last vector `lanes` wide): NV
// accumulators, each row of B loaded once against one broadcast of a.
template <class T, int NV>
FASTDL_ALWAYS_INLINE void row_block(int64_t j, int lanes, int64_t K, const T* a, int64_t csa,
                                    const T* B, int64_t rsb, T* c, const T* bias,
                                    const TileEpilogue<T>& ep) {
  constexpr int W = Vec<T>::width;
  Vec<T> acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = Vec<T>(T(0));
  const T* b = B + j;
  for (int64_t k = 0; k < K; ++k, b += rsb) {
    const Vec<T> ak(a[k * csa]);
    for (int v = 0; v < NV; ++v) {
      const Vec<T> bv = v == NV - 1 ? load_lanes(b + v * W, lanes) : Vec<T>::load(b + v * W);
      acc[v] = fma(ak, bv, acc[v]);
    }
  }
  for (int v = 0; v < NV; ++v) {
    const int cols = v == NV - 1 ? lanes : W;
    const int64_t at = j + v * W;
    store_lanes(epilogue_vector(acc[v], c + at, bias ? bias + at : nullptr, cols, ep), c + at,
                cols);
  }
}

template <class T>
void gemm_row(int64_t j0, int64_t j1, int64_t K, const T* a, int64_t csa, const T* B,
              int64_t rsb, T* c, const GemmEpilogue<T>& ep) {
  // Blocks of 16 vectors keep 16 FMA chains going (a row of B is used once: the loads, not
  // the FMAs, set the pace), and what is left is one block of as many vectors, the last one
  // masked: each block is a pass over all of B's rows, and a pass per leftover vector, 64 bytes
  // a row, was slower than NumPy on 1 x 6400 @ 6400 x 768.
  constexpr int W = Vec<T>::width, kBlock = 16;
  const TileEpilogue<T> tile_ep = tile_epilogue(ep);
  int64_t j = j0;
  for (; j + kBlock * W <= j1; j += kBlock * W) {
    row_block<T, kBlock>(j, W, K, a, csa, B, rsb, c, ep.bias, tile_ep);
  }
  if (j == j1) return;
  // 1 to kBlock vectors (kBlock when the last of them is partial).
  const int vectors = static_cast<int>((j1 - j + W - 1) / W);
  const int lanes = static_cast<int>(j1 - j - (vectors - 1) * int64_t{W});
  with_count<kBlock>(vectors, [&](auto count) {
    row_block<T, decltype(count)::value>(j, lanes, K, a, csa, B, rsb, c, ep.bias, tile_ep);
  });
}

template <class T>
void gemm_outer_rows(int64_t M, int64_t N, const T* A, int64_t rsa, const T* b, T* C,
                     int64_t ldc, const GemmEpilogue<T>& ep) {
  constexpr int W = Vec<T>::width;
  const TileEpilogue<T> tile_ep = tile_epilogue(ep);
  for (int64_t i = 0; i < M; ++i) {
    const Vec<T> a(A[i * rsa]);
    T* c = C + i * ldc;
    for (int64_t j = 0; j < N; j += W) {
      const int lanes = N - j < W ? static_cast<int>(N - j) : W;
      const Vec<T> x = epilogue_vector(a * load_lanes(b + j, lanes), c + j,
                                       ep.bias ? ep.bias + j : nullptr, lanes, tile_ep);
      store_lanes(x, c + j, lanes);
    }
  }
}

template <class T>
void gemm_epilogue_rows(int64_t rows, int64_t cols, const T* src, int64_t src_stride, T* C,
                        int64_t ldc, const TileEpilogue<T>& ep) {
  constexpr int W = Vec<T>::width;
  for (int64_t r = 0; r < rows; ++r) {
    const T* s = src + r * src_stride;
    T* c = C + r * ldc;
    for (int64_t j = 0; j < cols; j += W) {
      const int lanes = cols - j < W ? static_cast<int>(cols - j) : W;
      const Vec<T> x = epilogue_vector(load_lanes(s + j, lanes), c + j,
                                       ep.bias ? ep.bias + j : nullptr, lanes, ep);
      store_lanes(x, c + j, lanes);
    }
  }
}

template void gemm_epilogue_rows<float>(int64_t, int64_t, const float*, int64_t, float*, int64_t,
                                        const TileEpilogue<float>&);
template void gemm_epilogue_rows<double>(int64_t, int64_t, const double*, int64_t, double*,
                                         int64_t, const TileEpilogue<double>&);
template void gemm_dot_rows<float>(int64_t, int64_t, const float*, int64_t, const float*, float*,
                                   int64_t, const GemmEpilogue<float>&);
template void gemm_dot_rows<double>(int64_t, int64_t, const double*, int64_t, const double*,
                                    double*, int64_t, const GemmEpilogue<double>&);
template void gemm_row<float>(int64_t, int64_t, int64_t, const float*, int64_t, const float*,
                              int64_t, float*, const GemmEpilogue<float>&);
template void gemm_row<double>(int64_t, int64_t, int64_t, const double*, int64_t, const double*,
                               int64_t, double*, const GemmEpilogue<double>&);
template void gemm_outer_rows<float>(int64_t, int64_t, const float*, int64_t, const float*,
                                     float*, int64_t, const GemmEpilogue<float>&);
template void gemm_outer_rows<double>(int64_t, int64_t, const double*, int64_t, const double*,
                                      double*, int64_t, const GemmEpilogue<double>&);
template void gemm_tiles<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                const float*, int64_t, int64_t, float*, int64_t,
                                const GemmEpilogue<float>&);
template void gemm_tiles<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t,
                                 const double*, int64_t, int64_t, double*, int64_t,
                                 const GemmEpilogue<double>&);
template void gemm_pack_b_columns<float>(int64_t, int, const float*, int64_t, float*);
template void gemm_pack_b_columns<double>(int64_t, int, const double*, int64_t, double*);
template void gemm_pack_a_rows<float>(int64_t, int64_t, const float*, int64_t, float*);
template void gemm_pack_a_rows<double>(int64_t, int64_t, const double*, int64_t, double*);
template void gemm_pack_a_columns<float>(int64_t, int64_t, const float*, int64_t, float*);
template void gemm_pack_a_columns<double>(int64_t, int64_t, const double*, int64_t, double*);
template void gemm_columns<float>(int64_t, int, int64_t, const float*, int64_t, int64_t,
                                  const float*, int64_t, int64_t, float*, float*, int64_t,
                                  const GemmEpilogue<float>&);
template void gemm_columns<double>(int64_t, int, int64_t, const double*, int64_t, int64_t,
                                   const double*, int64_t, int64_t, double*, double*, int64_t,
                                   const GemmEpilogue<double>&);
template void gemm_tile_packed<float>(int64_t, const float*, const float*, float*, int64_t, int,
                                      int, const TileEpilogue<float>&);
template void gemm_tile_packed<double>(int64_t, const double*, const double*, double*, int64_t,
                                       int, int, const TileEpilogue<double>&);
template void gemm_tile_strided<float>(int64_t, const float*, int64_t, int64_t, int, const float*,
                                       int64_t, int, float*, int64_t, const TileEpilogue<float>&);
template void gemm_tile_strided<double>(int64_t, const double*, int64_t, int64_t, int,
                                        const double*, int64_t, int, double*, int64_t,
                                        const TileEpilogue<double>&);
template void gemm_tile_strided_packing_b<float>(int64_t, const float*, int64_t, int64_t, int,
                                                 const float*, int64_t, int, float*, float*,
                                                 int64_t, const TileEpilogue<float>&);
template void gemm_tile_strided_packing_b<double>(int64_t, const double*, int64_t, int64_t, int,
                                                  const double*, int64_t, int, double*, double*,
                                                  int64_t, const TileEpilogue<double>&);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
