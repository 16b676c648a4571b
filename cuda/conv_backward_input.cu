// The convolution's input gradient as an implicit GEMM over the input pixels:
//
//   dx (N*H*W x C) = taps(dy) (N*H*W x KH*KW*CO) @ w^T (KH*KW*CO x C)
//
// where row (n, ih, iw) of taps(dy) holds, for each kernel position (kh, kw), the output pixel
// whose window puts that kernel position on (ih, iw):
//
//   oh = (ih + pad_top - kh * dilation_h) / stride_h   (when exact and in range; else zeros)
//
// and likewise ow. Every input pixel is a row of the product, so every element of dx is
// written: stored, or, when a short product splits its reduction across blocks (grid.z) to
// occupy the GPU, added with atomics into a zeroed dx. With strides above 1 most taps of a row
// are zeros, which the product still multiplies. Fewer than 4 input channels (an image's first
// layer, when its gradient is wanted) would leave most columns of a tile idle: a direct kernel
// takes them.
#include "conv.h"
#include "conv_tiles.cuh"

namespace fastdl::cuda {
namespace conv {
namespace {

// The output index o with o * stride == num, or -1 when there is none.
__device__ inline int exact_quotient(int num, int stride) {
  if (num < 0) return -1;
  if (stride == 1) return num;
  const int q = num / stride;
  return q * stride == num ? q : -1;
}

// The left operand: row m is input pixel m, column k the position (kh, kw, co). Quads of 4
// consecutive k per thread and slab, one float4 when CO is a multiple of 4.
template <class T, bool kVec>
class OutputGradRows {
 public:
  static constexpr int kQuads = quads_per_thread<T, T::BM>();

  __device__ OutputGradRows(const ConvDims& d, const float* __restrict__ dy, int m0, int first)
      : d_(d), dy_(dy), first_(first), kq_(threadIdx.x % 4), taps_(d.KH * d.KW * d.CO) {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) {
      const int m = m0 + row(j);
      image_[j] = -1;
      if (m < d.in_pixels) {
        const InputPixel p = input_pixel(d, m);
        hp_[j] = p.h + d.pad_top;
        wp_[j] = p.w + d.pad_left;
        image_[j] = int64_t(p.n) * d.OH * d.OW * d.CO;
      }
    }
  }

  __device__ void load(int slab) {
    const int k = (first_ + slab) * kBK + 4 * kq_;
    fetch_along_k<kVec>(dy_, k, tap_of(k, d_.CO, d_.KW), d_.CO, d_.KW,
                        [&](int j, const Tap& t, int kk) { return offset(j, t, kk); }, v_);
  }

  __device__ void store(float (&slab)[kBK][T::kLdA]) const {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) put_along_k(slab, 4 * kq_, row(j), v_[j]);
  }

 private:
  __device__ static int row(int j) { return (threadIdx.x + j * T::kThreads) / 4; }

  // The offset in dy of position k (at tap t) of row j; -1 for a zero.
  __device__ int64_t offset(int j, const Tap& t, int k) const {
    if (k >= taps_ || image_[j] < 0) return -1;
    const int oh = exact_quotient(hp_[j] - t.kh * d_.dilation_h, d_.stride_h);
    const int ow = exact_quotient(wp_[j] - t.kw * d_.dilation_w, d_.stride_w);
    if (unsigned(oh) >= unsigned(d_.OH) || unsigned(ow) >= unsigned(d_.OW)) return -1;
    return image_[j] + (int64_t(oh) * d_.OW + ow) * d_.CO + t.i;
  }

  const ConvDims& d_;
  const float* __restrict__ dy_;
  const int first_, kq_, taps_;
  int hp_[kQuads], wp_[kQuads];  // the pixel's position in the padded input
  int64_t image_[kQuads];
  float4 v_[kQuads];
};

// The right operand: w^T, row k = (kh, kw, co) and column c holding w[kh, kw, c, co]. Quads of
// 4 consecutive k (consecutive co, contiguous in w) per column.
template <class T, bool kVec>
class WeightColumns {
 public:
  static constexpr int kQuads = quads_per_thread<T, T::BN>();

  __device__ WeightColumns(const ConvDims& d, const float* __restrict__ w, int n0, int first)
      : d_(d), w_(w), n0_(n0), first_(first), kq_(threadIdx.x % 4), taps_(d.KH * d.KW * d.CO) {}

  __device__ void load(int slab) {
    const int k = (first_ + slab) * kBK + 4 * kq_;
    fetch_along_k<kVec>(w_, k, tap_of(k, d_.CO, d_.KW), d_.CO, d_.KW,
                        [&](int j, const Tap& t, int kk) { return offset(j, t, kk); }, v_);
  }

  __device__ void store(float (&slab)[kBK][T::kLdB]) const {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) put_along_k(slab, 4 * kq_, col(j), v_[j]);
  }

 private:
  __device__ static int col(int j) { return (threadIdx.x + j * T::kThreads) / 4; }

  __device__ int64_t offset(int j, const Tap& t, int k) const {
    const int c = n0_ + col(j);
    if (k >= taps_ || c >= d_.C) return -1;
    return ((int64_t(t.kh) * d_.KW + t.kw) * d_.C + c) * d_.CO + t.i;
  }

  const ConvDims& d_;
  const float* __restrict__ w_;
  const int n0_, first_, kq_, taps_;
  float4 v_[kQuads];
};

