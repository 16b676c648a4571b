#pragma once
// The ISA-specific part of GEMM: the register-blocked micro-kernels. They exist once per ISA
// (kernels.cpp compiled into fastdl::generic, fastdl::avx2 and fastdl::avx512); the blocking,
// packing and threading around them (gemm.cpp) is shared.
#include <cstdint>

#include "fastdl/activation.h"
#include "fastdl/gemm.h"

namespace fastdl {

// The shape of the micro-kernel's tile and the cache blocks around it, per ISA: the driver
// (gemm.cpp) reads the active ISA's through gemm_geometry<T>(); the kernels use their own at
// compile time. Blocks are multiples of the tile.
struct GemmGeometry {
  int mr, nr;              // the tile of C held in registers
  int64_t mc, kc, nc;      // the blocks of A (mc x kc, L2) and B (kc x nc, L3)
  int narrow_rows, narrow; // the narrow tile (one vector wide), for products of <= narrow columns
  // The column tile: column_rows rows (whole vectors) by up to column_cols columns, its vectors
  // running down the columns of C (0 columns: not used on this ISA); with A's rows to transpose
  // into panels first, it is used from column_packed_cols columns up.
  int column_rows, column_cols, column_packed_cols;
};

namespace generic {
template <class T>
struct MicroTile {
  static constexpr int MR = 6, NR = 64 / int(sizeof(T));
};
template <class T>
constexpr GemmGeometry geometry() {
  return {MicroTile<T>::MR, MicroTile<T>::NR, 144 / int64_t(sizeof(T) / 4), 256,
          4080 / int64_t(sizeof(T) / 4), 2 * MicroTile<T>::MR, 1, 0, 0, 0};
}
}  // namespace generic

// 6 x 16 floats = 12 AVX2 accumulators + 2 B vectors + 1 broadcast: 15 of the 16 ymm registers.
// Tuned on Zen 3 (32 KiB L1d, 512 KiB L2 per core): the B micro-panel (KC x NR) fills half of L1,
// the A block (MC x KC) a third of L2.
namespace avx2 {
template <class T>
using MicroTile = generic::MicroTile<T>;
template <class T>
constexpr GemmGeometry geometry() {
  GemmGeometry g = generic::geometry<T>();
  g.narrow = 32 / int(sizeof(T));
  // 12 accumulators + a vector of A + a broadcast of B: 14 of the 16 ymm registers.
  g.column_rows = 32 / int(sizeof(T));
  g.column_cols = 12;
  // Up to a vector of columns the narrow tile keeps 12 accumulators busy, where the column tile
  // has one per column: with A to transpose as well, it is slower (measured on Zen 4).
  g.column_packed_cols = g.narrow + 1;
  return g;
}
}  // namespace avx2

// 8 x 32 floats = 16 zmm accumulators + 2 B vectors + 1 broadcast, of the 32 zmm registers: as
// many accumulators as two FMA ports with a latency of 4 keep busy, twice the loads' reuse of a
// 6 x 16 tile, and the rows of a batch of 64 (and the columns of 128 units) without a partial
// tile. The B micro-panel (KC x NR, 24 KiB) stays in L1, the A block (MC x KC) in L2.
namespace avx512 {
template <class T>
struct MicroTile {
  static constexpr int MR = 8, NR = 128 / int(sizeof(T));
};
template <class T>
constexpr GemmGeometry geometry() {
  // Column tile: 24 accumulators + 2 vectors of A + a broadcast of B, of the 32 zmm registers.
  return {MicroTile<T>::MR, MicroTile<T>::NR, 192 / int64_t(sizeof(T) / 4), 192,
          4096 / int64_t(sizeof(T) / 4), 2 * MicroTile<T>::MR, 64 / int(sizeof(T)),
          128 / int(sizeof(T)), 12, 1};
}
}  // namespace avx512

// What the micro-kernel does with its tile on the way out.
template <class T>
struct TileEpilogue {
  T alpha;
  bool accumulate;   // add to C (a later block of K) instead of overwriting it
  const T* bias;     // bias for this tile's first column, or nullptr (last block of K only)
  Activation act;    // applied on the last block of K only
  T act_alpha;
};

// The two micro-kernels: C[mr, nr] (+)= epilogue(A[mr, kc] @ B[kc, nr]) for one MR x NR tile.
//  * gemm_tile_packed: A is a packed MR-row panel (kc x MR, zero-padded); B is a packed NR-column
//    panel (kc x NR, zero-padded). The fastest inner loop, used when packing pays for itself.
//  * gemm_tile_strided: A is read in place through its strides (rows past mr are never read);
//    B is any kc x nr block with unit column stride and row stride rsb, such as a packed panel
//    (rsb = NR) or the original matrix. Used when packing A (or both) would not be amortized.
//  * gemm_tiles: every tile of C[M, N] (+)= epilogue(A[M, K] @ B) for a product small enough
//    for one cache block, or of at most geometry().narrow columns (any K: then each element of
//    A is used once per row of the narrow tile, and blocking would not reuse it), A read in
//    place; the NR-column panel of B for columns [j, j + NR)
//    starts at B + (j / NR) * panel_stride with row stride rsb (packed panels: rsb = NR,
//    panel_stride = NR * K; B in place: its row stride and NR). The tile loops sit in the
//    ISA's code, so that a tile costs no call.
//  * gemm_tile_strided_packing_b: gemm_tile_strided reading B in place that also writes the
//    packed panel (kc x NR, zero-padded) of what it read, for the row tiles that follow: packing
//    B costs no pass of its own.
#define FASTDL_DECLARE_GEMM_KERNELS(isa)                                                          \
  namespace isa {                                                                                 \
  template <class T>                                                                              \
  void gemm_tile_packed(int64_t kc, const T* a_panel, const T* b_panel, T* C, int64_t ldc,        \
                        int mr, int nr, const TileEpilogue<T>& epilogue);                         \
  template <class T>                                                                              \
  void gemm_tile_strided(int64_t kc, const T* A, int64_t rsa, int64_t csa, int mr, const T* B,    \
                         int64_t rsb, int nr, T* C, int64_t ldc, const TileEpilogue<T>& epilogue); \
  template <class T>                                                                              \
  void gemm_tiles(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa,        \
                  const T* B, int64_t rsb, int64_t panel_stride, T* C, int64_t ldc,              \
                  const GemmEpilogue<T>& ep);                                                     \
  template <class T>                                                                              \
  void gemm_tile_strided_packing_b(int64_t kc, const T* A, int64_t rsa, int64_t csa, int mr,      \
                                   const T* B, int64_t rsb, int nr, T* b_panel, T* C,             \
                                   int64_t ldc, const TileEpilogue<T>& epilogue);                 \
  /* Packs one NR-column panel of a B whose columns are contiguous (row stride 1): column j    \
     of the panel starts at B + j * col_stride. Columns past nr are zero. */                     \
  template <class T>                                                                              \
  void gemm_pack_b_columns(int64_t kc, int nr, const T* B, int64_t col_stride, T* panel);        \
  /* Packs rows [0, mc) x columns [0, kc) of an A whose rows are contiguous (row i at         \
     A + i * row_stride) into MR-row panels, each holding at every k its MR values; rows past  \
     mc are zero (gemm.cpp's pack_a layout). */                                                \
  template <class T>                                                                              \
  void gemm_pack_a_rows(int64_t mc, int64_t kc, const T* A, int64_t row_stride, T* packed);      \
  /* The same for an A whose columns are contiguous (column k at A + k * col_stride, a weight  \
     gradient's transposed operand): a panel's MR values at each k are one (masked) copy. */    \
  template <class T>                                                                              \
  void gemm_pack_a_columns(int64_t mc, int64_t kc, const T* A, int64_t col_stride, T* packed);   \
  /* C[M, N] (+)= epilogue(A[M, K] @ B[K, N]) for N <= geometry().column_cols with column tiles  \
     (vectors down the columns of C): A's columns are read as vectors, in place when they are   \
     contiguous (rsa == 1), else packed a tile of rows at a time into `panel` (K x the tile's   \
     rows; A's rows must then be contiguous, csa == 1); B's elements are broadcast. */          \
  template <class T>                                                                              \
  void gemm_columns(int64_t M, int N, int64_t K, const T* A, int64_t rsa, int64_t csa,          \
                    const T* B, int64_t rsb, int64_t csb, T* panel, T* C, int64_t ldc,           \
                    const GemmEpilogue<T>& ep);                                                   \
  /* C[i, 0] (+)= epilogue(A[i, :K] . b) for i < M: a product of one column as dot products   \
     along A's contiguous rows (row i at A + i * rsa) with a contiguous b, a few rows at a time;  \
     no transposes of A, which the column tile would need. */                                    \
  template <class T>                                                                              \
  void gemm_dot_rows(int64_t M, int64_t K, const T* A, int64_t rsa, const T* b, T* C,            \
                     int64_t ldc, const GemmEpilogue<T>& ep);                                     \
  /* c[:N] (+)= epilogue(a @ B[:K, :N]): a product of one row (a single sample through a     \
     dense layer, a bias gradient as ones @ g), B's rows contiguous (row k at B + k * rsb) and  \
     read once, a's elements csa apart; columns [j0, j1) of it, the bias from column 0. */      \
  template <class T>                                                                              \
  void gemm_row(int64_t j0, int64_t j1, int64_t K, const T* a, int64_t csa, const T* B,          \
                int64_t rsb, T* c, const GemmEpilogue<T>& ep);                                    \
  /* C[i, :N] (+)= epilogue(A[i, 0] * b[:N]) for i < M: a product over K = 1 (an outer         \
     product), written row by row; A's elements rsa apart, b contiguous. */                       \
  template <class T>                                                                              \
  void gemm_outer_rows(int64_t M, int64_t N, const T* A, int64_t rsa, const T* b, T* C,          \
                       int64_t ldc, const GemmEpilogue<T>& ep);                                   \
  /* C[r, :cols] = epilogue(src[r, :cols]) for r < rows: the epilogue pass over a finished      \
     product, used to add up partial products computed over separate ranges of K. */            \
  template <class T>                                                                              \
  void gemm_epilogue_rows(int64_t rows, int64_t cols, const T* src, int64_t src_stride, T* C,    \
                          int64_t ldc, const TileEpilogue<T>& epilogue);                          \
  }

FASTDL_DECLARE_GEMM_KERNELS(generic)
FASTDL_DECLARE_GEMM_KERNELS(avx2)
FASTDL_DECLARE_GEMM_KERNELS(avx512)
#undef FASTDL_DECLARE_GEMM_KERNELS

}  // namespace fastdl
