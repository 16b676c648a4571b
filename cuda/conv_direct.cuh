#pragma once
// Convolutions whose patch is a few values (fewer than 4 input channels and at most 32 values:
// an image's first layer, 3x3x1 in MNIST's CNN) are computed directly, not as tiled products
// whose slabs would be mostly padding. A block gathers the patches of kDirectPixels output
// pixels into shared memory, each value once; its threads, `ct` output channels by
// kDirectThreads / ct pixel lanes (channel fastest, so that stores of y and loads of dy are
// coalesced), then combine them with one output channel's weights held in registers (forward)
// or accumulate one output channel's weight gradient in registers.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "conv_tiles.cuh"

namespace fastdl::cuda::conv {

constexpr int kDirectThreads = 256;
constexpr int kDirectPixels = 64;
constexpr int kDirectMaxPatch = 32;

inline bool direct_applies(const ConvDims& d) { return d.C < 4 && d.K <= kDirectMaxPatch; }

// Output channels per block.
inline int direct_channels(const ConvDims& d) { return std::min(d.CO, 64); }

// Calls f(std::integral_constant<int, KP>{}), KP the patch length rounded up to a multiple of 4
// (a patch row is read as float4s; the padding is zeros). K <= kDirectMaxPatch.
template <class F>
void with_padded_patch(int K, F&& f) {
  switch ((std::max(K, 1) + 3) / 4) {
    case 1: return f(std::integral_constant<int, 4>{});
    case 2: return f(std::integral_constant<int, 8>{});
    case 3: return f(std::integral_constant<int, 12>{});
    case 4: return f(std::integral_constant<int, 16>{});
    case 5: return f(std::integral_constant<int, 20>{});
    case 6: return f(std::integral_constant<int, 24>{});
    case 7: return f(std::integral_constant<int, 28>{});
    default: return f(std::integral_constant<int, 32>{});
  }
}

// This thread's output channel and pixel lane.
struct DirectLane {
  int co, lane, lanes;
  bool active;  // a whole lane with a channel (the last block's channels may run out)
};

__device__ inline DirectLane direct_lane(const ConvDims& d, int ct) {
  const int t = threadIdx.x, lanes = kDirectThreads / ct;
  const int co = blockIdx.y * ct + t % ct, lane = t / ct;
  return {co, lane, lanes, lane < lanes && co < d.CO};
}

// The patches of kDirectPixels consecutive output pixels, and where they come from.
template <int KP>
struct PatchStage {
  alignas(16) float patch[kDirectPixels][KP];
  int tap_h[KP], tap_w[KP], tap_c[KP];  // kh * dilation_h, kw * dilation_w, c; c -1 past K
  int pixel_h[kDirectPixels], pixel_w[kDirectPixels];  // the window's top-left (maybe outside)
  int64_t pixel_image[kDirectPixels];  // offset of the pixel's image in x; -1 past the last
};

// Once per block; visible after the barrier of the first stage_pixels.
template <int KP>
__device__ void stage_taps(const ConvDims& d, PatchStage<KP>& s) {
  for (int k = threadIdx.x; k < KP; k += kDirectThreads) {
    if (k < d.K) {
      const Tap t = tap_of(k, d.C, d.KW);
      s.tap_h[k] = t.kh * d.dilation_h;
      s.tap_w[k] = t.kw * d.dilation_w;
      s.tap_c[k] = t.i;
    } else {
      s.tap_c[k] = -1;
    }
  }
}

// Gathers the patches of output pixels [p0, p0 + kDirectPixels) into s.patch, zero outside the
// image and past the last pixel. Starts and ends with a barrier: the caller may have been
// reading the previous patches, and reads these next.
template <int KP>
__device__ void stage_patches(const ConvDims& d, const float* __restrict__ x, int64_t p0,
                              PatchStage<KP>& s) {
  for (int p = threadIdx.x; p < kDirectPixels; p += kDirectThreads) {
    if (p < d.out_pixels - p0) {
      const int pixel = int(p0) + p, plane = d.OH * d.OW;
      const int n = pixel / plane, r = pixel - n * plane;
      const int oh = r / d.OW, ow = r - oh * d.OW;
      s.pixel_h[p] = oh * d.stride_h - d.pad_top;
      s.pixel_w[p] = ow * d.stride_w - d.pad_left;
      s.pixel_image[p] = int64_t(n) * d.H * d.W * d.C;
    } else {
      s.pixel_image[p] = -1;
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < kDirectPixels * KP; e += kDirectThreads) {
    const int p = e / KP, k = e % KP;
    const int64_t image = s.pixel_image[p];
    const int c = s.tap_c[k];
    float v = 0.0f;
    if (image >= 0 && c >= 0) {
      const int ih = s.pixel_h[p] + s.tap_h[k], iw = s.pixel_w[p] + s.tap_w[k];
      if (unsigned(ih) < unsigned(d.H) && unsigned(iw) < unsigned(d.W)) {
        v = x[image + (int64_t(ih) * d.W + iw) * d.C + c];
      }
    }
    s.patch[p][k] = v;
  }
  __syncthreads();
}

// Blocks for `chunks` chunks of kDirectPixels pixels by `tiles` channel tiles: about `per_sm`
// per multiprocessor, each taking every gridDim.x-th chunk.
inline unsigned direct_blocks(int64_t chunks, int64_t tiles, int per_sm) {
  const int64_t target = std::max<int64_t>(1, int64_t(per_sm) * multiprocessors() / tiles);
  return static_cast<unsigned>(std::min(chunks, target));
}

}  // namespace fastdl::cuda::conv
