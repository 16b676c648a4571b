// GEMM driver in the GotoBLAS/BLIS scheme, shared by every ISA (the tile and block sizes are the
// active ISA's, from gemm_geometry):
//
//   for jc in N by NC:                 B block  (KC x NC), packed beforehand when threads
//                                        split the rows (all of B, in pieces) -> L3
//     for pc in K by KC:
//       pack B[pc:pc+KC, jc:jc+NC] into NR-wide micro-panels
//       for ic in this thread's rows by MC:   A block (MC x KC), packed per thread         -> L2
//         for jr in NC by NR:                 B micro-panel (KC x NR)                      -> L1
//           for ir in MC by MR:  micro-kernel on an MR x NR tile of C (registers)
//
// Packing reads A and B through their strides, so transposed operands cost nothing extra, and
// pads the last panels with zeros; edge tiles are stored with masks. Packing is skipped where it
// would not pay for itself (measured on Zen 3): A is read in place unless it is reused across
// many B panels or its stride would make its rows collide in the L1 sets; B is read in place when
// it is narrow or fits in L1. Threads split the rows of C or, when there are too few, the columns.
// Products of a few columns (a dense layer of 10 units) take tiles of their own: the column tile
// (vectors down the columns of C, every lane useful) or the narrow tile (one vector of columns).
#include "fastdl/gemm.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <cstring>

#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "gemm/kernels.h"
#include "runtime/scratch.h"

namespace fastdl {
namespace {

// The active ISA's tile and blocks (kernels.h).
template <class T>
GemmGeometry gemm_geometry() {
  return FASTDL_DISPATCH(geometry<T>());
}

// Below this many multiply-adds (M*N*K), about 6 us of work on one core, a product runs on one
// thread: waking a second one costs microseconds and its gain is lost in the noise.
constexpr int64_t kParallelWork = 80 * 80 * 80;

// Rows from which gemm_blocked splits a product's rows over the threads whenever that gives the
// busiest thread fewer tiles, B packed or not (see there).
constexpr int64_t kSharedPackingRows = 256;

// Bytes of A from which, when splitting the rows or the columns leaves the busiest thread as
// many tiles and A is the larger operand, the rows are split: with the columns split every
// thread reads all of A, which then no longer fits in its L2 (the input gradient of an RNN's
// input projection, 6400 x 768 @ (128 x 768)^T, took 7.1 to 13.8 ms split by columns, from
// process to process, and 6.0 to 6.5 ms by rows on Zen 4, 2 threads; NumPy 7.1 ms). With the
// rows split every thread reads all of B instead: a larger B keeps the columns split (the
// recurrent kernel's gradient, (6400 x 256)^T @ 6400 x 768: 13.2 to 13.6 ms, 14.8 to 16.8 by
// rows). Below it the columns win (the MLP's weight gradient, 784 x 64 @ 64 x 128).
constexpr int64_t kRowsWinTiesBytes = 2 << 20;

// Elements of C per thread below which an outer product stays on one thread.
constexpr int64_t kOuterRowsWork = 64 * 1024;

// Elements of A (M x K) from which a product's few ragged columns are a product of their own
// (split_ragged_columns): a second pass over a smaller A costs more than the ragged tile saves.
constexpr int64_t kRaggedSplitWork = 256 * 256;

constexpr int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
constexpr int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

Scratch& a_scratch() {
  thread_local Scratch s;
  return s;
}
Scratch& b_scratch() {
  thread_local Scratch s;
  return s;
}
[[maybe_unused]] Scratch& partial_scratch() {
  thread_local Scratch s;
  return s;
}

// Packs rows [0, mc) x cols [0, kc) of A into MR-row panels: panel p holds, for each k, the MR
// values A[p*MR + r, k] contiguously. Rows past mc are zero.
template <class T>
void pack_a(int MR, int64_t mc, int64_t kc, const T* A, int64_t rs, int64_t cs, T* dst) {
  if (rs == 1) {
    // A transposed in memory (a weight gradient's patches^T): a panel's MR values at each k
    // are contiguous, one copy each, instead of MR reads a column apart. (With a call of memcpy
    // per copy, 15 % of (6400 x 256)^T @ 6400 x 768 on Zen 4 went to copying; 12 % this way.)
    FASTDL_DISPATCH(gemm_pack_a_columns<T>(mc, kc, A, cs, dst));
    return;
  }
  if (cs == 1) {  // rows contiguous: transposed in registers (a scalar loop cost as much as
                  // the product itself when it had 128 columns)
    FASTDL_DISPATCH(gemm_pack_a_rows<T>(mc, kc, A, rs, dst));
    return;
  }
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    for (int r = 0; r < mr; ++r) {
      const T* src = A + (i0 + r) * rs;
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = src[k * cs];
    }
    for (int r = mr; r < MR; ++r)
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = T(0);
  }
}

// Packs panels [p_begin, p_end) of the kc x nc block of B: panel p starts at packed +
// p * panel_stride (>= NR * kc) and holds, for each k, the NR values B[k, p*NR + j]
// contiguously. Columns past nc are zero.
template <class T>
void pack_b(int NR, int64_t panel_stride, int64_t p_begin, int64_t p_end, int64_t kc, int64_t nc,
            const T* B, int64_t rs, int64_t cs, T* packed) {
  auto panel_width = [&](int64_t p) { return static_cast<int>(std::min<int64_t>(NR, nc - p * NR)); };
  if (cs == 1) {
    // Row by row: B is read sequentially and each panel is written sequentially. (Panel by
    // panel would read B in 64-byte pieces a whole row apart, which the prefetchers serve badly.)
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = B + k * rs;
      for (int64_t p = p_begin; p < p_end; ++p) {
        const int nr = panel_width(p);
        T* dst = packed + p * panel_stride + k * NR;
        if (nr == NR) {
          std::memcpy(dst, src + p * NR, NR * sizeof(T));
        } else {
          std::memcpy(dst, src + p * NR, nr * sizeof(T));
          std::fill(dst + nr, dst + NR, T(0));
        }
      }
    }
    return;
  }
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int64_t j0 = p * NR;
    const int nr = panel_width(p);
    T* dst = packed + p * panel_stride;
    if (rs == 1) {  // a transposed matrix: columns are contiguous
      FASTDL_DISPATCH(gemm_pack_b_columns<T>(kc, nr, B + j0 * cs, cs, dst));
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int j = 0; j < nr; ++j) dst[k * NR + j] = B[k * rs + (j0 + j) * cs];
        for (int j = nr; j < NR; ++j) dst[k * NR + j] = T(0);
      }
    }
  }
}

