#pragma once
// Version 5: TF32 tensor cores. Each warp multiplies with mma.sync.m16n8k8 (TF32 inputs rounded
// to nearest from float32, float32 accumulation), and the tiles travel from global to shared
// memory by cp.async through a 3-stage pipeline, without passing through registers. Needs sm_80.
#include "gemm_common.cuh"
#include "gemm_ptx.cuh"

namespace fastdl::cuda::gemm_detail {

// Where one operand's MN x BK tile lives in shared memory. Tiles whose k is contiguous in global
// memory keep it so (s[mn * (BK + 4) + k]), the others keep mn contiguous (s[k * (MN + 8) + mn]):
// cp.async copies 16-byte pieces and cannot transpose. The paddings shift consecutive lines by 4
// and by 8 banks, so that a warp reading fragment element (mn, k) = (lane / 4, lane % 4), which
// is what every mma fragment load does, touches 32 different banks.
template <int MN, int BK, bool kContigK>
struct Tf32TileLayout {
  static constexpr int kLd = kContigK ? BK + 4 : MN + 8;
  static constexpr int kFloats = kContigK ? MN * kLd : BK * kLd;
  __device__ static int index(int mn, int k) { return kContigK ? mn * kLd + k : k * kLd + mn; }
};

// One operand's tiles, copied by cp.async into the layout above (groups of W = 4 elements when
// the host found the operand aligned, single elements otherwise).
template <int MN, int BK, int Threads, bool kContigK, int W>
class AsyncTileLoader {
  using Source = TileSource<MN, BK, Threads, kContigK, W>;
  using Groups = typename Source::Groups;
  using Layout = Tf32TileLayout<MN, BK, kContigK>;

 public:
  __device__ AsyncTileLoader(const float* data, int64_t ld, int mn0, int mn_end, int k_end)
      : source_(data, ld, mn0, mn_end, k_end) {}

  // Starts copying the tile whose first k is k0 into s; elements outside the matrix become 0.
  // (The scalar path has 32 groups per thread: unrolling them all would hold 32 addresses.)
  __device__ void issue(int k0, float* s) const {
#pragma unroll(W == 4 ? Groups::kCount : 4)
    for (int g = 0; g < Groups::kCount; ++g) {
      cp_async_or_zero<W>(s + Layout::index(Groups::mn(g), Groups::k(g)), source_.address(g, k0),
                          source_.inside(g, k0));
    }
  }

 private:
  Source source_;
};

struct Tf32Config : BlockShape<128, 128, 128> {
  static constexpr int BK = 32, Stages = 3;
  static constexpr int WM = 64, WN = 64;  // warp tile: 4 x 8 mma tiles of 16x8
};

template <bool TA, bool TB>
constexpr int tf32_smem_bytes() {
  using C = Tf32Config;
  return C::Stages * 4 *
         (Tf32TileLayout<C::BM, C::BK, !TA>::kFloats + Tf32TileLayout<C::BN, C::BK, TB>::kFloats);
}

// 4 warps, each computing a 64x64 warp tile of the block's 128x128 tile as 4 x 8 mma tiles.
// Stage s of the pipeline holds A's and B's tiles for k-tile t (s = t mod Stages); while the
// warps multiply one stage, the copies of the next Stages - 1 tiles are in flight.
template <bool TA, bool TB, bool kVec>
__global__ void __launch_bounds__(Tf32Config::Threads, 2) gemm_tf32(GemmArgs p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using C = Tf32Config;
  constexpr int W = kVec ? 4 : 1, MT = C::WM / 16, NT = C::WN / 8;
  using ALayout = Tf32TileLayout<C::BM, C::BK, !TA>;
  using BLayout = Tf32TileLayout<C::BN, C::BK, TB>;
  constexpr int kStageFloats = ALayout::kFloats + BLayout::kFloats;
  extern __shared__ float4 smem4[];
  float* const smem = reinterpret_cast<float*>(smem4);

  const auto [m0, n0] = tile_origin(p, C::BM, C::BN);
  const AsyncTileLoader<C::BM, C::BK, C::Threads, !TA, W> a(batch_matrix(p.a), p.a.ld, m0, p.M,
                                                            p.K);
  const AsyncTileLoader<C::BN, C::BK, C::Threads, TB, W> b(batch_matrix(p.b), p.b.ld, n0, p.N,
                                                           p.K);
  const int tiles = static_cast<int>(ceil_div(p.K, C::BK));
  // One commit per stage even when there is nothing left to copy keeps the group count, which
  // cp_async_wait relies on, the same for every iteration.
#pragma unroll
  for (int s = 0; s < C::Stages - 1; ++s) {
    if (s < tiles) {
      a.issue(s * C::BK, smem + s * kStageFloats);
      b.issue(s * C::BK, smem + s * kStageFloats + ALayout::kFloats);
    }
    cp_async_commit();
  }

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = (warp / (C::BN / C::WN)) * C::WM, wn = (warp % (C::BN / C::WN)) * C::WN;
  const int group = lane / 4, quad = lane % 4;  // the fragments' groupID and threadID_in_group
  float acc[MT][NT][4] = {};
  int read_stage = 0, write_stage = C::Stages - 1;
  for (int t = 0; t < tiles; ++t) {
    cp_async_wait<C::Stages - 2>();  // this thread's copies of tile t have landed...
    __syncthreads();  // ...everyone's too, and everyone is done with the stage refilled below
    const int next = t + C::Stages - 1;
    if (next < tiles) {
      a.issue(next * C::BK, smem + write_stage * kStageFloats);
      b.issue(next * C::BK, smem + write_stage * kStageFloats + ALayout::kFloats);
    }
    cp_async_commit();

    const float* As = smem + read_stage * kStageFloats;
    const float* Bs = As + ALayout::kFloats;
#pragma unroll
    for (int kk = 0; kk < C::BK; kk += 8) {
      uint32_t af[MT][4], bf[NT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        const int m = wm + i * 16 + group, k = kk + quad;
        af[i][0] = to_tf32(As[ALayout::index(m, k)]);
        af[i][1] = to_tf32(As[ALayout::index(m + 8, k)]);
        af[i][2] = to_tf32(As[ALayout::index(m, k + 4)]);
        af[i][3] = to_tf32(As[ALayout::index(m + 8, k + 4)]);
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int n = wn + j * 8 + group, k = kk + quad;
        bf[j][0] = to_tf32(Bs[BLayout::index(n, k)]);
        bf[j][1] = to_tf32(Bs[BLayout::index(n, k + 4)]);
      }
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j) mma_tf32(acc[i][j], af[i], bf[j]);
    }
    read_stage = read_stage + 1 == C::Stages ? 0 : read_stage + 1;
    write_stage = write_stage + 1 == C::Stages ? 0 : write_stage + 1;
  }

  // Accumulator d[r] of an mma tile sits at row group + 8 (r / 2), column 2 quad + r % 2.
  float* c = batch_output(p);
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        store_one(p, c, m0 + wm + i * 16 + group + 8 * (r / 2), n0 + wn + j * 8 + 2 * quad + r % 2,
                  acc[i][j][r]);
      }
#endif
}

}  // namespace fastdl::cuda::gemm_detail
