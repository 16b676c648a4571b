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
// written, once, without atomics. With strides above 1 most taps of a row are zeros, which the
// product still multiplies.
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

  __device__ OutputGradRows(const ConvDims& d, const float* __restrict__ dy, int m0)
      : d_(d), dy_(dy), kq_(threadIdx.x % 4), taps_(d.KH * d.KW * d.CO) {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) {
      const int m = m0 + row(j);
      image_[j] = -1;
      if (m < d.in_pixels) {
        const int plane = d.H * d.W, n = m / plane, r = m - n * plane;
        const int ih = r / d.W, iw = r - ih * d.W;
        hp_[j] = ih + d.pad_top;
        wp_[j] = iw + d.pad_left;
        image_[j] = int64_t(n) * d.OH * d.OW * d.CO;
      }
    }
  }

  __device__ void load(int slab) {
    const int k = slab * kBK + 4 * kq_;
    Tap t = tap_of(k, d_.CO, d_.KW);
    if constexpr (kVec) {
#pragma unroll
      for (int j = 0; j < kQuads; ++j) {
        const int64_t at = offset(j, t, k);
        v_[j] = at >= 0 ? *reinterpret_cast<const float4*>(dy_ + at) : float4{0, 0, 0, 0};
      }
    } else {
      float q[kQuads][4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
#pragma unroll
        for (int j = 0; j < kQuads; ++j) {
          const int64_t at = offset(j, t, k + e);
          q[j][e] = at >= 0 ? dy_[at] : 0.0f;
        }
        advance(t, d_.CO, d_.KW);
      }
#pragma unroll
      for (int j = 0; j < kQuads; ++j) v_[j] = {q[j][0], q[j][1], q[j][2], q[j][3]};
    }
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
  const int kq_, taps_;
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

  __device__ WeightColumns(const ConvDims& d, const float* __restrict__ w, int n0)
      : d_(d), w_(w), n0_(n0), kq_(threadIdx.x % 4), taps_(d.KH * d.KW * d.CO) {}

  __device__ void load(int slab) {
    const int k = slab * kBK + 4 * kq_;
    Tap t = tap_of(k, d_.CO, d_.KW);
    if constexpr (kVec) {
#pragma unroll
      for (int j = 0; j < kQuads; ++j) {
        const int64_t at = offset(j, t, k);
        v_[j] = at >= 0 ? *reinterpret_cast<const float4*>(w_ + at) : float4{0, 0, 0, 0};
      }
    } else {
      float q[kQuads][4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
#pragma unroll
        for (int j = 0; j < kQuads; ++j) {
          const int64_t at = offset(j, t, k + e);
          q[j][e] = at >= 0 ? w_[at] : 0.0f;
        }
        advance(t, d_.CO, d_.KW);
      }
#pragma unroll
      for (int j = 0; j < kQuads; ++j) v_[j] = {q[j][0], q[j][1], q[j][2], q[j][3]};
    }
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
  const int n0_, kq_, taps_;
  float4 v_[kQuads];
};

template <class T, bool kVec>
__global__ void __launch_bounds__(T::kThreads)
    backward_input_gemm(const __grid_constant__ ConvDims d, const float* __restrict__ dy,
                        const float* __restrict__ w, float* __restrict__ dx) {
  __shared__ Slabs<T> s;
  const int m0 = blockIdx.x * T::BM, n0 = blockIdx.y * T::BN;
  OutputGradRows<T, kVec> taps(d, dy, m0);
  WeightColumns<T, kVec> weights(d, w, n0);
  float acc[4][4] = {};
  multiply<T>(taps, weights, static_cast<int>(ceil_div(d.KH * d.KW * d.CO, kBK)), s, acc);

  const Cell c = cell<T>();
  const int col = n0 + 4 * c.col;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + 4 * c.row + i;
    if (m >= d.in_pixels) break;
    float* out = dx + int64_t(m) * d.C + col;
    if constexpr (kVec) {
      if (col < d.C) *reinterpret_cast<float4*>(out) = {acc[i][0], acc[i][1], acc[i][2], acc[i][3]};
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (col + j < d.C) out[j] = acc[i][j];
      }
    }
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
  with_tile(d.in_pixels, d.C, [&](auto tile) {
    using T = decltype(tile);
    const dim3 grid(unsigned(ceil_div(d.in_pixels, T::BM)), unsigned(ceil_div(d.C, T::BN)));
    with_vector_path(vector_path(d, {dy, w, dx}), [&](auto vec) {
      backward_input_gemm<T, decltype(vec)::value><<<grid, T::kThreads, 0, stream>>>(d, dy, w, dx);
    });
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace fastdl::cuda