// [begin, end) of `count` items for part `part` of `parts`, in multiples of `align`.
struct Range {
  int64_t begin, end;
};
Range split(int64_t count, int parts, int part, int64_t align) {
  const int64_t units = ceil_div(count, align);
  const int64_t per = units / parts, extra = units % parts;
  const int64_t first = part * per + std::min<int64_t>(part, extra);
  const int64_t n = per + (part < extra ? 1 : 0);
  return {std::min(count, first * align), std::min(count, (first + n) * align)};
}

// Which operands to pack, from the measurements summarized at the top of this file.
struct PackingPlan {
  bool pack_a, pack_b;
};

template <class T>
bool should_pack_a(int64_t N, StridedMatrix<T> A) {
  // The in-place kernel walks A along rows (unit column stride) or along columns; a walk whose
  // stride is a multiple of 2 KiB maps every line to the same few L1 sets.
  const int64_t walk = A.col_stride == 1 ? A.row_stride : A.col_stride;
  const bool a_stride_aliases = (walk * int64_t(sizeof(T))) % 2048 == 0;
  return N > 512 || a_stride_aliases;
}

template <class T>
PackingPlan plan_packing(int NR, int64_t N, int64_t K, StridedMatrix<T> A,
                         StridedMatrix<T> B) {
  // B read in place must stay in L1 across a block's row tiles without colliding in its sets.
  constexpr int64_t kHalfL1Bytes = 16 << 10;
  const bool b_in_place_ok = B.col_stride == 1 && (N <= 2 * NR ||
                                                   K * N * int64_t(sizeof(T)) <= kHalfL1Bytes);
  const bool pack_a = should_pack_a(N, A);
  // The packed-A micro-kernel reads B as packed panels only.
  return {pack_a, pack_a || !b_in_place_ok};
}

// Where gemm_pack_b puts the panels of the block of B at rows [pc, pc + kc) and columns
// [jc, jc + nc): blocks of K rows and NC columns one after the other, each made of kc-row blocks.
int64_t packed_b_offset(int NR, int64_t K, int64_t jc, int64_t pc, int64_t nc) {
  return jc * K + pc * round_up(nc, NR);
}