// Block (x, y, z) multiplies rows m0.. by columns n0.. over its split of the reduction: the
// slabs [z * slabs_per_split, ...).
template <class T, bool kVec>
__global__ void __launch_bounds__(T::kThreads)
    backward_input_gemm(const __grid_constant__ ConvDims d, const float* __restrict__ dy,
                        const float* __restrict__ w, float* __restrict__ dx,
                        int slabs_per_split) {
  __shared__ Slabs<T> s;
  const int m0 = blockIdx.x * T::BM, n0 = blockIdx.y * T::BN;
  const int first = blockIdx.z * slabs_per_split;
  const int slabs = min(slabs_per_split, int(ceil_div(d.KH * d.KW * d.CO, kBK)) - first);
  OutputGradRows<T, kVec> taps(d, dy, m0, first);
  WeightColumns<T, kVec> weights(d, w, n0, first);
  float acc[4][4] = {};
  multiply<T>(taps, weights, slabs, s, acc);
  add_tile<T>(acc, s, dx, d.in_pixels, d.C, m0, n0, gridDim.z == 1);
}

constexpr int kDirectThreads = 256;

// One input pixel's kC (< 4) channels per thread: the sum, over the taps (kh, kw) that reach it
// from an output pixel, of that pixel's dy row times w[kh, kw, c, :] (both contiguous along the
// output channels; float4s when CO % 4 == 0). Threads of a warp read neighbouring dy rows, and
// the same weights.
template <int kC, bool kVec>
__global__ void __launch_bounds__(kDirectThreads)
    backward_input_direct(const __grid_constant__ ConvDims d, const float* __restrict__ dy,
                          const float* __restrict__ w, float* __restrict__ dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < d.in_pixels;
       i += int64_t(gridDim.x) * blockDim.x) {
    const InputPixel p = input_pixel(d, int(i));
    float acc[kC] = {};
    for (int kh = 0; kh < d.KH; ++kh) {
      const int oh = exact_quotient(p.h + d.pad_top - kh * d.dilation_h, d.stride_h);
      if (unsigned(oh) >= unsigned(d.OH)) continue;
      for (int kw = 0; kw < d.KW; ++kw) {
        const int ow = exact_quotient(p.w + d.pad_left - kw * d.dilation_w, d.stride_w);
        if (unsigned(ow) >= unsigned(d.OW)) continue;
        const float* g = dy + (int64_t(p.n * d.OH + oh) * d.OW + ow) * d.CO;
        const float* f = w + int64_t((kh * d.KW + kw) * kC) * d.CO;
        if constexpr (kVec) {
          for (int co = 0; co < d.CO; co += 4) {
            const float4 a = *reinterpret_cast<const float4*>(g + co);
#pragma unroll
            for (int c = 0; c < kC; ++c) {
              const float4 b = *reinterpret_cast<const float4*>(f + c * d.CO + co);
              acc[c] = fmaf(a.x, b.x, fmaf(a.y, b.y, fmaf(a.z, b.z, fmaf(a.w, b.w, acc[c]))));
            }
          }
        } else {
          for (int co = 0; co < d.CO; ++co) {
#pragma unroll
            for (int c = 0; c < kC; ++c) acc[c] = fmaf(g[co], f[c * d.CO + co], acc[c]);
          }
        }
      }
    }
#pragma unroll
    for (int c = 0; c < kC; ++c) dx[i * kC + c] = acc[c];
  }
}

}  // namespace
}  // namespace conv

void conv2d_backward_input(const ConvShape& shape, const float* dy, const float* w, float* dx,
                           cudaStream_t stream) {
  using namespace conv;
  const ConvDims d = dims_of(shape);
  if (d.in_pixels == 0 || d.C == 0) return;
  if (d.CO == 0) {  // no output channel: nothing flows back
    CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(float) * size_t(d.in_pixels) * d.C, stream));
    return;
  }
  if (d.C < 4) {
    const bool vec = d.CO % 4 == 0 && aligned16(dy) && aligned16(w);
    const unsigned blocks = grid_for(d.in_pixels, kDirectThreads);
    const auto launch = [&](auto channels) {
      with_vector_path(vec, [&](auto v) {
        backward_input_direct<decltype(channels)::value, decltype(v)::value>
            <<<blocks, kDirectThreads, 0, stream>>>(d, dy, w, dx);
      });
    };
    switch (d.C) {
      case 1: launch(std::integral_constant<int, 1>{}); break;
      case 2: launch(std::integral_constant<int, 2>{}); break;
      default: launch(std::integral_constant<int, 3>{});
    }
  } else {
    with_tile(d.in_pixels, d.C, [&](auto tile) {
      using T = decltype(tile);
      const int64_t rows = ceil_div(d.in_pixels, T::BM), cols = ceil_div(d.C, T::BN);
      const int64_t slabs = ceil_div(int64_t(d.KH) * d.KW * d.CO, kBK);
      const int64_t per_split = slabs_per_split<T>(rows * cols, slabs);
      const dim3 grid(unsigned(rows), unsigned(cols), unsigned(ceil_div(slabs, per_split)));
      if (grid.z > 1) {
        CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(float) * size_t(d.in_pixels) * d.C, stream));
      }
      with_vector_path(vector_path(d, {dy, w}), [&](auto vec) {
        backward_input_gemm<T, decltype(vec)::value><<<grid, T::kThreads, 0, stream>>>(
            d, dy, w, dx, int(per_split));
      });
    });
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace fastdl::cuda
