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

// Output pixel `pixel`'s window: its top-left corner in the input (maybe in the padding) and the
// offset of its image in x.
struct Window {
  int h0, w0;
  int64_t image;
};

__device__ inline Window window_of(const ConvDims& d, int pixel) {
  const int plane = d.OH * d.OW, n = pixel / plane, r = pixel - n * plane;
  const int oh = r / d.OW, ow = r - oh * d.OW;
  return {oh * d.stride_h - d.pad_top, ow * d.stride_w - d.pad_left,
          int64_t(n) * d.H * d.W * d.C};
}

// Input pixel `pixel` as (image, row, column).
struct InputPixel {
  int n, h, w;
};

__device__ inline InputPixel input_pixel(const ConvDims& d, int pixel) {
  const int plane = d.H * d.W, n = pixel / plane, r = pixel - n * plane;
  const int h = r / d.W;
  return {n, h, r - h * d.W};
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

// Fetches, for each of a thread's kQuads lines j, the quad of reduction positions [k, k + 4)
// starting at tap t of a reduction ordered (kh, kw, i < inner). offset(j, t, k) is the offset
// of an element in src, or -1 for a zero. With kVec the quad's positions share their tap
// (inner % 4 == 0) and lie together, one float4; else 4 scalars, the tap advancing between them.
template <bool kVec, int kQuads, class Offset>
__device__ inline void fetch_along_k(const float* __restrict__ src, int k, Tap t, int inner,
                                     int KW, const Offset& offset, float4 (&v)[kQuads]) {
  if constexpr (kVec) {
#pragma unroll
    for (int j = 0; j < kQuads; ++j) {
      const int64_t at = offset(j, t, k);
      v[j] = at >= 0 ? *reinterpret_cast<const float4*>(src + at) : float4{0, 0, 0, 0};
    }
  } else {
    float q[kQuads][4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
#pragma unroll
      for (int j = 0; j < kQuads; ++j) {
        const int64_t at = offset(j, t, k + e);
        q[j][e] = at >= 0 ? src[at] : 0.0f;
      }
      advance(t, inner, KW);
    }
#pragma unroll
    for (int j = 0; j < kQuads; ++j) v[j] = {q[j][0], q[j][1], q[j][2], q[j][3]};
  }
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

// Adds v to *p atomically, or stores it when the block is the only contributor.
__device__ inline void contribute(float* p, float v, bool alone) {
  if (alone) {
    *p = v;
  } else {
    atomicAdd(p, v);
  }
}

// Adds the block's product (rows m0.., columns n0.. of the rows x cols row-major matrix c) into c
// with atomics, or stores it when `alone` (no other block contributes). The block goes through
// shared memory (free after multiply) so that each warp then covers 32 consecutive columns: an
// atomic addition costs the memory system per 32-byte sector, and this packs 8 floats into each.
template <class T>
__device__ void add_tile(const float (&acc)[4][4], Slabs<T>& s, float* c, int rows, int cols,
                         int m0, int n0, bool alone) {
  constexpr int kLd = T::BN + 4;
  static_assert(sizeof(float) * T::BM * kLd <= sizeof(Slabs<T>), "the tile fits in the slabs");
  float(*tile)[kLd] = reinterpret_cast<float(*)[kLd]>(&s);
  const Cell cl = cell<T>();
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    *reinterpret_cast<float4*>(&tile[4 * cl.row + i][4 * cl.col]) = {acc[i][0], acc[i][1],
                                                                       acc[i][2], acc[i][3]};
  }
  __syncthreads();
  for (int e = threadIdx.x; e < T::BM * T::BN; e += T::kThreads) {
    const int m = e / T::BN, n = e % T::BN;
    if (m0 + m < rows && n0 + n < cols) {
      contribute(c + int64_t(m0 + m) * cols + n0 + n, tile[m][n], alone);
    }
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

// Slabs per split of a reduction of `slabs` slabs shared by `blocks` blocks of T, the splits
// adding their products with atomics: splits enough for about 16 warps per multiprocessor
// (fewer leave it waiting on memory), each of at least kMinSlabsPerSplit (their atomic
// additions then cost little beside their products).
template <class T>
int64_t slabs_per_split(int64_t blocks, int64_t slabs) {
  constexpr int64_t kWarpsPerBlock = T::kThreads / 32, kMinSlabsPerSplit = 8;
  const int64_t wanted = ceil_div(16 * int64_t(multiprocessors()), blocks * kWarpsPerBlock);
  const int64_t most = std::max<int64_t>(1, slabs / kMinSlabsPerSplit);
  return ceil_div(slabs, std::clamp<int64_t>(wanted, 1, most));
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
