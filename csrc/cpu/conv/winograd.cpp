// Winograd's convolutions for a 3x3 kernel with unit strides and dilation: blocks of tiles
// transformed (winograd_kernels.cpp) and their products as GEMMs with the GEMM micro-kernels,
// the blocks split over threads: F(4x4, 3x3) forward, F(3x3, 4x4) for the weight gradient and
// F(4x4, 3x3) transposed for the input gradient.
#include "conv/winograd.h"

#include <algorithm>

#include "conv/blocking.h"
#include "conv/kernels.h"
#include "fastdl/gemm.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"

namespace fastdl {

// Winograd's algorithms for a 3x3 kernel with unit strides and dilation (F(4x4, 3x3) and its
// transpose F(3x3, 4x4)): the products of transformed tiles become GEMMs of (tiles x C) by
// (C x CO) (forward) or (C x tiles) by (tiles x CO) (weight gradient). Worth their transforms
// when the channels make those GEMMs long enough, and when the image is large enough that few
// tiles hang over its edge (measured: slower on 5x5 -> 3x3, faster from 13x13 -> 11x11 up).
bool winograd_applies(const ConvShape& s) {
  return s.KH == 3 && s.KW == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.C >= 16 && s.CO >= 16 && s.OH >= 8 && s.OW >= 8;
}

int64_t winograd_tiles(const ConvShape& s) { return ceil_div(s.OH, 4) * ceil_div(s.OW, 4); }

namespace {

// How the Winograd algorithms cut the tiles of m x m output pixels: blocks of `rows` tiles whose
// (m + 2)^2 transformed input patches and as many products (or output-gradient tiles) fill
// about 1 MiB (and at least `min_rows` tiles), spread over `threads` threads. The rows of a
// block are the rows (or, for the weight gradient, the reduction) of its 36 GEMMs: blocks
// sized for L2 (18 tiles of 13x13x32 -> 64) left them short and the last row tile of 8 mostly
// empty, and the whole forward and backward took 2.31 ms on 2 threads against 2.01 ms with
// 1 MiB blocks (72 tiles), which stream from L2 well enough. A multiple of 24 rows fills the
// micro-kernel's tiles of 6 and of 8 rows.
struct WinogradBlocks {
  int64_t tiles, rows, blocks;
  int threads;
};

template <class T>
WinogradBlocks winograd_blocks(const ConvShape& s, int m, int64_t min_rows = 6) {
  constexpr int64_t kBlockBytes = 1 << 20;
  const int64_t positions = (m + 2) * (m + 2);
  WinogradBlocks b{};
  b.tiles = s.N * ceil_div(s.OH, m) * ceil_div(s.OW, m);
  const int64_t per_tile = positions * (s.C + s.CO) * int64_t(sizeof(T));
  b.rows = std::clamp<int64_t>(kBlockBytes / per_tile / 24 * 24, min_rows, 1024);
  b.blocks = ceil_div(b.tiles, b.rows);
  b.threads = threads_for_blocks(b.blocks, b.rows * positions * s.C * s.CO);
  return b;
}

// F(4x4, 3x3)'s G, which turns a 3-tap kernel into the 6 values the transformed tiles multiply.
constexpr double kWinogradG[6][3] = {{1.0 / 4, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};

// (G g G^T) for every (c, co): 36 matrices of C x CO. The inner loops run along co,
// which is contiguous in the HWIO kernel, and multiply by G's entries rather than divide: a
// scalar version with divisions took a seventh of a 13x13x32 -> 64 forward.
template <class T>
void winograd4_kernel_transform(const ConvShape& s, const T* w, T* u) {
  T g[6][3];
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 3; ++k) g[i][k] = static_cast<T>(kWinogradG[i][k]);
  constexpr int64_t kLanes = 64;  // output channels per pass: t below stays in L1
  const int64_t C = s.C, CO = s.CO, plane = C * CO;
  T t[6][3][kLanes];  // G g for one input channel and kLanes output channels
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t co0 = 0; co0 < CO; co0 += kLanes) {
      const int64_t lanes = std::min(kLanes, CO - co0);
      const T* tap[3][3];  // tap[kh][kw]: the kernel's (kh, kw, c, co0...) row
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) tap[kh][kw] = w + ((kh * 3 + kw) * C + c) * CO + co0;
      for (int i = 0; i < 6; ++i)
        for (int kw = 0; kw < 3; ++kw)
          for (int64_t l = 0; l < lanes; ++l)
            t[i][kw][l] = g[i][0] * tap[0][kw][l] + g[i][1] * tap[1][kw][l] +
                          g[i][2] * tap[2][kw][l];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
          T* out = u + (6 * i + j) * plane + c * CO + co0;
          for (int64_t l = 0; l < lanes; ++l)
            out[l] = g[j][0] * t[i][0][l] + g[j][1] * t[i][1][l] + g[j][2] * t[i][2][l];
        }
    }
  }
}

}  // namespace

