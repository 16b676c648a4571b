// Convolution driver: blocks of output pixels, their patches gathered into a per-thread buffer
// (kernels.cpp) and multiplied by the weights with the GEMM micro-kernels. The weights
// are packed once per call and shared by every block and thread.
//
//   forward          y[block]  = act(patches(x)[block] @ w + b)
//   weight gradient  dw       += patches(x)[block]^T @ dy[block]   (a partial sum per thread)
//   input gradient   with unit strides, the forward of dy by the kernel turned 180 degrees;
//                    otherwise dx += scatter(dy[block] @ w^T)      (each thread owns whole images)
//
// Special cases: a 1x1 kernel with unit stride and no padding needs no patches (x itself is the
// left operand); one input channel (an image's first layer) is computed directly, pixel by pixel,
// its patches being a few scalars each; 3x3 kernels with unit strides and enough channels use
// Winograd's F(4x4, 3x3) forward and its transpose F(3x3, 4x4) for the weight gradient (4 times
// fewer products each).
#include "fastdl/conv.h"

#include <algorithm>
#include <vector>

#include "activation/kernels.h"
#include "conv/direct.h"
#include "conv/kernels.h"
#include "fastdl/activation.h"
#include "fastdl/gemm.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "runtime/scratch.h"

namespace fastdl {
namespace {

constexpr int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Pixels per block: their patches fill about a third of a 512 KiB L2, beside the packed
// weights, and there are blocks enough for every thread to get several (the last block of a
// thread that got one more than the others is then a small share of its time); a multiple of
// the micro-kernel's 6 rows.
template <class T>
int64_t block_pixels(const ConvShape& s) {
  constexpr int64_t kBlockBytes = 160 << 10;
  const int64_t fits = kBlockBytes / (std::max<int64_t>(1, s.patch()) * int64_t(sizeof(T)));
  const int64_t shares = ceil_div(s.pixels(), 8 * int64_t(get_num_threads()));
  return std::clamp<int64_t>(std::min(fits, shares) / 6 * 6, 48, 4096);
}

// The buffers a call needs, taken from the calling thread's scratch before any parallel region
// (so that an allocation failure is an exception in the caller, never inside a region).
Scratch& conv_scratch() {
  thread_local Scratch s;
  return s;
}

template <class T>
struct Buffers {
  T* packed_weights;
  T* blocks;  // one block of patches per thread
  T* partials;  // per-thread partial weight (and bias) gradients, when asked for
};

template <class T>
Buffers<T> take_buffers(int64_t packed, int64_t per_thread, int threads, int64_t partial) {
  T* base = conv_scratch().get<T>(packed + per_thread * threads + partial * threads);
  return {base, base + packed, base + packed + per_thread * threads};
}

// Winograd's algorithms for a 3x3 kernel with unit strides and dilation (F(4x4, 3x3) and its
// transpose F(3x3, 4x4)): the products of transformed tiles become GEMMs of (tiles x C) by
// (C x CO) (forward) or (C x tiles) by (tiles x CO) (weight gradient). Worth their transforms when the channels make those GEMMs long
// enough, and when the image is large enough that few tiles hang over its edge (measured:
// slower on 5x5 -> 3x3, faster from 13x13 -> 11x11 up).
bool winograd_applies(const ConvShape& s) {
  return s.KH == 3 && s.KW == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.C >= 16 && s.CO >= 16 && s.OH >= 8 && s.OW >= 8;
}

// How the Winograd algorithms cut the tiles of m x m output pixels: blocks of `rows` tiles whose
// (m + 2)^2 transformed input patches and as many products (or output-gradient tiles) fill
// about half of L2 (and at least `min_rows` tiles), spread over `threads` threads.
struct WinogradBlocks {
  int64_t tiles, rows, blocks;
  int threads;
};

template <class T>
WinogradBlocks winograd_blocks(const ConvShape& s, int m, int64_t min_rows = 6) {
  constexpr int64_t kBlockBytes = 256 << 10;
  const int64_t positions = (m + 2) * (m + 2);
  WinogradBlocks b{};
  b.tiles = s.N * ceil_div(s.OH, m) * ceil_div(s.OW, m);
  const int64_t per_tile = positions * (s.C + s.CO) * int64_t(sizeof(T));
  b.rows = std::clamp<int64_t>(kBlockBytes / per_tile / 6 * 6, min_rows, 1024);
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
  parallel_chunks(threads, blocks, [&](int t, int64_t first, int64_t last) {
    T* v = buf.blocks + t * rows * kPositions * (C + CO);
    T* m = v + rows * kPositions * C;
    for (int64_t blk = first; blk < last; ++blk) {
      const int64_t t0 = blk * rows, n = std::min(rows, tiles - t0);
      FASTDL_DISPATCH(conv_winograd4_input<T>(s, x, t0, n, v));
      for (int xi = 0; xi < kPositions; ++xi) {
        gemm_with_packed_b<T>(n, CO, C, {v + xi * n * C, C, 1}, buf.packed_weights + xi * packed,
                              m + xi * n * CO, CO, GemmEpilogue<T>{});
      }
      FASTDL_DISPATCH(conv_winograd4_output<T>(s, m, b, act, t0, n, y));
    }
  });
}

// The weight gradient by Winograd's F(3x3, 4x4): each 4x4 tile of the output gradient, as a
// "kernel" over the tile's 6x6 input patch, contributes to all 3x3 taps with 36 products
// instead of 144; summed over the tiles, the products are 36 GEMMs (C x tiles) by (tiles x CO),
// and one transform of the 36 sums gives dw. By the transposition principle this is the
// forward's F(4x4, 3x3) with its matrices' roles exchanged: dw = G^T [(A g A^T) . (B^T d B)] G.
template <class T>
void conv2d_backward_weight_winograd(const ConvShape& s, const T* x, const T* dy, T* dw, T* db) {
  constexpr int kPositions = 36;
  const int64_t C = s.C, CO = s.CO, plane = C * CO;
  // Its GEMMs reduce over a block's tiles: with wide channels the L2-sized block would hold
  // too few tiles for the reduction loop to pay (measured on 56x56x64 -> 128: 6 tiles per block
  // took 140 ms, 24 took 84 ms).
  constexpr int64_t kMinTilesPerBlock = 24;
  const WinogradBlocks plan = winograd_blocks<T>(s, 4, kMinTilesPerBlock);
  const int64_t tiles = plan.tiles, rows = plan.rows, blocks = plan.blocks;
  const int threads = plan.threads;
  const int64_t partial = kPositions * plane + CO;  // a thread's 36 sums and its share of db
  const Buffers<T> buf = take_buffers<T>(0, rows * kPositions * (C + CO), threads, partial);
  GemmEpilogue<T> accumulate;
  accumulate.accumulate = true;
  parallel_chunks(threads, blocks, [&](int t, int64_t first, int64_t last) {
    T* v = buf.blocks + t * rows * kPositions * (C + CO);
    T* u = v + rows * kPositions * C;
    T* sums = buf.partials + t * partial;
    std::fill(sums, sums + kPositions * plane, T(0));
    for (int64_t blk = first; blk < last; ++blk) {
      const int64_t t0 = blk * rows, n = std::min(rows, tiles - t0);
      FASTDL_DISPATCH(conv_winograd4_input<T>(s, x, t0, n, v));
      FASTDL_DISPATCH(conv_winograd4_output_gradient<T>(s, dy, t0, n, u));
      for (int xi = 0; xi < kPositions; ++xi) {  // V^T @ U
        gemm<T>(C, CO, n, {v + xi * n * C, 1, C}, {u + xi * n * CO, CO, 1}, sums + xi * plane, CO,
                accumulate);
      }
    }
  });
  if (db) {
    const int64_t pixels = s.pixels();
    parallel_chunks(threads, pixels, [&](int t, int64_t first, int64_t last) {
      T* sum = buf.partials + t * partial + kPositions * plane;
      std::fill(sum, sum + CO, T(0));
      for (int64_t p = first; p < last; ++p)
        for (int64_t c = 0; c < CO; ++c) sum[c] += dy[p * CO + c];
    });
  }
  T* total = buf.partials;  // thread 0's, with the others added in
  for (int t = 1; t < threads; ++t) {
    const T* part = buf.partials + t * partial;
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

// Weight (and bias) gradients summed over `blocks` blocks of work on `threads` threads:
// body(first, last, sum_w, sum_b, scratch) adds blocks [first, last) into sum_w and sum_b
// (nullptr when db is), each thread into its own (thread 0 into dw and db themselves) with
// `scratch` elements of its own; the partial sums are then added up.
template <class T, class Body>
void summed_per_thread(const ConvShape& s, int threads, int64_t blocks, int64_t scratch, T* dw,
                       T* db, Body&& body) {
  const int64_t K = s.patch(), CO = s.CO, partial = K * CO + CO;
  const Buffers<T> buf = take_buffers<T>(0, scratch, threads, partial);
  parallel_chunks(threads, blocks, [&](int t, int64_t first, int64_t last) {
    T* sum_w = t == 0 ? dw : buf.partials + t * partial;
    T* sum_b = db == nullptr ? nullptr : t == 0 ? db : buf.partials + t * partial + K * CO;
    std::fill(sum_w, sum_w + K * CO, T(0));
    if (sum_b) std::fill(sum_b, sum_b + CO, T(0));
    body(first, last, sum_w, sum_b, buf.blocks + t * scratch);
  });
  for (int t = 1; t < threads; ++t) {
    const T* part = buf.partials + t * partial;
    for (int64_t i = 0; i < K * CO; ++i) dw[i] += part[i];
    if (db)
      for (int64_t c = 0; c < CO; ++c) db[c] += part[K * CO + c];
  }
}

}  // namespace

template <class T>
void conv2d_forward(const ConvShape& s, const T* x, const T* w, const T* b, Activation act,
                    T* y) {
  GemmEpilogue<T> ep;
  ep.bias = b;
  ep.act = act;
  const int64_t M = s.pixels(), K = s.patch();
  if (s.is_pointwise()) {
    gemm<T>(M, s.CO, K, {x, K, 1}, {w, s.CO, 1}, y, s.CO, ep);
    return;
  }
  if (winograd_applies(s)) {
    conv2d_forward_winograd(s, x, w, b, act, y);
    return;
  }
  if (uses_direct_kernel(s)) {
    const int64_t out_rows = s.N * s.OH, row_size = s.OW * s.CO;
    const int64_t padded = s.KH * direct_kernel_span(s);
    const int threads = threads_for_blocks(out_rows, s.OW * K * s.CO);
    const Buffers<T> buf = take_buffers<T>(direct_packed_weights_size(s), padded, threads, 0);
    FASTDL_DISPATCH(conv_single_channel_pack_weights<T>(s, w, buf.packed_weights));
    parallel_chunks(threads, out_rows, [&](int t, int64_t first, int64_t last) {
      FASTDL_DISPATCH(conv_single_channel_rows<T>(s, x, buf.packed_weights, b, act,
                                                  y + first * row_size, first, last,
                                                  buf.blocks + t * padded));
    });
    return;
  }
  const int64_t rows = block_pixels<T>(s), blocks = ceil_div(M, rows);
  const int threads = threads_for_blocks(blocks, rows * K * s.CO);
  const Buffers<T> buf = take_buffers<T>(gemm_packed_b_size<T>(K, s.CO), rows * K, threads, 0);
  gemm_pack_b<T>(K, s.CO, {w, s.CO, 1}, buf.packed_weights);
  parallel_chunks(threads, blocks, [&](int t, int64_t first, int64_t last) {
    T* patches = buf.blocks + t * rows * K;
    for (int64_t blk = first; blk < last; ++blk) {
      const int64_t p0 = blk * rows, n = std::min(rows, M - p0);
      FASTDL_DISPATCH(conv_gather_patches<T>(s, x, p0, n, patches));
      gemm_with_packed_b<T>(n, s.CO, K, {patches, K, 1}, buf.packed_weights, y + p0 * s.CO, s.CO,
                            ep);
    }
  });
}

template <class T>
void direct_weight_gradient(const ConvShape& s, const T* x, T* dw, T* db, int64_t row_scratch,
                            const RowGradient<T>& row_gradient) {
  const int64_t padded = s.KH * direct_kernel_span(s), out_rows = s.N * s.OH;
  const int threads = threads_for_blocks(out_rows, s.OW * s.patch() * s.CO);
  summed_per_thread<T>(s, threads, out_rows, padded + row_scratch, dw, db,
                       [&](int64_t first, int64_t last, T* sum_w, T* sum_b, T* scratch) {
                         for (int64_t r = first; r < last; ++r) {
                           const T* dy_row = row_gradient(r, scratch + padded);
                           if (!dy_row) continue;
                           FASTDL_DISPATCH(conv_single_channel_weight_grad_row<T>(
                               s, x, r, dy_row, sum_w, sum_b, scratch));
                         }
                       });
}

template <class T>
void conv2d_backward_weight(const ConvShape& s, const T* x, const T* dy, T* dw, T* db,
                            Activation act, const T* out) {
  const int64_t row_size = s.OW * s.CO;
  if (uses_direct_kernel(s)) {
    if (act == Activation::none) {
      direct_weight_gradient<T>(s, x, dw, db, 0, [&](int64_t r, T*) { return dy + r * row_size; });
      return;
    }
    // act' applied to one row at a time, while it is in cache.
    direct_weight_gradient<T>(s, x, dw, db, row_size, [&](int64_t r, T* scratch) {
      FASTDL_DISPATCH(activation_backward_kernel<T>(act, dy + r * row_size, out + r * row_size,
                                                    scratch, row_size, T(0)));
      return static_cast<const T*>(scratch);
    });
    return;
  }
  if (act != Activation::none) {
    // These paths read dy more than once: act' is applied first, in one pass.
    std::vector<T> activated(static_cast<size_t>(s.pixels() * s.CO));
    activation_backward<T>(act, dy, out, activated.data(), s.pixels() * s.CO, T(0));
    conv2d_backward_weight<T>(s, x, activated.data(), dw, db, Activation::none, nullptr);
    return;
  }
  if (winograd_applies(s)) {
    conv2d_backward_weight_winograd(s, x, dy, dw, db);
    return;
  }
  const int64_t M = s.pixels(), K = s.patch(), CO = s.CO;
  // Blocks of gathered patches, or for a 1x1 kernel of pixels, which are their own patches.
  const bool pointwise = s.is_pointwise();
  const int64_t rows = pointwise ? std::max<int64_t>(1, M) : block_pixels<T>(s);
  const int64_t blocks = ceil_div(M, rows);
  const int threads = pointwise ? 1 : threads_for_blocks(blocks, rows * K * CO);
  GemmEpilogue<T> accumulate;
  accumulate.accumulate = true;
  summed_per_thread<T>(s, threads, blocks, pointwise ? 0 : rows * K, dw, db,
                       [&](int64_t first, int64_t last, T* sum_w, T* sum_b, T* patches) {
    for (int64_t blk = first; blk < last; ++blk) {
      const int64_t p0 = blk * rows, n = std::min(rows, M - p0);
      const T* dy_block = dy + p0 * CO;
      const T* a = x + p0 * K;  // pointwise: the pixels are the patches
      if (!pointwise) {
        FASTDL_DISPATCH(conv_gather_patches<T>(s, x, p0, n, patches));
        a = patches;
      }
      gemm<T>(K, CO, n, {a, 1, K}, {dy_block, CO, 1}, sum_w, CO, accumulate);  // a^T @ dy
      if (sum_b) {
        for (int64_t p = 0; p < n; ++p)
          for (int64_t c = 0; c < CO; ++c) sum_b[c] += dy_block[p * CO + c];
      }
    }
  });
}

// With unit strides the input gradient is itself a convolution, of dy by the kernel turned
// by 180 degrees with its channel axes swapped, padded so that every input position sees the
// taps that read it: the forward path, whose patches are gathered (or which is Winograd's),
// instead of scattering patches of gradient into dx.
ConvShape turned_shape(const ConvShape& s) {
  ConvShape t = s;
  t.H = s.OH;
  t.W = s.OW;
  t.C = s.CO;
  t.CO = s.C;
  t.OH = s.H;
  t.OW = s.W;
  t.pad_top = s.dilation_h * (s.KH - 1) - s.pad_top;  // may be negative: then a plain offset
  t.pad_left = s.dilation_w * (s.KW - 1) - s.pad_left;
  return t;
}

template <class T>
void conv2d_backward_input_as_forward(const ConvShape& s, const T* dy, const T* w, T* dx) {
  const int64_t KH = s.KH, KW = s.KW, C = s.C, CO = s.CO;
  std::vector<T> turned(static_cast<size_t>(KH * KW * C * CO));
  for (int64_t kh = 0; kh < KH; ++kh)
    for (int64_t kw = 0; kw < KW; ++kw)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t co = 0; co < CO; ++co)
          turned[((kh * KW + kw) * CO + co) * C + c] =
              w[(((KH - 1 - kh) * KW + (KW - 1 - kw)) * C + c) * CO + co];
  conv2d_forward<T>(turned_shape(s), dy, turned.data(), nullptr, Activation::none, dx);
}

template <class T>
void conv2d_backward_input(const ConvShape& s, const T* dy, const T* w, T* dx) {
  const int64_t K = s.patch(), CO = s.CO;
  if (s.is_pointwise()) {
    gemm<T>(s.pixels(), K, CO, {dy, CO, 1}, {w, 1, CO}, dx, K, GemmEpilogue<T>{});  // dy @ w^T
    return;
  }
  // The forward product is C wide: too narrow for the micro-kernel's 16 columns with few input
  // channels (an image's), where scattering is faster. And unless it is Winograd's, it
  // multiplies over the whole input, the border that the forward's windows cover less often
  // included: on a small image that border is most of the work (measured: gathering wins on
  // 28x28 -> 26x26, loses on 13x13 -> 11x11 but for Winograd, and on 5x5 -> 3x3).
  const bool mostly_inside = s.H * s.W * 4 <= s.OH * s.OW * 5;
  if (s.stride_h == 1 && s.stride_w == 1 && s.C >= 16 &&
      (mostly_inside || winograd_applies(turned_shape(s)))) {
    conv2d_backward_input_as_forward(s, dy, w, dx);
    return;
  }
  const int64_t image_pixels = s.OH * s.OW;
  const int64_t rows = std::min(block_pixels<T>(s), ((image_pixels + 5) / 6) * 6);
  const int threads = threads_for_blocks(s.N, image_pixels * K * CO);
  const Buffers<T> buf = take_buffers<T>(gemm_packed_b_size<T>(CO, K), rows * K, threads, 0);
  gemm_pack_b<T>(CO, K, {w, 1, CO}, buf.packed_weights);  // w^T, CO x K
  // Patches of neighbouring pixels overlap in dx: a thread takes whole images, so that no two
  // threads add into the same element.
  parallel_chunks(threads, s.N, [&](int t, int64_t first_image, int64_t last_image) {
    T* patches = buf.blocks + t * rows * K;
    const int64_t image = s.H * s.W * s.C;
    std::fill(dx + first_image * image, dx + last_image * image, T(0));
    const int64_t end = last_image * image_pixels;
    for (int64_t p0 = first_image * image_pixels; p0 < end; p0 += rows) {
      const int64_t n = std::min(rows, end - p0);
      gemm_with_packed_b<T>(n, K, CO, {dy + p0 * CO, CO, 1}, buf.packed_weights, patches, K,
                            GemmEpilogue<T>{});
      FASTDL_DISPATCH(conv_scatter_patches<T>(s, patches, p0, n, dx));
    }
  });
}

#define FASTDL_INSTANTIATE_CONV(T)                                                            \
  template void conv2d_forward<T>(const ConvShape&, const T*, const T*, const T*, Activation, \
                                  T*);                                                        \
  template void conv2d_backward_weight<T>(const ConvShape&, const T*, const T*, T*, T*,       \
                                          Activation, const T*);                              \
  template void conv2d_backward_input<T>(const ConvShape&, const T*, const T*, T*);          \
  template void direct_weight_gradient<T>(const ConvShape&, const T*, T*, T*, int64_t,        \
                                          const RowGradient<T>&);
FASTDL_INSTANTIATE_CONV(float)
FASTDL_INSTANTIATE_CONV(double)
#undef FASTDL_INSTANTIATE_CONV

}  // namespace fastdl
