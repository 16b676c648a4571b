// The convolution's weight and bias gradients:
//
//   dw (KH*KW*C x CO) = patches(x)^T (KH*KW*C x pixels) @ dy' (pixels x CO)
//   db (CO)           = the column sums of dy'
//
// with dy' = act'(dy) when the forward had an activation, applied as dy is read (`out` holds
// the forward's output, from which relu, sigmoid and tanh differentiate). The reduction runs
// over every output pixel, so it is split across blocks (grid.z), each adding its partial
// products into dw with atomics; a block of the first row of tiles also sums the dy' it read
// into db. Small patches take the direct kernel (conv_direct.cuh).
#include "conv.h"
#include "activation_math.cuh"
#include "conv_direct.cuh"
#include "conv_tiles.cuh"

namespace fastdl::cuda {
namespace conv {
namespace {

// The left operand, patches^T: reduction row p is output pixel begin + p, column m the patch
// position (kh, kw, c). A thread fetches the quad of columns [m, m + 4) in kQuads rows per slab:
// its columns are fixed, so their taps are decoded once; one float4 when C % 4 == 0.
template <class T, bool kVec>
class PatchColumns {
 public:
  static constexpr int kQuads = quads_per_thread<T, T::BM>();

  __device__ PatchColumns(const ConvDims& d, const float* __restrict__ x, int m0, int begin,
                          int count)
      : d_(d), x_(x), begin_(begin), count_(count), tcol_(4 * (threadIdx.x % (T::BM / 4))),
        p0_(threadIdx.x / (T::BM / 4)) {
    const int m = m0 + tcol_;
    Tap t = tap_of(m, d.C, d.KW);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      tap_h_[e] = t.kh * d.dilation_h;
      tap_w_[e] = t.kw * d.dilation_w;
      tap_c_[e] = m + e < d.K ? t.i : -1;
      advance(t, d.C, d.KW);
    }
  }

  __device__ void load(int slab) {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) {
      const int p = slab * kBK + prow(j);
      float q[4] = {0, 0, 0, 0};
      if (p < count_) {
        const Window win = window_of(d_, begin_ + p);
        const float* image = x_ + win.image;
        // C % 4 == 0 on the vector path: the quad shares its tap and lies in the patch together.
        constexpr int kTaps = kVec ? 1 : 4;
#pragma unroll
        for (int e = 0; e < kTaps; ++e) {
          const int ih = win.h0 + tap_h_[e], iw = win.w0 + tap_w_[e];
          if (tap_c_[e] < 0 || unsigned(ih) >= unsigned(d_.H) || unsigned(iw) >= unsigned(d_.W)) {
            continue;
          }
          const float* at = image + (int64_t(ih) * d_.W + iw) * d_.C + tap_c_[e];
          if constexpr (kVec) {
            const float4 v = *reinterpret_cast<const float4*>(at);
            q[0] = v.x, q[1] = v.y, q[2] = v.z, q[3] = v.w;
          } else {
            q[e] = *at;
          }
        }
      }
      v_[j] = {q[0], q[1], q[2], q[3]};
    }
  }

  __device__ void store(float (&slab)[kBK][T::kLdA]) const {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) put_along_cols(slab, prow(j), tcol_, v_[j]);
  }

 private:
  __device__ int prow(int j) const { return p0_ + j * (T::kThreads / (T::BM / 4)); }

  const ConvDims& d_;
  const float* __restrict__ x_;
  const int begin_, count_, tcol_, p0_;
  int tap_h_[4], tap_w_[4], tap_c_[4];  // of columns m..m+3; c -1 past the patch
  float4 v_[kQuads];
};

// The right operand, dy': reduction row p is output pixel begin + p, column n the output
// channel; act' applied on the way in. Each thread also sums the values it fetched in each of
// its 4 columns, for db.
template <class T, bool kVec>
class OutputGradColumns {
 public:
  static constexpr int kQuads = quads_per_thread<T, T::BN>();

  __device__ OutputGradColumns(const ConvDims& d, const float* __restrict__ dy,
                               const float* __restrict__ out, Activation act, int n0, int begin,
                               int count)
      : dy_(dy), out_(out), act_(act), cols_(d.CO), begin_(begin), count_(count),
        tcol_(4 * (threadIdx.x % (T::BN / 4))), col_(n0 + tcol_), p0_(threadIdx.x / (T::BN / 4)) {}