// B packed as gemm_pack_b lays it out, by up to `threads` threads taking pieces of a few
// panels of a block as they come.
template <class T>
void pack_b_in_parallel(int64_t K, int64_t N, StridedMatrix<T> B, T* packed, int threads) {
  if (K == 0 || N == 0) return;
  const GemmGeometry g = gemm_geometry<T>();
  const int64_t kc_block = ceil_div(K, ceil_div(K, g.kc));  // as gemm_blocked blocks K
  const int64_t k_blocks = ceil_div(K, kc_block), n_blocks = ceil_div(N, g.nc);
  constexpr int64_t kPanelsPerPiece = 4;
  const int64_t pieces_per_block = ceil_div(ceil_div(std::min(g.nc, N), g.nr), kPanelsPerPiece);
  auto join = [](int) {};
  auto piece = [&](int, int64_t i) {
    const int64_t block = i / pieces_per_block, first = i % pieces_per_block * kPanelsPerPiece;
    const int64_t jc = block / k_blocks * g.nc, pc = block % k_blocks * kc_block;
    const int64_t nc = std::min(g.nc, N - jc), kc = std::min(kc_block, K - pc);
    const int64_t panels = ceil_div(nc, g.nr);
    if (first >= panels) return;
    pack_b(g.nr, g.nr * kc, first, std::min(panels, first + kPanelsPerPiece), kc, nc,
           B.data + pc * B.row_stride + jc * B.col_stride, B.row_stride, B.col_stride,
           packed + packed_b_offset(g.nr, K, jc, pc, nc));
  };
  run_chunks(n_blocks * k_blocks * pieces_per_block, threads, join, piece);
}

