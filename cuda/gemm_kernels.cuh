#pragma once
// The CUDA-core GEMM kernels, versions 1 to 4: each keeps what the previous one does and adds one
// idea. TA and TB say whether A and B are read transposed; every kernel handles any M, N, K
// (loads outside the matrices read zeros, stores outside them are skipped).
#include "gemm_common.cuh"

namespace fastdl::cuda::gemm_detail {

using SharedTilingShape = BlockShape<32, 32, 1024>;
using RegisterBlockingShape = BlockShape<64, 64, 256>;
using VectorizedShape = BlockShape<128, 128, 256>;
using WarptilingShape = BlockShape<128, 128, 256>;

// Version 1: a 32x32 tile of C per block of 1024 threads, one element per thread, through 32x32
// tiles of A and B staged in shared memory: each value read from global memory serves 32 FMAs.
// When loading, the thread index that runs fastest follows the operand's contiguous dimension, so
// that a warp's loads coalesce whether or not the operand is transposed.
template <bool TA, bool TB>
__global__ void __launch_bounds__(SharedTilingShape::Threads) gemm_shared_tiling(GemmArgs p) {
  constexpr int T = SharedTilingShape::BM;
  __shared__ float As[T][T + 1];  // As[m][k]; the padding keeps column accesses conflict-free
  __shared__ float Bs[T][T + 1];  // Bs[k][n]
  const auto [m0, n0] = tile_origin(p, T, T);
  const int tx = threadIdx.x % T, ty = threadIdx.x / T;
  const float* a = batch_matrix(p.a);
  const float* b = batch_matrix(p.b);
  // Coordinates this thread loads, relative to the tiles.
  const int am = TA ? tx : ty, ak = TA ? ty : tx;
  const int bn = TB ? ty : tx, bk = TB ? tx : ty;
  float acc = 0.0f;
  for (int k0 = 0; k0 < p.K; k0 += T) {
    const int m = m0 + am, ka = k0 + ak, n = n0 + bn, kb = k0 + bk;
    As[am][ak] = m < p.M && ka < p.K ? a[element_offset<!TA>(m, ka, p.a.ld)] : 0.0f;
    Bs[bk][bn] = n < p.N && kb < p.K ? b[element_offset<TB>(n, kb, p.b.ld)] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < T; ++k) acc = fmaf(As[ty][k], Bs[k][tx], acc);
    __syncthreads();
  }
  store_one(p, batch_output(p), m0 + ty, n0 + tx, acc);
}

