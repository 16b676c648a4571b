// Inverted dropout on the GPU. Element i is kept when word i of the counter-based stream
// (Philox4x32-10, philox.cuh) is at least p * 2^32: each thread draws the words of its four
// consecutive elements with one evaluation, from their index alone, so the mask is the same for
// any launch shape.
//
// Memory-bound: each thread moves a float4 in and out and the four mask bytes as one uchar4
// when the arrays are aligned for it (decided on the host); the last, partial group and
// unaligned arrays go element by element.
#include "common.cuh"
#include "dropout.h"
#include "philox.cuh"

namespace fastdl::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float masked(float v, bool keep, float scale) {
  return keep ? v * scale : 0.0f;
}

// Calls f(group, first) for each group of four elements [first, first + 4) of [0, n), one
// thread per group, in a grid-stride loop.
template <class F>
__device__ __forceinline__ void for_each_group(int64_t n, F f) {
  for (int64_t group = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; 4 * group < n;
       group += int64_t(gridDim.x) * blockDim.x) {
    f(group, 4 * group);
  }
}

template <bool kVec>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const float* x, float* y, uint8_t* keep, int64_t n, uint32_t threshold,
                   uint2 key, float scale) {
  for_each_group(n, [&](int64_t group, int64_t i) {
    const uint4 r = words_of_group(group, key);
    const bool k[4] = {r.x >= threshold, r.y >= threshold, r.z >= threshold, r.w >= threshold};
    if (kVec && i + 4 <= n) {
      const float4 v = *reinterpret_cast<const float4*>(x + i);
      *reinterpret_cast<float4*>(y + i) =
          make_float4(masked(v.x, k[0], scale), masked(v.y, k[1], scale),
                      masked(v.z, k[2], scale), masked(v.w, k[3], scale));
      *reinterpret_cast<uchar4*>(keep + i) = make_uchar4(k[0], k[1], k[2], k[3]);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (i + j < n) {
          y[i + j] = masked(x[i + j], k[j], scale);
          keep[i + j] = k[j];
        }
      }
    }
  });
}

template <bool kVec>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const float* dy, const uint8_t* keep, float* dx, int64_t n, float scale) {
  for_each_group(n, [&](int64_t, int64_t i) {
    if (kVec && i + 4 <= n) {
      const float4 g = *reinterpret_cast<const float4*>(dy + i);
      const uchar4 k = *reinterpret_cast<const uchar4*>(keep + i);
      *reinterpret_cast<float4*>(dx + i) =
          make_float4(masked(g.x, k.x, scale), masked(g.y, k.y, scale), masked(g.z, k.z, scale),
                      masked(g.w, k.w, scale));
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (i + j < n) dx[i + j] = masked(dy[i + j], keep[i + j], scale);
      }
    }
  });
}

// Elements are dropped when their 32-bit draw is below p * 2^32 (the CPU's rule).
uint32_t drop_threshold(double p) {
  const double t = p * 4294967296.0;
  return t >= 4294967295.0 ? 0xffffffffu : static_cast<uint32_t>(t);
}

bool aligned4(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 3u) == 0; }

unsigned groups_grid(int64_t n) { return grid_for(ceil_div(n, 4), kThreads); }

}  // namespace

void dropout_forward(const float* x, float* y, uint8_t* keep, int64_t n, double p, uint64_t seed,
                     cudaStream_t stream) {
  if (n == 0) return;
  const uint2 key = philox_key(seed);
  const uint32_t threshold = drop_threshold(p);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  if (aligned16(x) && aligned16(y) && aligned4(keep)) {
    forward_kernel<true><<<groups_grid(n), kThreads, 0, stream>>>(x, y, keep, n, threshold, key,
                                                                 scale);
  } else {
    forward_kernel<false><<<groups_grid(n), kThreads, 0, stream>>>(x, y, keep, n, threshold, key,
                                                                  scale);
  }
  CUDA_CHECK_LAUNCH();
}

void dropout_backward(const float* dy, const uint8_t* keep, float* dx, int64_t n, double p,
                      cudaStream_t stream) {
  if (n == 0) return;
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  if (aligned16(dy) && aligned16(dx) && aligned4(keep)) {
    backward_kernel<true><<<groups_grid(n), kThreads, 0, stream>>>(dy, keep, dx, n, scale);
  } else {
    backward_kernel<false><<<groups_grid(n), kThreads, 0, stream>>>(dy, keep, dx, n, scale);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace fastdl::cuda