// The forward by F(4x4, 3x3): 36 products per 4x4 output tile (2.25 per pixel, against 4 with
// F(2x2, 3x3) and 9 without Winograd), as 36 GEMMs of (tiles x C) by (C x CO).
template <class T>
void conv2d_forward_winograd(const ConvShape& s, const T* x, const T* w, const T* b,
                             Activation act, T* y) {
  constexpr int kPositions = 36;
  const int64_t C = s.C, CO = s.CO;
  const WinogradBlocks plan = winograd_blocks<T>(s, 4);
  const int64_t tiles = plan.tiles, rows = plan.rows, blocks = plan.blocks;
  const int threads = plan.threads;
  const int64_t packed = gemm_packed_b_size<T>(C, CO);
  const Buffers<T> buf = take_buffers<T>(kPositions * (packed + C * CO),
                                         rows * kPositions * (C + CO), threads, 0);
  T* transformed = buf.packed_weights + kPositions * packed;
  winograd4_kernel_transform(s, w, transformed);
  for (int xi = 0; xi < kPositions; ++xi)
    gemm_pack_b<T>(C, CO, {transformed + xi * C * CO, CO, 1}, buf.packed_weights + xi * packed);
  parallel_items(threads, blocks, [](int) {}, [&](int t, int64_t blk) {
    T* v = buf.block(t);
    T* m = v + rows * kPositions * C;
    const int64_t t0 = blk * rows, n = std::min(rows, tiles - t0);
    FASTDL_DISPATCH(conv_winograd4_input<T>(s, x, t0, n, v));
    for (int xi = 0; xi < kPositions; ++xi) {
      gemm_with_packed_b<T>(n, CO, C, {v + xi * n * C, C, 1}, buf.packed_weights + xi * packed,
                            m + xi * n * CO, CO, GemmEpilogue<T>{});
    }
    FASTDL_DISPATCH(conv_winograd4_output<T>(s, m, b, act, t0, n, y));
  });
}