// `prepacked_b`, when given, holds B as gemm_pack_b wrote it (and B is not read).
template <class T>
void gemm_blocked(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B, T* C,
                  int64_t ldc, const GemmEpilogue<T>& ep, int nthreads,
                  const T* prepacked_b = nullptr) {
  if (M == 0 || N == 0) return;
  const GemmGeometry g = gemm_geometry<T>();
  const int MR = g.mr, NR = g.nr;
  const int64_t MC = g.mc, KC = g.kc, NC = g.nc;

  const PackingPlan plan =
      prepacked_b ? PackingPlan{should_pack_a(N, A), true} : plan_packing(NR, N, K, A, B);

  // Threads along M times threads along N: the grid whose busiest thread gets fewest tiles. With
  // the rows split, every thread reads every panel of B, which is then packed whole first and
  // must travel from the packing core's cache to the others'; with the columns split, each
  // thread packs its own panels on the way. So when B is packed here and the rows are few,
  // splitting them must halve the busiest thread's tiles to be chosen. Measured on Zen 4, 2
  // threads: 97 x 131 @ 131 x 89 (21 tiles against 26) took 25 us, or 57 us in some processes,
  // split by rows, and 18 us split by columns; 64 x 128 @ (784 x 128)^T (100 against 104) 177 us
  // against 76. From kSharedPackingRows rows the shares of rows pay for the travel: three
  // column tiles over two threads (a dense layer of 90 to 96 units) took 80 us split 2:1 by
  // columns against 67 us by rows at 256 x 256 @ 256 x 96, 743 against 559 us at 1000 x 512 @
  // 512 x 100.
  const bool rows_must_halve = plan.pack_b && !prepacked_b && M < kSharedPackingRows;
  const bool rows_win_ties = M > N && M * K * int64_t(sizeof(T)) >= kRowsWinTiesBytes;
  const int64_t row_tiles = ceil_div(M, MR), col_tiles = ceil_div(N, NR);
  int threads_m = 1, threads_n = 1;
  int64_t best = row_tiles * col_tiles;
  for (int tm = 1; tm <= nthreads; ++tm) {
    const int tn = nthreads / tm;
    const int64_t busiest = ceil_div(row_tiles, tm) * ceil_div(col_tiles, tn);
    if (tm > 1 && rows_must_halve ? busiest * 2 < best
                                  : busiest < best || (busiest == best && rows_win_ties)) {
      best = busiest;
      threads_m = tm;
      threads_n = tn;
    }
  }
  const int team = threads_m * threads_n;
  if (threads_m > 1 && plan.pack_b && !prepacked_b) {
    // Threads splitting the rows all read every panel of B: it is packed whole first, in
    // pieces any thread takes, rather than block by block between barriers (which wait for
    // every thread, a descheduled one included).
    T* packed = b_scratch().get<T>(gemm_packed_b_size<T>(K, N));
    pack_b_in_parallel(K, N, B, packed, team);
    gemm_blocked(M, N, K, A, B, C, ldc, ep, nthreads, packed);
    return;
  }

  // With A read in place, the first row tile that reads a B panel can pack it on the way
  // (gemm_tile_strided_packing_b) when no other thread needs that panel before it is done.
  const bool pack_b_in_kernel =
      !prepacked_b && plan.pack_b && !plan.pack_a && threads_m == 1 && B.col_stride == 1;
  // Equal K blocks of at most KC: a short last block would pay a full pass over C for little work.
  // K == 0 still runs one (empty) block so that the epilogue writes bias and activation.
  const int64_t kc_block = K == 0 ? 0 : ceil_div(K, ceil_div(K, KC));
  const int64_t k_blocks = K == 0 ? 1 : ceil_div(K, kc_block);
  const int64_t nc_max = std::min(NC, round_up(N, NR));
  T* b_packed = plan.pack_b && !prepacked_b ? b_scratch().get<T>(kc_block * nc_max) : nullptr;

  // With the columns split and A read in place, the column panels are dealt in pieces that the
  // threads take as they come, a few per thread, rather than in one fixed share each: a thread
  // that the machine holds up (a core shared with another library's spinning thread) then
  // delays only the piece it has. A packed A is packed once per piece: there, one per thread.
  constexpr int64_t kColumnPiecesPerThread = 4;
  const int column_pieces =
      threads_m == 1 && threads_n > 1 && !plan.pack_a
          ? static_cast<int>(std::min<int64_t>(ceil_div(std::min(NC, N), NR),
                                               kColumnPiecesPerThread * threads_n))
          : threads_n;

  // With the rows split alone, threads take blocks of rows as they finish the previous one,
  // each block through every block of K: a thread slowed by the machine, or by being the one
  // that came back from Python, takes fewer. Blocks of about 1/16 of a thread's share.
  const bool dynamic_rows = threads_m > 1 && threads_n == 1;
  const int64_t chunk_rows =
      dynamic_rows ? std::min(MC, round_up(ceil_div(M, 16 * int64_t(team)), MR)) : 0;

  // Rows [rows.begin, rows.end) of C, in blocks of mc_block rows, over the column panels of
  // piece tn of column_pieces.
  auto run_rows = [&](int tn, Range rows, int64_t mc_block) {
    T* a_packed = plan.pack_a ? a_scratch().get<T>(mc_block * kc_block) : nullptr;

    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc);
      const int64_t panels = ceil_div(nc, NR);
      const Range my_panels = split(panels, column_pieces, tn, 1);
      for (int64_t kb = 0; kb < k_blocks; ++kb) {
        const int64_t pc = kb * kc_block;
        const int64_t kc = std::min(kc_block, K - pc);
        const bool last_k = kb == k_blocks - 1;

        const T* b_panels =
            prepacked_b ? prepacked_b + packed_b_offset(NR, K, jc, pc, nc) : b_packed;
        // The panels of b_packed are kc_block apart whatever this block's kc: with the columns
        // split, a thread packing a shorter last block must not write into the panels another
        // thread still reads for the block before.
        const int64_t panel_stride = NR * (prepacked_b ? kc : kc_block);
        if (plan.pack_b && !pack_b_in_kernel && !prepacked_b) {
          // The rows are not split here (else B came prepacked): each thread packs exactly
          // the panels it uses.
          pack_b(NR, panel_stride, my_panels.begin, my_panels.end, kc, nc,
                 B.data + pc * B.row_stride + jc * B.col_stride, B.row_stride, B.col_stride,
                 b_packed);
        }
        auto row_block = [&](int64_t ic, int64_t mc) {
          const T* a_block = A.data + ic * A.row_stride + pc * A.col_stride;
          if (plan.pack_a) pack_a(MR, mc, kc, a_block, A.row_stride, A.col_stride, a_packed);
          auto tile = [&](int64_t i, int64_t p) {
            const int64_t j = jc + p * NR;
            const int nr = static_cast<int>(std::min<int64_t>(NR, N - j));
            const int mr = static_cast<int>(std::min<int64_t>(MR, mc - i));
            const TileEpilogue<T> tile_ep{ep.alpha, kb > 0 || ep.accumulate,
                                          last_k && ep.bias ? ep.bias + j : nullptr,
                                          last_k ? ep.act : Activation::none, ep.act_alpha};
            T* c_tile = C + (ic + i) * ldc + j;
            if (plan.pack_a) {
              FASTDL_DISPATCH(gemm_tile_packed<T>(kc, a_packed + i * kc,
                                                  b_panels + p * panel_stride, c_tile, ldc, mr,
                                                  nr, tile_ep));
            } else if (pack_b_in_kernel && ic == rows.begin && i == 0) {
              FASTDL_DISPATCH(gemm_tile_strided_packing_b<T>(
                  kc, a_block, A.row_stride, A.col_stride, mr, B.data + pc * B.row_stride + j,
                  B.row_stride, nr, b_packed + p * panel_stride, c_tile, ldc, tile_ep));
            } else if (plan.pack_b) {
              FASTDL_DISPATCH(gemm_tile_strided<T>(kc, a_block + i * A.row_stride, A.row_stride,
                                                   A.col_stride, mr, b_panels + p * panel_stride,
                                                   NR, nr, c_tile, ldc, tile_ep));
            } else {
              FASTDL_DISPATCH(gemm_tile_strided<T>(kc, a_block + i * A.row_stride, A.row_stride,
                                                   A.col_stride, mr, B.data + pc * B.row_stride + j,
                                                   B.row_stride, nr, c_tile, ldc, tile_ep));
            }
          };
          // A packed block is contiguous and streams well from L2, so a B micro-panel stays in
          // L1 while every row tile passes (BLIS order). A read in place is the harder stream:
          // then a row tile of A stays in L1 while the packed B block passes.
          if (plan.pack_a || !plan.pack_b) {
            for (int64_t p = my_panels.begin; p < my_panels.end; ++p)
              for (int64_t i = 0; i < mc; i += MR) tile(i, p);
          } else {
            for (int64_t i = 0; i < mc; i += MR)
              for (int64_t p = my_panels.begin; p < my_panels.end; ++p) tile(i, p);
          }
        };
        for (int64_t ic = rows.begin; ic < rows.end; ic += mc_block)
          row_block(ic, std::min(mc_block, rows.end - ic));
      }
    }
  };

  auto join = [](int) {};
  if (dynamic_rows) {
    auto block = [&](int, int64_t c) {
      run_rows(0, Range{c * chunk_rows, std::min(M, (c + 1) * chunk_rows)}, chunk_rows);
    };
    run_chunks(ceil_div(M, chunk_rows), team, join, block);
    return;
  }
  // A share of the rows and a piece of the column panels per chunk; equal A blocks of at most
  // MC rows.
  auto share = [&](int, int64_t t) {
    const Range rows = split(M, threads_m, static_cast<int>(t) % threads_m, MR);
    const int64_t my_rows = rows.end - rows.begin;
    const int64_t mc_block =
        my_rows > 0 ? round_up(ceil_div(my_rows, ceil_div(my_rows, MC)), MR) : MR;
    run_rows(static_cast<int>(t) / threads_m, rows, mc_block);
  };
  run_chunks(int64_t{threads_m} * column_pieces, team, join, share);
}