  __device__ void load(int slab) {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) {
      const int p = slab * kBK + prow(j);
      float q[4] = {0, 0, 0, 0};
      if (p < count_) {
        const int64_t at = int64_t(begin_ + p) * cols_ + col_;
        if constexpr (kVec) {
          if (col_ < cols_) {
            const float4 g = *reinterpret_cast<const float4*>(dy_ + at);
            q[0] = g.x, q[1] = g.y, q[2] = g.z, q[3] = g.w;
            if (act_ != Activation::none) {
              const float4 o = *reinterpret_cast<const float4*>(out_ + at);
              q[0] = activate_grad(act_, q[0], o.x, 0.0f);
              q[1] = activate_grad(act_, q[1], o.y, 0.0f);
              q[2] = activate_grad(act_, q[2], o.z, 0.0f);
              q[3] = activate_grad(act_, q[3], o.w, 0.0f);
            }
          }
        } else {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            if (col_ + e >= cols_) continue;
            q[e] = dy_[at + e];
            if (act_ != Activation::none) q[e] = activate_grad(act_, q[e], out_[at + e], 0.0f);
          }
        }
      }
#pragma unroll
      for (int e = 0; e < 4; ++e) sums_[e] += q[e];
      v_[j] = {q[0], q[1], q[2], q[3]};
    }
  }

  __device__ void store(float (&slab)[kBK][T::kLdB]) const {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) put_along_cols(slab, prow(j), tcol_, v_[j]);
  }

  // The column (within the block's tile) of sum(e), the sum of what this thread read of it.
  __device__ int column(int e) const { return tcol_ + e; }
  __device__ float sum(int e) const { return sums_[e]; }

 private:
  __device__ int prow(int j) const { return p0_ + j * (T::kThreads / (T::BN / 4)); }

  const float* __restrict__ dy_;
  const float* __restrict__ out_;
  const Activation act_;
  const int cols_, begin_, count_, tcol_, col_, p0_;
  float sums_[4] = {0, 0, 0, 0};
  float4 v_[kQuads];
};

template <class T, bool kVec>
__global__ void __launch_bounds__(T::kThreads)
    weight_grad_gemm(const __grid_constant__ ConvDims d, const float* __restrict__ x,
                     const float* __restrict__ dy, const float* __restrict__ out, Activation act,
                     float* __restrict__ dw, float* __restrict__ db, int slabs_per_split) {
  __shared__ Slabs<T> s;
  const int m0 = blockIdx.x * T::BM, n0 = blockIdx.y * T::BN;
  const int begin = blockIdx.z * slabs_per_split * kBK;
  const int count = min(d.out_pixels - begin, slabs_per_split * kBK);
  PatchColumns<T, kVec> patches(d, x, m0, begin, count);
  OutputGradColumns<T, kVec> grads(d, dy, out, act, n0, begin, count);
  float acc[4][4] = {};
  multiply<T>(patches, grads, static_cast<int>(ceil_div(count, kBK)), s, acc);

  const bool alone = gridDim.z == 1;
  add_tile<T>(acc, s, dw, d.K, d.CO, m0, n0, alone);
  if (db == nullptr || blockIdx.x != 0) return;
  // The first row of tiles read each dy' of its columns once: their sums, gathered in shared
  // memory, are the block's share of db.
  __syncthreads();  // add_tile is done with the shared memory
  float* sums = &s.a[0][0][0];
  if (threadIdx.x < T::BN) sums[threadIdx.x] = 0.0f;
  __syncthreads();
#pragma unroll
  for (int e = 0; e < 4; ++e) atomicAdd(&sums[grads.column(e)], grads.sum(e));
  __syncthreads();
  if (threadIdx.x < T::BN && n0 + int(threadIdx.x) < d.CO) {
    contribute(db + n0 + threadIdx.x, sums[threadIdx.x], alone);
  }
}

template <int KP>
union WeightGradShared {
  PatchStage<KP> stage;
  float partial[KP + 1][kDirectThreads];  // per thread: its dw column, then its db share
};

