// The convolution's forward, y = act(conv(x, w) + b), as an implicit GEMM:
//
//   y (pixels x CO) = patches(x) (pixels x KH*KW*C) @ w (KH*KW*C x CO, HWIO as it is)
//
// the patches gathered slab by slab from x by the loader (zero outside the image), the bias and
// the activation applied as the product leaves the registers. Small patches take the direct
// kernel (conv_direct.cuh).
#include "conv.h"
#include "activation_math.cuh"
#include "conv_direct.cuh"
#include "conv_tiles.cuh"

namespace fastdl::cuda {
namespace conv {
namespace {

// The left operand: row m is output pixel m, column k the patch position (kh, kw, c). Each
// thread fetches, per slab, quads of 4 consecutive k of kQuads rows: one float4 when C is a
// multiple of 4 (a quad then lies within one input pixel), else 4 scalars.
template <class T, bool kVec>
class PatchRows {
 public:
  static constexpr int kQuads = quads_per_thread<T, T::BM>();

  __device__ PatchRows(const ConvDims& d, const float* __restrict__ x, int m0)
      : d_(d), x_(x), kq_(threadIdx.x % 4) {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) {
      const int m = m0 + row(j);
      window_[j] = m < d.out_pixels ? window_of(d, m) : Window{0, 0, -1};
    }
  }

  __device__ void load(int slab) {
    const int k = slab * kBK + 4 * kq_;
    fetch_along_k<kVec>(x_, k, tap_of(k, d_.C, d_.KW), d_.C, d_.KW,
                        [&](int j, const Tap& t, int kk) { return offset(j, t, kk); }, v_);
  }

  __device__ void store(float (&slab)[kBK][T::kLdA]) const {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) put_along_k(slab, 4 * kq_, row(j), v_[j]);
  }

 private:
  __device__ static int row(int j) { return (threadIdx.x + j * T::kThreads) / 4; }

  // The offset in x of patch position k (at tap t) of row j; -1 for a zero (padding, or past
  // the patch or the last pixel).
  __device__ int64_t offset(int j, const Tap& t, int k) const {
    const Window& win = window_[j];
    const int ih = win.h0 + t.kh * d_.dilation_h, iw = win.w0 + t.kw * d_.dilation_w;
    if (k >= d_.K || win.image < 0 || unsigned(ih) >= unsigned(d_.H) ||
        unsigned(iw) >= unsigned(d_.W)) {
      return -1;
    }
    return win.image + (int64_t(ih) * d_.W + iw) * d_.C + t.i;
  }

  const ConvDims& d_;
  const float* __restrict__ x_;
  const int kq_;  // which quad of a slab's 16 positions
  Window window_[kQuads];  // image -1 past the last pixel
  float4 v_[kQuads];
};

// The right operand: w as a (KH*KW*C) x CO matrix, quads along its rows.
template <class T, bool kVec>
class WeightRows {
 public:
  static constexpr int kQuads = quads_per_thread<T, T::BN>();

  __device__ WeightRows(const float* __restrict__ w, int rows, int cols, int n0)
      : w_(w),
        rows_(rows),
        cols_(cols),
        tcol_(4 * (threadIdx.x % (T::BN / 4))),
        col_(n0 + tcol_),
        k0_(threadIdx.x / (T::BN / 4)) {}

  __device__ void load(int slab) {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) {
      const int k = slab * kBK + krow(j);
      const float* p = w_ + int64_t(k) * cols_ + col_;
      if constexpr (kVec) {
        // cols % 4 == 0: the quad is whole or past the last column.
        v_[j] = k < rows_ && col_ < cols_ ? *reinterpret_cast<const float4*>(p)
                                          : float4{0, 0, 0, 0};
      } else {
        float q[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) q[e] = k < rows_ && col_ + e < cols_ ? p[e] : 0.0f;
        v_[j] = {q[0], q[1], q[2], q[3]};
      }
    }
  }

  __device__ void store(float (&slab)[kBK][T::kLdB]) const {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) put_along_cols(slab, krow(j), tcol_, v_[j]);
  }

 private:
  __device__ int krow(int j) const { return k0_ + j * (T::kThreads / (T::BN / 4)); }

  const float* __restrict__ w_;
  const int rows_, cols_, tcol_, col_, k0_;
  float4 v_[kQuads];
};

