#pragma once
// What the GEMM kernels share: their arguments, the fused epilogue applied as C is stored, and
// the way a block's threads divide a tile of A or B between them when copying it to shared memory.
//
// Both inputs are described the same way, by a pair (mn, k): element (m, k) of op(A) and element
// (n, k) of op(B)^T. An operand is stored either with k contiguous (data[mn * ld + k]: A as is, B
// transposed) or with mn contiguous (data[k * ld + mn]: A transposed, B as is); the kernels know
// which at compile time.
#include <cstdint>

#include "activation_math.cuh"
#include "common.cuh"

namespace fastdl::cuda::gemm_detail {

struct Operand {
  const float* data;
  int64_t ld;            // elements between consecutive lines along the non-contiguous dimension
  int64_t batch_stride;  // elements between the matrices of a batch; 0 broadcasts one
};

struct Epilogue {
  float alpha;
  const float* bias;  // N values, or nullptr
  Activation act;
  float act_alpha;
  bool accumulate;
};

struct GemmArgs {
  int M, N, K;
  Operand a, b;
  float* c;
  int64_t ldc, batch_stride_c;
  Epilogue ep;
  bool vec_store;  // rows of C take float4 stores: N and ldc multiples of 4, C 16-byte aligned
  int tiles_n;     // output tiles along N; block x handles tile (x / tiles_n, x % tiles_n)
};

// A kernel's output tile per block and its threads per block, read by the kernel and its launch.
template <int BM_, int BN_, int Threads_>
struct BlockShape {
  static constexpr int BM = BM_, BN = BN_, Threads = Threads_;
};

template <bool kContigK>
__device__ inline int64_t element_offset(int64_t mn, int64_t k, int64_t ld) {
  return kContigK ? mn * ld + k : k * ld + mn;
}

// This block's operand in the batch (gridDim.z runs over the batch).
__device__ inline const float* batch_matrix(const Operand& op) {
  return op.data + blockIdx.z * op.batch_stride;
}

struct TileOrigin {
  int m0, n0;
};

// Consecutive blocks take consecutive tiles along N, sharing the rows of A they read.
__device__ inline TileOrigin tile_origin(const GemmArgs& p, int bm, int bn) {
  return {static_cast<int>(blockIdx.x / p.tiles_n) * bm,
          static_cast<int>(blockIdx.x % p.tiles_n) * bn};
}

__device__ inline float* batch_output(const GemmArgs& p) {
  return p.c + blockIdx.z * p.batch_stride_c;
}

// act(alpha * acc + C(row, col) + bias[col]), in the order of the CPU's epilogue; `old` is the
// value C(row, col) held, used only when accumulating.
__device__ inline float finish(const Epilogue& ep, float acc, float old, int col) {
  float v = ep.alpha * acc;
  if (ep.accumulate) v += old;
  if (ep.bias) v += ep.bias[col];
  return activate(ep.act, v, ep.act_alpha);
}

// C(row, col) of this block's output, when it lies inside the matrix.
__device__ inline void store_one(const GemmArgs& p, float* c, int row, int col, float acc) {
  if (row >= p.M || col >= p.N) return;
  float* dst = c + row * p.ldc + col;
  *dst = finish(p.ep, acc, p.ep.accumulate ? *dst : 0.0f, col);
}

// C(row, col .. col + 3) for col a multiple of 4: one float4 store when the host allowed them (a
// group of 4 is then wholly inside or wholly outside), else one guarded store per element.
__device__ inline void store_four(const GemmArgs& p, float* c, int row, int col, float4 acc) {
  if (!p.vec_store) {
    store_one(p, c, row, col, acc.x);
    store_one(p, c, row, col + 1, acc.y);
    store_one(p, c, row, col + 2, acc.z);
    store_one(p, c, row, col + 3, acc.w);
    return;
  }
  if (row >= p.M || col >= p.N) return;
  float4* dst = reinterpret_cast<float4*>(c + row * p.ldc + col);
  const float4 old = p.ep.accumulate ? *dst : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  *dst = make_float4(finish(p.ep, acc.x, old.x, col), finish(p.ep, acc.y, old.y, col + 1),
                     finish(p.ep, acc.z, old.z, col + 2), finish(p.ep, acc.w, old.w, col + 3));
}

// How `Threads` threads split an MN x BK tile of one operand into groups of W elements that are
// consecutive along the operand's contiguous dimension (W = 4: one 16-byte access). Group g of a
// thread is number threadIdx.x + g * Threads, counted along the contiguous dimension first, so
// that neighbouring threads access neighbouring addresses. A line (the tile's extent along the
// contiguous dimension) holds a number of groups that divides Threads, so a thread's groups all
// sit at the same position along their lines, kLineStep lines apart.
template <int MN, int BK, int Threads, bool kContigK, int W>
struct TileGroups {
  static constexpr int kLineLength = kContigK ? BK : MN;
  static constexpr int kPerLine = kLineLength / W;
  static constexpr int kLineStep = Threads / kPerLine;
  static constexpr int kCount = MN * BK / (W * Threads);
  static_assert(kLineLength % W == 0 && Threads % kPerLine == 0 &&
                    MN * BK % (W * Threads) == 0,
                "the tile must split evenly into groups and threads");

