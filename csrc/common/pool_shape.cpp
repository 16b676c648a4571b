// The output size and padding of a 2-D pooling: plain arithmetic, in a file of its own so that the
// CUDA extension shares it with the CPU kernels.
#include <algorithm>

#include "fastdl/pool.h"

namespace fastdl {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

Pool2dShape pool2d_shape(int64_t batch, int64_t height, int64_t width, int64_t channels,
                         int64_t pool_h, int64_t pool_w, int64_t stride_h, int64_t stride_w,
                         bool same) {
  Pool2dShape s;
  s.batch = batch;
  s.height = height;
  s.width = width;
  s.channels = channels;
  s.pool_h = pool_h;
  s.pool_w = pool_w;
  s.stride_h = stride_h;
  s.stride_w = stride_w;
  if (same) {
    s.out_height = ceil_div(height, stride_h);
    s.out_width = ceil_div(width, stride_w);
    s.pad_top = std::max<int64_t>((s.out_height - 1) * stride_h + pool_h - height, 0) / 2;
    s.pad_left = std::max<int64_t>((s.out_width - 1) * stride_w + pool_w - width, 0) / 2;
  } else {
    s.out_height = height >= pool_h ? (height - pool_h) / stride_h + 1 : 0;
    s.out_width = width >= pool_w ? (width - pool_w) / stride_w + 1 : 0;
  }
  return s;
}

}  // namespace fastdl