// Splitting the columns of a row-major B between threads makes them read alternate pieces of
// the same rows, and each core's prefetchers then pull in the other's half as well. For a short,
// narrow product with a long K (a dense layer's forward pass: 64 x 784 @ 784 x 128) it is
// faster to give each thread a contiguous range of K (its own rows of B), compute partial
// products, and add them up in a last pass that also applies the bias and the activation.
template <class T>
bool prefer_split_k(int64_t M, int64_t N, int64_t K, StridedMatrix<T> B, int nthreads) {
  return nthreads > 1 && B.col_stride == 1 && M <= 256 && N <= 512 && K >= 4 * N &&
         K >= 256 * nthreads;
}

template <class T>
void gemm_split_k(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B, T* C,
                  int64_t ldc, const GemmEpilogue<T>& ep, int nthreads) {
  // Part t > 0 of K writes its partial product to partials[t - 1]; part 0 writes C. Then the
  // rows are added up, the partials always in the same order.
  T* partials = partial_scratch().get<T>((nthreads - 1) * M * N);
  GemmEpilogue<T> partial_ep;
  partial_ep.alpha = ep.alpha;
  auto join = [](int) {};
  auto part = [&](int, int64_t t) {
    const Range ks = split(K, nthreads, static_cast<int>(t), 8);
    const StridedMatrix<T> a{A.data + ks.begin * A.col_stride, A.row_stride, A.col_stride};
    const StridedMatrix<T> b{B.data + ks.begin * B.row_stride, B.row_stride, B.col_stride};
    T* dest = t == 0 ? C : partials + (t - 1) * M * N;
    GemmEpilogue<T> own = partial_ep;
    own.accumulate = t == 0 && ep.accumulate;
    gemm_blocked(M, N, ks.end - ks.begin, a, b, dest, t == 0 ? ldc : N, own, 1);
  };
  run_chunks(nthreads, nthreads, join, part);
  auto add_up = [&](int, int64_t r) {
    const Range rows = split(M, nthreads, static_cast<int>(r), 1);
    for (int t = 1; t < nthreads; ++t) {
      const bool last = t == nthreads - 1;
      const TileEpilogue<T> combine{T(1), true, last ? ep.bias : nullptr,
                                    last ? ep.act : Activation::none, ep.act_alpha};
      FASTDL_DISPATCH(gemm_epilogue_rows<T>(rows.end - rows.begin, N,
                                            partials + (t - 1) * M * N + rows.begin * N, N,
                                            C + rows.begin * ldc, ldc, combine));
    }
  };
  run_chunks(nthreads, nthreads, join, add_up);
}

}  // namespace

template <class T>
void apply_epilogue_rows(int64_t rows, int64_t cols, T* C, int64_t ldc, const T* bias,
                         Activation act) {
  if (bias == nullptr && act == Activation::none) return;
  const TileEpilogue<T> ep{T(1), false, bias, act, T(0)};
  FASTDL_DISPATCH(gemm_epilogue_rows<T>(rows, cols, C, ldc, C, ldc, ep));
}

