#pragma once
// What the convolution kernels share: the geometry as 32-bit device values, the positions of a
// patch, and the tiled product that the forward and both gradients run as implicit GEMMs, each
// with loaders that gather its operands straight from the images (no im2col buffer).
//
// The product computes a BM x BN block of A * B, its reduction in slabs of kBK: while one slab
// of A (kBK x BM, reduction-major) and B (kBK x BN) is multiplied from shared memory, the
// loaders fetch the next into registers; two shared buffers, one barrier per slab. Each thread
// accumulates a 4 x 4 block, and a warp's 32 threads cover 4 x 8 such blocks, so that a warp
// reads 4 distinct float4 of A and 8 of B per step of the reduction: one shared-memory
// transaction each.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "common.cuh"
#include "fastdl/conv.h"

namespace fastdl::cuda::conv {

// ConvShape as 32-bit values (the bindings check that they fit): index arithmetic in 32 bits,
// element offsets in 64.
struct ConvDims {
  int N, H, W, C, KH, KW, CO, OH, OW;
  int stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int K;           // KH * KW * C: the length of a patch
  int out_pixels;  // N * OH * OW
  int in_pixels;   // N * H * W
};

inline ConvDims dims_of(const ConvShape& s) {
  const auto i = [](int64_t v) { return static_cast<int>(v); };
  return {i(s.N),        i(s.H),        i(s.W),          i(s.C),          i(s.KH),
          i(s.KW),       i(s.CO),       i(s.OH),         i(s.OW),         i(s.stride_h),
          i(s.stride_w), i(s.dilation_h), i(s.dilation_w), i(s.pad_top),  i(s.pad_left),
          i(s.patch()),  i(s.pixels()), i(s.N * s.H * s.W)};
}

// A position (kh, kw, i) in a reduction ordered like HWIO weights: kh, then kw, then the
// innermost index i (the input channel of a patch, or the output channel in the input
// gradient's reduction over (kh, kw, co)).
struct Tap {
  int kh, kw, i;
};

__device__ inline Tap tap_of(int k, int inner, int KW) {
  const unsigned t = unsigned(k) / unsigned(inner);
  const unsigned kh = t / unsigned(KW);
  return {int(kh), int(t - kh * KW), int(unsigned(k) - t * inner)};
}

__device__ inline void advance(Tap& t, int inner, int KW) {
  if (++t.i == inner) {
    t.i = 0;
    if (++t.kw == KW) {
      t.kw = 0;
      ++t.kh;
    }
  }
}

// ---------------------------------------------------------------- the tiled product

constexpr int kBK = 16;  // the reduction's slab

template <int BM_, int BN_>
struct Tile {
  static constexpr int BM = BM_, BN = BN_;
  static constexpr int kThreads = BM * BN / 16;  // a 4 x 4 block each
  // Rows padded by 4 floats: still float4-aligned, and the loaders that store a float4 across
  // 4 rows (along the reduction) meet 2-way bank conflicts instead of 4-way.
  static constexpr int kLdA = BM + 4, kLdB = BN + 4;
  static_assert(BM % 16 == 0 && BN % 32 == 0, "a warp covers 16 rows by 32 columns");
};

template <class T>
struct alignas(16) Slabs {
  float a[2][kBK][T::kLdA];
  float b[2][kBK][T::kLdB];
};

// The thread's 4 x 4 block of the product: rows 4 * row..., columns 4 * col....
struct Cell {
  int row, col;
};

template <class T>
__device__ inline Cell cell() {
  constexpr int kWarpsAcross = T::BN / 32;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  return {(warp / kWarpsAcross) * 4 + lane / 8, (warp % kWarpsAcross) * 8 + lane % 8};
}

// The loaders fetch quads, 4 consecutive values along the reduction or along the columns, and
// put them into a slab (rows: the reduction).
template <int LD>
__device__ inline void put_along_k(float (&slab)[kBK][LD], int k, int col, float4 v) {
  slab[k][col] = v.x;
  slab[k + 1][col] = v.y;
  slab[k + 2][col] = v.z;
  slab[k + 3][col] = v.w;
}

template <int LD>
__device__ inline void put_along_cols(float (&slab)[kBK][LD], int k, int col, float4 v) {
  *reinterpret_cast<float4*>(&slab[k][col]) = v;
}

// Quads of a slab that each thread fetches, for an operand of `cols` columns.
template <class T, int cols>
constexpr int quads_per_thread() {
  static_assert(4 * cols % T::kThreads == 0, "the threads share a slab's quads evenly");
  return 4 * cols / T::kThreads;
}

// acc += A * B over `slabs` slabs. LoadA and LoadB provide load(slab), fetching a slab into
// registers, and store(slab array), putting it into shared memory. Ends with a barrier, after
// which the caller may reuse `s`.
template <class T, class LoadA, class LoadB>
__device__ void multiply(LoadA& a, LoadB& b, int slabs, Slabs<T>& s, float (&acc)[4][4]) {
  const Cell c = cell<T>();
  a.load(0);
  b.load(0);
  a.store(s.a[0]);
  b.store(s.b[0]);
  __syncthreads();
  for (int t = 0; t < slabs; ++t) {
    const int cur = t & 1;
    const bool more = t + 1 < slabs;
    if (more) {
      a.load(t + 1);
      b.load(t + 1);
    }
#pragma unroll
    for (int k = 0; k < kBK; ++k) {
      const float4 av = *reinterpret_cast<const float4*>(&s.a[cur][k][4 * c.row]);
      const float4 bv = *reinterpret_cast<const float4*>(&s.b[cur][k][4 * c.col]);
      const float ar[4] = {av.x, av.y, av.z, av.w}, br[4] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(ar[i], br[j], acc[i][j]);
      }
    }
    if (more) {
      a.store(s.a[cur ^ 1]);
      b.store(s.b[cur ^ 1]);
    }
    __syncthreads();
  }
}

// ---------------------------------------------------------------- launch choices

inline int multiprocessors() {
  int device = 0, count = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count;
}

// Whether the loaders may move float4s: the channel counts keep quads within one pixel and
// aligned, and the arrays start on 16 bytes.
inline bool vector_path(const ConvDims& d, std::initializer_list<const void*> arrays) {
  if (d.C % 4 != 0 || d.CO % 4 != 0) return false;
  return std::all_of(arrays.begin(), arrays.end(), [](const void* p) { return aligned16(p); });
}

// Calls f(std::bool_constant<vec>{}).
template <class F>
void with_vector_path(bool vec, F&& f) {
  if (vec) return f(std::true_type{});
  return f(std::false_type{});
}

// Calls f(Tile<...>{}) with the block shape for a product of rows x cols: 64 x 32 for narrow
// products (32 columns or fewer), else 64 x 64, or 32 x 64 when 64-row blocks would leave the
// multiprocessors fewer than two blocks each (more, smaller blocks then hide latency better).
template <class F>
void with_tile(int64_t rows, int64_t cols, F&& f) {
  if (cols <= 32) return f(Tile<64, 32>{});
  if (ceil_div(rows, 64) * ceil_div(cols, 64) >= 2 * int64_t(multiprocessors())) {
    return f(Tile<64, 64>{});
  }
  return f(Tile<32, 64>{});
}

}  // namespace fastdl::cuda::conv