template <int KP>
__global__ void __launch_bounds__(kDirectThreads)
    weight_grad_direct(const __grid_constant__ ConvDims d, const float* __restrict__ x,
                       const float* __restrict__ dy, const float* __restrict__ out,
                       Activation act, float* __restrict__ dw, float* __restrict__ db, int ct) {
  __shared__ WeightGradShared<KP> s;
  const DirectLane me = direct_lane(d, ct);
  float acc[KP] = {}, bias = 0.0f;
  stage_taps(d, s.stage);
  for (int64_t p0 = int64_t(blockIdx.x) * kDirectPixels; p0 < d.out_pixels;
       p0 += int64_t(gridDim.x) * kDirectPixels) {
    stage_patches(d, x, p0, s.stage);
    if (!me.active) continue;
    for (int p = me.lane; p < kDirectPixels && p < d.out_pixels - p0; p += me.lanes) {
      const int64_t at = (p0 + p) * d.CO + me.co;
      float g = dy[at];
      if (act != Activation::none) g = activate_grad(act, g, out[at], 0.0f);
      bias += g;
#pragma unroll
      for (int k = 0; k < KP; k += 4) {
        const float4 v = *reinterpret_cast<const float4*>(&s.stage.patch[p][k]);
        acc[k] = fmaf(v.x, g, acc[k]);
        acc[k + 1] = fmaf(v.y, g, acc[k + 1]);
        acc[k + 2] = fmaf(v.z, g, acc[k + 2]);
        acc[k + 3] = fmaf(v.w, g, acc[k + 3]);
      }
    }
  }
  __syncthreads();  // the stage becomes the partial sums
#pragma unroll
  for (int k = 0; k < KP; ++k) s.partial[k][threadIdx.x] = acc[k];
  s.partial[KP][threadIdx.x] = bias;
  __syncthreads();
  // One thread per (position, channel of the block) sums the lanes' partials into dw (or db).
  const int lanes = kDirectThreads / ct;
  for (int o = threadIdx.x; o < (KP + 1) * ct; o += kDirectThreads) {
    const int k = o / ct, cl = o % ct, co = blockIdx.y * ct + cl;
    const bool wanted = k < KP ? k < d.K : db != nullptr;
    if (co >= d.CO || !wanted) continue;
    float sum = 0.0f;
    for (int l = 0; l < lanes; ++l) sum += s.partial[k][l * ct + cl];
    atomicAdd(k < KP ? dw + int64_t(k) * d.CO + co : db + co, sum);
  }
}

}  // namespace
}  // namespace conv

void conv2d_backward_weight(const ConvShape& shape, const float* x, const float* dy, float* dw,
                            float* db, Activation act, const float* out, cudaStream_t stream) {
  using namespace conv;
  const ConvDims d = dims_of(shape);
  if (d.CO == 0) return;
  const auto zero = [&] {
    CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(float) * size_t(d.K) * d.CO, stream));
    if (db != nullptr) CUDA_CHECK(cudaMemsetAsync(db, 0, sizeof(float) * size_t(d.CO), stream));
  };
  if (d.out_pixels == 0) return zero();
  if (direct_applies(d)) {
    zero();
    const int ct = direct_channels(d);
    const int64_t chunks = ceil_div(d.out_pixels, kDirectPixels), tiles = ceil_div(d.CO, ct);
    // Every block adds its partial sums with atomics: about two blocks per multiprocessor.
    const dim3 grid(direct_blocks(chunks, tiles, 2), unsigned(tiles));
    with_padded_patch(d.K, [&](auto kp) {
      weight_grad_direct<decltype(kp)::value><<<grid, kDirectThreads, 0, stream>>>(
          d, x, dy, out, act, dw, db, ct);
    });
    CUDA_CHECK_LAUNCH();
    return;
  }
  const auto launch = [&](auto tile) {
    using T = decltype(tile);
    const int64_t rows = ceil_div(d.K, T::BM), cols = ceil_div(d.CO, T::BN);
    const int64_t slabs = ceil_div(d.out_pixels, kBK);
    const int64_t per_split = slabs_per_split<T>(rows * cols, slabs);
    const dim3 grid(unsigned(rows), unsigned(cols), unsigned(ceil_div(slabs, per_split)));
    if (grid.z > 1) zero();
    with_vector_path(vector_path(d, {x, dy, out}), [&](auto vec) {
      weight_grad_gemm<T, decltype(vec)::value><<<grid, T::kThreads, 0, stream>>>(
          d, x, dy, out, act, dw, db, int(per_split));
    });
  };
  // The product's rows are the patch positions; the splits provide the blocks that a short
  // product lacks, so only the narrow shape is chosen by size.
  if (d.CO <= 32) {
    launch(Tile<64, 32>{});
  } else {
    launch(Tile<64, 64>{});
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace fastdl::cuda