  // Group 0's line and its position along the line (group g is on line line0() + g * kLineStep).
  __device__ static int line0() { return threadIdx.x / kPerLine; }
  __device__ static int pos() { return threadIdx.x % kPerLine * W; }
  // The group's first element, relative to the tile.
  __device__ static int mn(int g) { return kContigK ? line0() + g * kLineStep : pos(); }
  __device__ static int k(int g) { return kContigK ? pos() : line0() + g * kLineStep; }
};

// Where a thread's groups of one operand's tiles are in global memory, and whether they are
// inside the matrix. Only a pointer and two bounds are kept, which matters at 128 registers per
// thread.
template <int MN, int BK, int Threads, bool kContigK, int W>
class TileSource {
 public:
  using Groups = TileGroups<MN, BK, Threads, kContigK, W>;

  // The tiles of rows (or columns) mn0 .. mn0 + MN - 1; mn_end and k_end bound the matrix.
  __device__ TileSource(const float* data, int64_t ld, int mn0, int mn_end, int k_end)
      : first_(data + element_offset<kContigK>(mn0 + Groups::mn(0), Groups::k(0), ld)),
        ld_(ld),
        line_room_(kContigK ? mn_end - mn0 - Groups::line0() : k_end - Groups::line0()),
        pos_room_(kContigK ? k_end - Groups::pos() : mn_end - mn0 - Groups::pos()) {}

  // Group g of the tile whose first k is k0. A group of 4 is wholly inside or outside: the host
  // takes the W = 4 path only when the contiguous extent is a multiple of 4.
  __device__ bool inside(int g, int k0) const {
    const int line = g * Groups::kLineStep;
    return kContigK ? line < line_room_ && k0 < pos_room_ : pos_room_ > 0 && k0 + line < line_room_;
  }
  __device__ const float* address(int g, int k0) const {
    const int line = g * Groups::kLineStep;
    return first_ + (kContigK ? k0 + line * ld_ : (k0 + line) * ld_);
  }

 private:
  const float* first_;  // group 0's first element at k = 0
  int64_t ld_;
  // Contiguous k: group g is inside when g * kLineStep < line_room_ and k0 < pos_room_.
  // Contiguous mn: when pos_room_ > 0 and k0 + g * kLineStep < line_room_.
  int line_room_, pos_room_;
};

// One operand's MN x BK tiles, copied to shared memory through registers, where they are stored
// k-major (s[k * kLd + mn]) whatever the layout in global memory: a thread then finds the values
// it multiplies at one k side by side. Tiles stored with k contiguous are transposed on the way;
// the padding of kLd spreads those scattered stores over the banks.
template <int MN, int BK, int Threads, bool kContigK, int W>
class StagedTileLoader {
  using Source = TileSource<MN, BK, Threads, kContigK, W>;
  using Groups = typename Source::Groups;

 public:
  static constexpr int kLd = MN + 4;
  static constexpr int kFloats = BK * kLd;

  __device__ StagedTileLoader(const float* data, int64_t ld, int mn0, int mn_end, int k_end)
      : source_(data, ld, mn0, mn_end, k_end) {}

  // Reads the tile whose first k is k0 into registers; elements outside the matrix read as 0.
  __device__ void load(int k0) {
#pragma unroll
    for (int g = 0; g < Groups::kCount; ++g) {
      const bool inside = source_.inside(g, k0);
      const float* src = source_.address(g, k0);
      if constexpr (W == 4) {
        const float4 v = inside ? __ldg(reinterpret_cast<const float4*>(src))
                                : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        values_[g][0] = v.x;
        values_[g][1] = v.y;
        values_[g][2] = v.z;
        values_[g][3] = v.w;
      } else {
        values_[g][0] = inside ? __ldg(src) : 0.0f;
      }
    }
  }

  // Writes the registers to the shared tile s.
  __device__ void store(float* s) const {
#pragma unroll
    for (int g = 0; g < Groups::kCount; ++g) {
      const int mn = Groups::mn(g), k = Groups::k(g);
      if constexpr (!kContigK && W == 4) {
        *reinterpret_cast<float4*>(s + k * kLd + mn) =
            make_float4(values_[g][0], values_[g][1], values_[g][2], values_[g][3]);
      } else {
#pragma unroll
        for (int j = 0; j < W; ++j) {
          s[(kContigK ? k + j : k) * kLd + (kContigK ? mn : mn + j)] = values_[g][j];
        }
      }
    }
  }

 private:
  Source source_;
  float values_[Groups::kCount][W];
};

}  // namespace fastdl::cuda::gemm_detail