int gemm_threads(int64_t M, int64_t N, int64_t K) { return threads_for(M * N * K, kParallelWork); }

// The grain for parallel_for that gives `nthreads` threads their share of M rows (a share
// rounded up to whole tiles could exceed half of M and leave one thread with everything).
int64_t rows_per_thread(int64_t M, int nthreads) { return std::max<int64_t>(1, M / nthreads); }

// A product of at most one vector of columns (a dense layer of 10 units, or its weight
// gradient): the narrow tile, A read in place and B in place (its K x N fits in L1 or L2 and is
// read by every row tile), whatever K; threads take contiguous ranges of rows.
template <class T>
void gemm_narrow(const GemmGeometry& g, int64_t M, int64_t N, int64_t K, StridedMatrix<T> A,
                 StridedMatrix<T> B, T* C, int64_t ldc, const GemmEpilogue<T>& ep,
                 int nthreads) {
  parallel_for(
      M, rows_per_thread(M, nthreads),
      [&](int64_t begin, int64_t end) {
        FASTDL_DISPATCH(gemm_tiles<T>(end - begin, N, K, A.data + begin * A.row_stride,
                                      A.row_stride, A.col_stride, B.data, B.row_stride, g.nr,
                                      C + begin * ldc, ldc, ep));
      },
      g.narrow_rows);
}

// A product of a few columns and at least a column tile of rows (a dense layer of 10 units and
// its weight gradient): column tiles, A's columns read in place when contiguous and otherwise
// packed by transposes a tile at a time; threads take contiguous ranges of rows.
template <class T>
bool prefer_columns(const GemmGeometry& g, int64_t M, int64_t N, int64_t K, StridedMatrix<T> A) {
  return K > 0 && N > 0 && N <= g.column_cols && M >= g.column_rows &&
         (A.row_stride == 1 || (A.col_stride == 1 && N >= g.column_packed_cols));
}

template <class T>
void gemm_by_columns(const GemmGeometry& g, int64_t M, int64_t N, int64_t K, StridedMatrix<T> A,
                     StridedMatrix<T> B, T* C, int64_t ldc, const GemmEpilogue<T>& ep,
                     int nthreads) {
  const int64_t tile_rows = g.column_rows;
  parallel_for(
      M, rows_per_thread(M, nthreads),
      [&](int64_t begin, int64_t end) {
        T* panel = A.row_stride == 1 ? nullptr : a_scratch().get<T>(K * tile_rows);
        FASTDL_DISPATCH(gemm_columns<T>(end - begin, static_cast<int>(N), K,
                                        A.data + begin * A.row_stride, A.row_stride,
                                        A.col_stride, B.data, B.row_stride, B.col_stride, panel,
                                        C + begin * ldc, ldc, ep));
      },
      tile_rows);
}

// Whether a product whose last column tile holds a few columns (a dense layer of 65 units: two
// tiles and one column) computes those columns as a second product. The ragged tile costs as
// much as a whole one: 6400 x 256 @ 256 x 65 took as long as @ 256 x 96. The second product
// reads A once more, which is worth it when the rows are many and the ragged tile mostly empty:
// at most a quarter full, or at most half full where its empty columns are a tenth of all the
// tiles' (a classifier over 76 characters: 6400 x 256 @ 256 x 76 1.96 -> 1.31 ms on Zen 4, 2
// threads; 256 x 256 @ 256 x 300, whose ragged tile wastes 6 %, was 10 % slower split).
bool split_ragged_columns(const GemmGeometry& g, int64_t M, int64_t N, int64_t K) {
  const int64_t ragged = N % g.nr;
  if (N <= g.nr || ragged == 0 || M * K < kRaggedSplitWork) return false;
  const int64_t empty = g.nr - ragged, computed = N + empty;
  return ragged <= g.nr / 4 || (ragged <= g.nr / 2 && 10 * empty >= computed);
}

// A product of one column whose A has contiguous rows (a dense layer of one unit, or the last
// column past whole tiles) as dot products along those rows: b copied first when its elements
// are not contiguous; threads take contiguous ranges of rows.
template <class T>
void gemm_dot(int64_t M, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B, T* C, int64_t ldc,
              const GemmEpilogue<T>& ep, int nthreads) {
  const T* b = B.data;
  if (B.row_stride != 1) {
    T* copy = b_scratch().get<T>(K);
    for (int64_t k = 0; k < K; ++k) copy[k] = B.data[k * B.row_stride];
    b = copy;
  }
  parallel_for(
      M, rows_per_thread(M, nthreads),
      [&](int64_t begin, int64_t end) {
        FASTDL_DISPATCH(gemm_dot_rows<T>(end - begin, K, A.data + begin * A.row_stride,
                                         A.row_stride, b, C + begin * ldc, ldc, ep));
      },
      4);
}