// The gradients by Winograd's algorithms, the weight gradient, the input gradient or both in one
// pass over the tiles, which transforms each 4x4 tile g of the output gradient once (A g A^T,
// conv_winograd4_output_gradient) for both:
//  * the weight gradient by F(3x3, 4x4): each tile, as a "kernel" over the tile's 6x6 input
//    patch, contributes to all 3x3 taps with 36 products instead of 144; summed over the tiles,
//    the products are 36 GEMMs (C x tiles) by (tiles x CO), and one transform of the 36 sums
//    gives dw. By the transposition principle this is the forward's F(4x4, 3x3) with its
//    matrices' roles exchanged: dw = G^T [(A g A^T) . (B^T d B)] G.
//  * the input gradient by F(4x4, 3x3) transposed: 36 GEMMs of (tiles x CO) by the transformed
//    kernel's transpose (CO x C), and each product as B p B^T added into the tile's 6x6 input
//    patch (conv_winograd4_input_gradient). Its tiles are the forward's, over the output: a valid
//    convolution's 11x11 output has 9 per image where the turned forward, tiling the 13x13
//    input, has 16.
// Patches of neighbouring tiles overlap in dx, so with dx a thread takes whole images (as many
// as a block of tiles holds), in blocks of tiles; without, blocks of tiles across images.
template <class T>
void conv2d_backward_winograd(const ConvShape& s, const T* x, const T* dy, const T* w, T* dx,
                              T* dw, T* db) {
  constexpr int kPositions = 36;
  const int64_t C = s.C, CO = s.CO, plane = C * CO;
  // The weight gradient's GEMMs reduce over a block's tiles: with wide channels the L2-sized
  // block would hold too few tiles for the reduction loop to pay (measured on 56x56x64 -> 128:
  // 6 tiles per block took 140 ms, 24 took 84 ms).
  constexpr int64_t kMinTilesForWeights = 24;
  const WinogradBlocks plan = winograd_blocks<T>(s, 4, dw ? kMinTilesForWeights : 6);
  const int64_t rows = plan.rows, tiles_per_image = winograd_tiles(s);
  const int64_t images_per_item =
      std::max<int64_t>(1, rows / std::max<int64_t>(1, tiles_per_image));
  const int64_t items = dx ? ceil_div(s.N, images_per_item) : plan.blocks;
  const int threads = static_cast<int>(std::min<int64_t>(plan.threads, items));
  // With dw: each thread's 36 sums and its share of db.
  const int64_t partial = dw ? kPositions * plane + CO : 0;
  const int64_t packed = dx ? gemm_packed_b_size<T>(CO, C) : 0;
  const Buffers<T> buf = take_buffers<T>(dx ? kPositions * (packed + plane) : 0,
                                         rows * kPositions * (C + CO), threads, partial);
  if (dx) {
    T* transformed = buf.packed_weights + kPositions * packed;
    winograd4_kernel_transform(s, w, transformed);
    for (int xi = 0; xi < kPositions; ++xi)  // U^T, CO x C
      gemm_pack_b<T>(CO, C, {transformed + xi * plane, 1, CO}, buf.packed_weights + xi * packed);
  }
  GemmEpilogue<T> accumulate;
  accumulate.accumulate = true;
  auto zero_sums = [&](int t) {
    if (!dw) return;
    T* sums = buf.partial(t);
    std::fill(sums, sums + kPositions * plane, T(0));
  };
  // Tiles [t0, t0 + n), on thread t.
  auto tiles = [&](int t, int64_t t0, int64_t n) {
    T* z = buf.block(t);              // A g A^T: 36 matrices of n x CO
    T* v = z + rows * kPositions * CO;  // B^T d B or the products for dx: 36 of n x C
    FASTDL_DISPATCH(conv_winograd4_output_gradient<T>(s, dy, t0, n, z));
    if (dw) {
      T* sums = buf.partial(t);
      FASTDL_DISPATCH(conv_winograd4_input<T>(s, x, t0, n, v));
      for (int xi = 0; xi < kPositions; ++xi) {  // V^T @ Z
        gemm<T>(C, CO, n, {v + xi * n * C, 1, C}, {z + xi * n * CO, CO, 1}, sums + xi * plane,
                CO, accumulate);
      }
    }
    if (dx) {
      for (int xi = 0; xi < kPositions; ++xi) {
        gemm_with_packed_b<T>(n, C, CO, {z + xi * n * CO, CO, 1}, buf.packed_weights + xi * packed,
                              v + xi * n * C, C, GemmEpilogue<T>{});
      }
      FASTDL_DISPATCH(conv_winograd4_input_gradient<T>(s, v, t0, n, dx));
    }
  };
  parallel_items(threads, items, zero_sums, [&](int t, int64_t item) {
    if (!dx) {
      const int64_t t0 = item * rows;
      tiles(t, t0, std::min(rows, plan.tiles - t0));
      return;
    }
    const int64_t first_image = item * images_per_item;
    const int64_t last_image = std::min(s.N, first_image + images_per_item);
    const int64_t image = s.H * s.W * C;
    std::fill(dx + first_image * image, dx + last_image * image, T(0));
    const int64_t end = last_image * tiles_per_image;
    for (int64_t t0 = first_image * tiles_per_image; t0 < end; t0 += rows)
      tiles(t, t0, std::min(rows, end - t0));
  });
  if (!dw) return;
  if (db) {
    const int64_t pixels = s.pixels();
    parallel_chunks(threads, pixels, [&](int t, int64_t first, int64_t last) {
      T* sum = buf.partial(t) + kPositions * plane;
      std::fill(sum, sum + CO, T(0));
      for (int64_t p = first; p < last; ++p)
        for (int64_t c = 0; c < CO; ++c) sum[c] += dy[p * CO + c];
    });
  }
  T* total = buf.partial(0);  // thread 0's, with the others added in
  for (int t = 1; t < threads; ++t) {
    const T* part = buf.partial(t);
    for (int64_t i = 0; i < partial; ++i) total[i] += part[i];
  }
  if (db) std::copy(total + kPositions * plane, total + kPositions * plane + CO, db);
  // dw[kh][kw] = sum over (a, b) of G[a][kh] S[a][b] G[b][kw], along the contiguous (c, co).
  std::fill(dw, dw + 9 * plane, T(0));
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 6; ++b) {
      const T* sab = total + (6 * a + b) * plane;
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) {
          const T g = static_cast<T>(kWinogradG[a][kh] * kWinogradG[b][kw]);
          if (g == T(0)) continue;
          T* out = dw + (kh * 3 + kw) * plane;
          for (int64_t i = 0; i < plane; ++i) out[i] += g * sab[i];
        }
    }
}

#define FASTDL_INSTANTIATE_WINOGRAD(T)                                                        \
  template void conv2d_forward_winograd<T>(const ConvShape&, const T*, const T*, const T*,    \
                                           Activation, T*);                                   \
  template void conv2d_backward_winograd<T>(const ConvShape&, const T*, const T*, const T*,   \
                                            T*, T*, T*);
FASTDL_INSTANTIATE_WINOGRAD(float)
FASTDL_INSTANTIATE_WINOGRAD(double)
#undef FASTDL_INSTANTIATE_WINOGRAD

}  // namespace fastdl
