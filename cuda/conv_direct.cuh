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
  Window window[kDirectPixels];  // image -1 past the last pixel
};

// Once per block; visible after the first barrier of stage_patches.
template <int KP>
__device__ void stage_taps(const ConvDims& d, PatchStage<KP>& s) {
  for (int k = threadIdx.x; k < KP; k += kDirectThreads) {
    const Tap t = k < d.K ? tap_of(k, d.C, d.KW) : Tap{0, 0, -1};
    s.tap_h[k] = t.kh * d.dilation_h;
    s.tap_w[k] = t.kw * d.dilation_w;
    s.tap_c[k] = t.i;
  }
}

// Gathers the patches of output pixels [p0, p0 + kDirectPixels) into s.patch, zero outside the
// image and past the last pixel. Starts and ends with a barrier: the caller may have been
// reading the previous patches, and reads these next.
template <int KP>
__device__ void stage_patches(const ConvDims& d, const float* __restrict__ x, int64_t p0,
                              PatchStage<KP>& s) {
  for (int p = threadIdx.x; p < kDirectPixels; p += kDirectThreads) {
    s.window[p] = p < d.out_pixels - p0 ? window_of(d, int(p0) + p) : Window{0, 0, -1};
  }
  __syncthreads();
  for (int e = threadIdx.x; e < kDirectPixels * KP; e += kDirectThreads) {
    const int p = e / KP, k = e % KP;
    const Window& win = s.window[p];
    const int c = s.tap_c[k];
    const int ih = win.h0 + s.tap_h[k], iw = win.w0 + s.tap_w[k];
    const bool inside = unsigned(ih) < unsigned(d.H) && unsigned(iw) < unsigned(d.W);
    const bool valid = win.image >= 0 && c >= 0 && inside;
    s.patch[p][k] = valid ? x[win.image + (int64_t(ih) * d.W + iw) * d.C + c] : 0.0f;
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