// A product over K = 1 (an outer product: a dense layer of one unit's input gradient) with b's
// elements contiguous: each row of C is a multiple of b, written whole, as fast as the stores go;
// threads take contiguous ranges of rows.
template <class T>
void gemm_outer(int64_t M, int64_t N, StridedMatrix<T> A, StridedMatrix<T> B, T* C, int64_t ldc,
                const GemmEpilogue<T>& ep) {
  parallel_for(
      M, std::max<int64_t>(1, kOuterRowsWork / std::max<int64_t>(N, 1)),
      [&](int64_t begin, int64_t end) {
        FASTDL_DISPATCH(gemm_outer_rows<T>(end - begin, N, A.data + begin * A.row_stride,
                                           A.row_stride, B.data, C + begin * ldc, ldc, ep));
      },
      1);
}

// A product of one row with B's rows contiguous (a single sample through a dense layer; a bias
// gradient as ones @ g): the row kernel, which reads each row of B once against a broadcast of
// a's element (the tiles would compute MR rows for one: 1 x 512 @ 512 x 512 took 61 us against
// NumPy's 12 us on Zen 4); threads take contiguous ranges of whole vectors of columns.
template <class T>
void gemm_one_row(int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B, T* C,
                  const GemmEpilogue<T>& ep, int nthreads) {
  const int64_t W = gemm_geometry<T>().narrow;  // the narrow tile is one vector wide
  parallel_for(
      ceil_div(N, W), std::max<int64_t>(1, ceil_div(N, W) / nthreads),
      [&](int64_t begin, int64_t end) {
        FASTDL_DISPATCH(gemm_row<T>(begin * W, std::min(N, end * W), K, A.data, A.col_stride,
                                    B.data, B.row_stride, C, ep));
      },
      1);
}

// Below this K the dot products' horizontal sums outweigh their work.
constexpr int64_t kDotMinK = 32;

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B, T* C,
          int64_t ldc, const GemmEpilogue<T>& epilogue) {
  const int nthreads = gemm_threads(M, N, K);
  const GemmGeometry g = gemm_geometry<T>();
  if (N == 1 && K >= kDotMinK && A.col_stride == 1) {
    gemm_dot(M, K, A, B, C, ldc, epilogue, nthreads);
    return;
  }
  if (K == 1 && B.col_stride == 1) {
    gemm_outer(M, N, A, B, C, ldc, epilogue);
    return;
  }
  if (M == 1 && B.col_stride == 1) {
    gemm_one_row(N, K, A, B, C, epilogue, nthreads);
    return;
  }
  if (M == 1 && B.row_stride == 1 && K >= kDotMinK && !epilogue.bias &&
      epilogue.act == Activation::none) {
    // One row times a B whose columns are contiguous (a single sample's input gradient, g @
    // W^T): each element of C is the dot product of a with a column of B, the transposed
    // product's one column (1 x 512 @ (512 x 512)^T on Zen 4: 91.5 us by the tiles, 13.8 us
    // this way, NumPy 12.9 us).
    gemm_dot(N, K, {B.data, B.col_stride, 1}, {A.data, A.col_stride, 1}, C, 1, epilogue,
             nthreads);
    return;
  }
  if (prefer_columns(g, M, N, K, A)) {
    gemm_by_columns(g, M, N, K, A, B, C, ldc, epilogue, nthreads);
    return;
  }
  if (N <= g.narrow && K > 0 && B.col_stride == 1) {
    gemm_narrow(g, M, N, K, A, B, C, ldc, epilogue, nthreads);
    return;
  }
  if (nthreads == 1 && K > 0 && K <= g.kc && N <= g.nc) {
    const PackingPlan plan = plan_packing(g.nr, N, K, A, B);
    if (!plan.pack_a && !plan.pack_b) {
      // Small enough to need no packing and no blocking: straight to the micro-kernel's loops
      // (the driver's planning is a good share of a product this size).
      FASTDL_DISPATCH(gemm_tiles<T>(M, N, K, A.data, A.row_stride, A.col_stride, B.data,
                                    B.row_stride, g.nr, C, ldc, epilogue));
      return;
    }
  }
  if (split_ragged_columns(g, M, N, K)) {
    // The columns past the last whole tile are a product of their own, where the narrow or
    // column tiles fit them, instead of a ragged tile that costs as much as a whole one.
    const int64_t whole = N - N % g.nr;
    gemm(M, whole, K, A, B, C, ldc, epilogue);
    GemmEpilogue<T> rest = epilogue;
    if (rest.bias) rest.bias += whole;
    gemm<T>(M, N - whole, K, A, {B.data + whole * B.col_stride, B.row_stride, B.col_stride},
            C + whole, ldc, rest);
    return;
  }
  if (prefer_split_k(M, N, K, B, nthreads)) {
    gemm_split_k(M, N, K, A, B, C, ldc, epilogue, nthreads);
    return;
  }
  gemm_blocked(M, N, K, A, B, C, ldc, epilogue, nthreads);
}