// Version 2: a 64x64 tile of C per block of 256 threads, 4x4 outputs per thread kept in
// registers. Per k, a thread reads 4 values of A and 4 of B from shared memory for 16 FMAs
// (version 1: 2 reads per FMA). Thread (tx, ty) owns rows ty + 16 i and columns tx + 16 j, so
// that a warp's shared-memory reads and global stores touch consecutive addresses.
template <bool TA, bool TB>
__global__ void __launch_bounds__(RegisterBlockingShape::Threads)
    gemm_register_blocking(GemmArgs p) {
  using S = RegisterBlockingShape;
  constexpr int BM = S::BM, BN = S::BN, BK = 16, Threads = S::Threads, R = 4;
  using ALoader = StagedTileLoader<BM, BK, Threads, !TA, 1>;
  using BLoader = StagedTileLoader<BN, BK, Threads, TB, 1>;
  __shared__ float As[ALoader::kFloats];
  __shared__ float Bs[BLoader::kFloats];
  const auto [m0, n0] = tile_origin(p, BM, BN);
  ALoader a(batch_matrix(p.a), p.a.ld, m0, p.M, p.K);
  BLoader b(batch_matrix(p.b), p.b.ld, n0, p.N, p.K);
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  float acc[R][R] = {};
  for (int k0 = 0; k0 < p.K; k0 += BK) {
    a.load(k0);
    b.load(k0);
    a.store(As);
    b.store(Bs);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float av[R], bv[R];
#pragma unroll
      for (int i = 0; i < R; ++i) {
        av[i] = As[k * ALoader::kLd + ty + 16 * i];
        bv[i] = Bs[k * BLoader::kLd + tx + 16 * i];
      }
#pragma unroll
      for (int i = 0; i < R; ++i)
#pragma unroll
        for (int j = 0; j < R; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  float* c = batch_output(p);
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int j = 0; j < R; ++j) store_one(p, c, m0 + ty + 16 * i, n0 + tx + 16 * j, acc[i][j]);
}

// Version 3: 128x128 tiles and 8x8 outputs per thread, moved 16 bytes at a time: float4 loads
// from global memory (kVec, when the host found the operands aligned; scalar loads otherwise),
// float4 reads of shared memory (both tiles are k-major, so a thread's 8 rows of A at one k are
// contiguous, like its 8 columns of B) and float4 stores to C.
template <bool TA, bool TB, bool kVec>
__global__ void __launch_bounds__(VectorizedShape::Threads) gemm_vectorized(GemmArgs p) {
  using S = VectorizedShape;
  constexpr int BM = S::BM, BN = S::BN, BK = 8, Threads = S::Threads, W = kVec ? 4 : 1;
  using ALoader = StagedTileLoader<BM, BK, Threads, !TA, W>;
  using BLoader = StagedTileLoader<BN, BK, Threads, TB, W>;
  __shared__ __align__(16) float As[ALoader::kFloats];
  __shared__ __align__(16) float Bs[BLoader::kFloats];
  const auto [m0, n0] = tile_origin(p, BM, BN);
  ALoader a(batch_matrix(p.a), p.a.ld, m0, p.M, p.K);
  BLoader b(batch_matrix(p.b), p.b.ld, n0, p.N, p.K);
  const int row = (threadIdx.x / 16) * 8, col = (threadIdx.x % 16) * 8;
  float acc[8][8] = {};
  for (int k0 = 0; k0 < p.K; k0 += BK) {
    a.load(k0);
    b.load(k0);
    a.store(As);
    b.store(Bs);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      const float4* a4 = reinterpret_cast<const float4*>(As + k * ALoader::kLd + row);
      const float4* b4 = reinterpret_cast<const float4*>(Bs + k * BLoader::kLd + col);
      const float4 a_lo = a4[0], a_hi = a4[1], b_lo = b4[0], b_hi = b4[1];
      const float av[8] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
      const float bv[8] = {b_lo.x, b_lo.y, b_lo.z, b_lo.w, b_hi.x, b_hi.y, b_hi.z, b_hi.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  float* c = batch_output(p);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    store_four(p, c, m0 + row + i, n0 + col,
               make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    store_four(p, c, m0 + row + i, n0 + col + 4,
               make_float4(acc[i][4], acc[i][5], acc[i][6], acc[i][7]));
  }
}

// Version 4: warptiling. The 8 warps of a block split its 128x128 tile into 2 x 4 warp tiles of
// 64x32; inside one, a lane owns a 2 x 2 grid of 4x4 sub-tiles spaced 32 rows and 16 columns
// apart. Per k a warp then reads 8 distinct float4s of A (128 contiguous bytes) and 4 of B: no
// bank conflicts, unlike version 3's 8x8 blocks whose lanes read 32-byte-strided addresses. The
// shared tiles are double-buffered: the next tile's global loads are issued before the FMAs on
// the current one and written to the other buffer after them, so one barrier per tile suffices
// and the load latency hides behind the arithmetic. BK = 8 keeps the prefetched tiles (8 floats
// a thread) within the 128 registers a thread may use when two blocks share a multiprocessor.
template <bool TA, bool TB, bool kVec>
__global__ void __launch_bounds__(WarptilingShape::Threads, 2) gemm_warptiling(GemmArgs p) {
  using S = WarptilingShape;
  constexpr int BM = S::BM, BN = S::BN, BK = 8, Threads = S::Threads, W = kVec ? 4 : 1;
  constexpr int WM = 64, WN = 32;         // warp tile
  constexpr int SubM = 32, SubN = 16;     // distance between a lane's sub-tiles
  using ALoader = StagedTileLoader<BM, BK, Threads, !TA, W>;
  using BLoader = StagedTileLoader<BN, BK, Threads, TB, W>;
  __shared__ __align__(16) float As[2][ALoader::kFloats];
  __shared__ __align__(16) float Bs[2][BLoader::kFloats];
  const auto [m0, n0] = tile_origin(p, BM, BN);
  ALoader a(batch_matrix(p.a), p.a.ld, m0, p.M, p.K);
  BLoader b(batch_matrix(p.b), p.b.ld, n0, p.N, p.K);

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row = (warp / (BN / WN)) * WM + (lane / 4) * 4;  // first row of the first sub-tile
  const int col = (warp % (BN / WN)) * WN + (lane % 4) * 4;

  float acc[8][8] = {};
  a.load(0);
  b.load(0);
  a.store(As[0]);
  b.store(Bs[0]);
  __syncthreads();
  const int tiles = static_cast<int>(ceil_div(p.K, BK));
  for (int t = 0; t < tiles; ++t) {
    const int cur = t & 1;
    const bool more = t + 1 < tiles;
    if (more) {
      a.load((t + 1) * BK);
      b.load((t + 1) * BK);
    }
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      const float* as = As[cur] + k * ALoader::kLd + row;
      const float* bs = Bs[cur] + k * BLoader::kLd + col;
      const float4 a_lo = *reinterpret_cast<const float4*>(as);
      const float4 a_hi = *reinterpret_cast<const float4*>(as + SubM);
      const float4 b_lo = *reinterpret_cast<const float4*>(bs);
      const float4 b_hi = *reinterpret_cast<const float4*>(bs + SubN);
      const float av[8] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
      const float bv[8] = {b_lo.x, b_lo.y, b_lo.z, b_lo.w, b_hi.x, b_hi.y, b_hi.z, b_hi.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (more) {
      a.store(As[cur ^ 1]);
      b.store(Bs[cur ^ 1]);
    }
    __syncthreads();
  }

  float* c = batch_output(p);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int r = m0 + row + (i / 4) * SubM + i % 4;
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const float* v = acc[i] + 4 * j;
      store_four(p, c, r, n0 + col + j * SubN, make_float4(v[0], v[1], v[2], v[3]));
    }
  }
}

}  // namespace fastdl::cuda::gemm_detail