template <class T, bool kVec>
__global__ void __launch_bounds__(T::kThreads)
    forward_gemm(const __grid_constant__ ConvDims d, const float* __restrict__ x,
                 const float* __restrict__ w, const float* __restrict__ b, Activation act,
                 float* __restrict__ y) {
  __shared__ Slabs<T> s;
  const int m0 = blockIdx.x * T::BM, n0 = blockIdx.y * T::BN;
  PatchRows<T, kVec> patches(d, x, m0);
  WeightRows<T, kVec> weights(w, d.K, d.CO, n0);
  float acc[4][4] = {};
  multiply<T>(patches, weights, static_cast<int>(ceil_div(d.K, kBK)), s, acc);

  const Cell c = cell<T>();
  const int col = n0 + 4 * c.col;
  float bias[4];
#pragma unroll
  for (int j = 0; j < 4; ++j) bias[j] = b != nullptr && col + j < d.CO ? b[col + j] : 0.0f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + 4 * c.row + i;
    if (m >= d.out_pixels) break;
    float v[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) v[j] = activate(act, acc[i][j] + bias[j], 0.0f);
    float* out = y + int64_t(m) * d.CO + col;
    if constexpr (kVec) {
      if (col < d.CO) *reinterpret_cast<float4*>(out) = {v[0], v[1], v[2], v[3]};
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (col + j < d.CO) out[j] = v[j];
      }
    }
  }
}

template <int KP>
__global__ void __launch_bounds__(kDirectThreads)
    forward_direct(const __grid_constant__ ConvDims d, const float* __restrict__ x,
                   const float* __restrict__ w, const float* __restrict__ b, Activation act,
                   float* __restrict__ y, int ct) {
  __shared__ PatchStage<KP> s;
  const DirectLane me = direct_lane(d, ct);
  float wk[KP];
#pragma unroll
  for (int k = 0; k < KP; ++k) wk[k] = me.active && k < d.K ? w[int64_t(k) * d.CO + me.co] : 0.0f;
  const float bias = me.active && b != nullptr ? b[me.co] : 0.0f;
  stage_taps(d, s);
  for (int64_t p0 = int64_t(blockIdx.x) * kDirectPixels; p0 < d.out_pixels;
       p0 += int64_t(gridDim.x) * kDirectPixels) {
    stage_patches(d, x, p0, s);
    if (!me.active) continue;
    for (int p = me.lane; p < kDirectPixels && p < d.out_pixels - p0; p += me.lanes) {
      float acc = 0.0f;
#pragma unroll
      for (int k = 0; k < KP; k += 4) {
        const float4 v = *reinterpret_cast<const float4*>(&s.patch[p][k]);
        acc = fmaf(v.x, wk[k], acc);
        acc = fmaf(v.y, wk[k + 1], acc);
        acc = fmaf(v.z, wk[k + 2], acc);
        acc = fmaf(v.w, wk[k + 3], acc);
      }
      y[(p0 + p) * d.CO + me.co] = activate(act, acc + bias, 0.0f);
    }
  }
}

}  // namespace
}  // namespace conv

void conv2d_forward(const ConvShape& shape, const float* x, const float* w, const float* b,
                    Activation act, float* y, cudaStream_t stream) {
  using namespace conv;
  const ConvDims d = dims_of(shape);
  if (d.out_pixels == 0 || d.CO == 0) return;
  if (direct_applies(d)) {
    const int ct = direct_channels(d);
    const int64_t chunks = ceil_div(d.out_pixels, kDirectPixels), tiles = ceil_div(d.CO, ct);
    const dim3 grid(direct_blocks(chunks, tiles, 8), unsigned(tiles));
    with_padded_patch(d.K, [&](auto kp) {
      forward_direct<decltype(kp)::value><<<grid, kDirectThreads, 0, stream>>>(d, x, w, b, act,
                                                                                y, ct);
    });
  } else {
    with_tile(d.out_pixels, d.CO, [&](auto tile) {
      using T = decltype(tile);
      const dim3 grid(unsigned(ceil_div(d.out_pixels, T::BM)), unsigned(ceil_div(d.CO, T::BN)));
      with_vector_path(vector_path(d, {x, w, y}), [&](auto vec) {
        forward_gemm<T, decltype(vec)::value><<<grid, T::kThreads, 0, stream>>>(d, x, w, b, act,
                                                                                y);
      });
    });
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace fastdl::cuda
