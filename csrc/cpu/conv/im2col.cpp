// The im2col convolution: blocks of output pixels, their patches gathered into a per-thread
// buffer (im2col_kernels.cpp) and multiplied by the weights with the GEMM micro-kernels. The
// weights are packed once per call and shared by every block and thread.
//
//   forward          y[block]  = act(patches(x)[block] @ w + b)
//   weight gradient  dw       += patches(x)[block]^T @ dy[block]   (a partial sum per thread)
//   input gradient   dx       += scatter(dy[block] @ w^T)          (whole images per piece of work)
//
// A 1x1 kernel with unit stride and no padding needs no patches: x itself is the left operand.
#include "conv/im2col.h"

#include <algorithm>

#include "conv/blocking.h"
#include "conv/kernels.h"
#include "fastdl/gemm.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"

namespace fastdl {
namespace {

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

// Pixels per block of the weight gradient, the depth of each block's product: a product only
// a few dozen pixels deep loads and stores all of its thread's K x CO partial gradient for
// little arithmetic. Blocks are kMinDepth pixels deep at least (48 -> 512 took a 64-channel
// 4x4 stride-2 gradient from 10.8 to 9.4 ms, a 64 -> 1 channel 5x5 one from 11.4 to 5.5 ms on
// Zen 4), deeper while their patches stay within about 2 MiB, and no deeper than a thread's
// share of the pixels.
template <class T>
int64_t weight_gradient_block_pixels(const ConvShape& s) {
  constexpr int64_t kMinDepth = 512, kBlockBytes = 2 << 20;
  const int64_t fits = kBlockBytes / (std::max<int64_t>(1, s.patch()) * int64_t(sizeof(T)));
  const int64_t shares = ceil_div(s.pixels(), int64_t(get_num_threads()));
  return std::max<int64_t>(1, std::min(std::max(fits, kMinDepth), shares));
}

}  // namespace

template <class T>
void conv2d_forward_im2col(const ConvShape& s, const T* x, const T* w, const T* b,
                           Activation act, T* y) {
  GemmEpilogue<T> ep;
  ep.bias = b;
  ep.act = act;
  const int64_t M = s.pixels(), K = s.patch();
  if (s.is_pointwise()) {
    gemm<T>(M, s.CO, K, {x, K, 1}, {w, s.CO, 1}, y, s.CO, ep);
    return;
  }
  const int64_t rows = block_pixels<T>(s), blocks = ceil_div(M, rows);
  const int threads = threads_for_blocks(blocks, rows * K * s.CO);
  const Buffers<T> buf = take_buffers<T>(gemm_packed_b_size<T>(K, s.CO), rows * K, threads, 0);
  gemm_pack_b<T>(K, s.CO, {w, s.CO, 1}, buf.packed_weights);
  parallel_items(threads, blocks, [](int) {}, [&](int t, int64_t blk) {
    T* patches = buf.block(t);
    const int64_t p0 = blk * rows, n = std::min(rows, M - p0);
    FASTDL_DISPATCH(conv_gather_patches<T>(s, x, p0, n, patches));
    gemm_with_packed_b<T>(n, s.CO, K, {patches, K, 1}, buf.packed_weights, y + p0 * s.CO, s.CO,
                          ep);
  });
}

template <class T>
void conv2d_backward_weight_im2col(const ConvShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t M = s.pixels(), K = s.patch(), CO = s.CO;
  // Blocks of gathered patches, or for a 1x1 kernel of pixels, which are their own patches.
  const bool pointwise = s.is_pointwise();
  const int64_t rows = pointwise ? std::max<int64_t>(1, M) : weight_gradient_block_pixels<T>(s);
  const int64_t blocks = ceil_div(M, rows);
  const int threads = pointwise ? 1 : threads_for_blocks(blocks, rows * K * CO);
  GemmEpilogue<T> accumulate;
  accumulate.accumulate = true;
  summed_per_thread<T>(s, threads, blocks, pointwise ? 0 : rows * K, dw, db,
                       [&](int64_t blk, T* sum_w, T* sum_b, T* patches) {
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
  });
}

template <class T>
void conv2d_backward_input_im2col(const ConvShape& s, const T* dy, const T* w, T* dx,
                                  const T* b, Activation act) {
  const int64_t K = s.patch(), CO = s.CO;
  if (s.is_pointwise()) {
    GemmEpilogue<T> ep;
    ep.bias = b;
    ep.act = act;
    gemm<T>(s.pixels(), K, CO, {dy, CO, 1}, {w, 1, CO}, dx, K, ep);  // act(dy @ w^T + b)
    return;
  }
  const int64_t image_pixels = s.OH * s.OW;
  // Blocks run on across images (a piece of work is whole images, not each block): blocks of
  // one small image (9 pixels of 5x5 -> 3x3) would leave the micro-kernel's row tiles half
  // empty and pay a product's overhead per image.
  const int64_t rows = block_pixels<T>(s);
  const int threads = threads_for_blocks(s.N, image_pixels * K * CO);
  const Buffers<T> buf = take_buffers<T>(gemm_packed_b_size<T>(CO, K), rows * K, threads, 0);
  gemm_pack_b<T>(CO, K, {w, 1, CO}, buf.packed_weights);  // w^T, CO x K
  // Patches of neighbouring pixels overlap in dx: a thread takes whole images at a time, so
  // that no two threads add into the same element.
  parallel_pieces(threads, s.N, [&](int t, int64_t first_image, int64_t last_image) {
    T* patches = buf.block(t);
    const int64_t image = s.H * s.W * s.C;
    std::fill(dx + first_image * image, dx + last_image * image, T(0));
    // The bias and activation go over each image once its last patch is in, while it is in
    // cache (an output pixel's patch lies in its own image).
    int64_t finished = first_image;
    auto finish_images = [&](int64_t until) {
      apply_epilogue_rows<T>((until - finished) * s.H * s.W, s.C, dx + finished * image, s.C,
                             b, act);
      finished = until;
    };
    const int64_t end = last_image * image_pixels;
    for (int64_t p0 = first_image * image_pixels; p0 < end; p0 += rows) {
      const int64_t n = std::min(rows, end - p0);
      gemm_with_packed_b<T>(n, K, CO, {dy + p0 * CO, CO, 1}, buf.packed_weights, patches, K,
                            GemmEpilogue<T>{});
      FASTDL_DISPATCH(conv_scatter_patches<T>(s, patches, p0, n, dx));
      finish_images((p0 + n) / image_pixels);
    }
    finish_images(last_image);
  });
}

#define FASTDL_INSTANTIATE_IM2COL(T)                                                          \
  template void conv2d_forward_im2col<T>(const ConvShape&, const T*, const T*, const T*,      \
                                         Activation, T*);                                     \
  template void conv2d_backward_weight_im2col<T>(const ConvShape&, const T*, const T*, T*,    \
                                                 T*);                                         \
  template void conv2d_backward_input_im2col<T>(const ConvShape&, const T*, const T*, T*,     \
                                                const T*, Activation);
FASTDL_INSTANTIATE_IM2COL(float)
FASTDL_INSTANTIATE_IM2COL(double)
#undef FASTDL_INSTANTIATE_IM2COL

}  // namespace fastdl