template <class T>
int64_t gemm_packed_b_size(int64_t K, int64_t N) {
  return K * round_up(N, gemm_geometry<T>().nr);
}

template <class T>
void gemm_pack_b(int64_t K, int64_t N, StridedMatrix<T> B, T* packed) {
  pack_b_in_parallel(K, N, B, packed, 1);
}

template <class T>
void gemm_with_packed_b(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, const T* packed_b,
                        T* C, int64_t ldc, const GemmEpilogue<T>& epilogue) {
  const int nthreads = gemm_threads(M, N, K);
  const GemmGeometry g = gemm_geometry<T>();
  if (nthreads > 1 || K == 0 || K > g.kc || N > g.nc || should_pack_a(N, A)) {
    gemm_blocked(M, N, K, A, StridedMatrix<T>{packed_b, 0, 0}, C, ldc, epilogue, nthreads,
                 packed_b);
    return;
  }
  // One block of K and N on one thread (the many small products of a blocked algorithm, such
  // as Winograd's 16 per block of tiles): straight to the micro-kernel's loops, A read in place,
  // each row tile of it kept in L1 while the panels pass. The driver's planning would be a good
  // share of so small a product.
  FASTDL_DISPATCH(gemm_tiles<T>(M, N, K, A.data, A.row_stride, A.col_stride, packed_b, g.nr,
                                g.nr * K, C, ldc, epilogue));
}

template <class T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, StridedMatrix<T> A,
                  int64_t batch_stride_a, StridedMatrix<T> B, int64_t batch_stride_b, T* C,
                  int64_t ldc, const GemmEpilogue<T>& epilogue) {
  auto item = [&](int64_t i, int nthreads) {
    StridedMatrix<T> a{A.data + i * batch_stride_a, A.row_stride, A.col_stride};
    StridedMatrix<T> b{B.data + i * batch_stride_b, B.row_stride, B.col_stride};
    gemm_blocked(M, N, K, a, b, C + i * M * ldc, ldc, epilogue, nthreads);
  };
  // Many small products: one per thread. Few large ones: each uses every thread.
  const int64_t work = M * N * K;
  const int per_item_threads = threads_for(work, kParallelWork);
  if (per_item_threads > 1 && batch < 2 * get_num_threads()) {
    for (int64_t i = 0; i < batch; ++i) item(i, per_item_threads);
    return;
  }
  const int64_t items_per_thread = std::max<int64_t>(1, ceil_div(kParallelWork, std::max<int64_t>(work, 1)));
  parallel_for(
      batch, items_per_thread,
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) item(i, 1);
      },
      1);
}

template void gemm<float>(int64_t, int64_t, int64_t, StridedMatrix<float>, StridedMatrix<float>,
                          float*, int64_t, const GemmEpilogue<float>&);
template void gemm<double>(int64_t, int64_t, int64_t, StridedMatrix<double>,
                           StridedMatrix<double>, double*, int64_t, const GemmEpilogue<double>&);
template int64_t gemm_packed_b_size<float>(int64_t, int64_t);
template int64_t gemm_packed_b_size<double>(int64_t, int64_t);
template void gemm_pack_b<float>(int64_t, int64_t, StridedMatrix<float>, float*);
template void gemm_pack_b<double>(int64_t, int64_t, StridedMatrix<double>, double*);
template void gemm_with_packed_b<float>(int64_t, int64_t, int64_t, StridedMatrix<float>,
                                        const float*, float*, int64_t,
                                        const GemmEpilogue<float>&);
template void gemm_with_packed_b<double>(int64_t, int64_t, int64_t, StridedMatrix<double>,
                                         const double*, double*, int64_t,
                                         const GemmEpilogue<double>&);
template void apply_epilogue_rows<float>(int64_t, int64_t, float*, int64_t, const float*,
                                         Activation);
template void apply_epilogue_rows<double>(int64_t, int64_t, double*, int64_t, const double*,
                                          Activation);
template void gemm_batched<float>(int64_t, int64_t, int64_t, int64_t, StridedMatrix<float>,
                                  int64_t, StridedMatrix<float>, int64_t, float*, int64_t,
                                  const GemmEpilogue<float>&);
template void gemm_batched<double>(int64_t, int64_t, int64_t, int64_t, StridedMatrix<double>,
                                   int64_t, StridedMatrix<double>, int64_t, double*, int64_t,
                                   const GemmEpilogue<double>&);

}  // namespace fastdl
