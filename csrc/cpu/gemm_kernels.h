#pragma once
// The ISA-specific part of GEMM: the register-blocked micro-kernel and the unpacked path for
// small matrices. Both exist once per ISA (gemm_kernels_impl.h compiled into fastdl::generic and
// fastdl::avx2); the blocking, packing and threading around them (gemm.cpp) is shared.
#include <cstdint>

#include "fastdl/activation.h"
#include "fastdl/gemm.h"

namespace fastdl {

// Micro-tile shape, shared by every ISA so that one packing format serves all kernels.
// 6 x 16 floats = 12 AVX2 accumulators + 2 B vectors + 1 broadcast: 15 of the 16 ymm registers.
template <class T>
struct MicroTile;
template <>
struct MicroTile<float> {
  static constexpr int MR = 6, NR = 16;
};
template <>
struct MicroTile<double> {
  static constexpr int MR = 6, NR = 8;
};

// What the micro-kernel does with its tile on the way out.
template <class T>
struct TileEpilogue {
  T alpha;
  bool accumulate;   // add to C (a later block of K) instead of overwriting it
  const T* bias;     // bias for this tile's first column, or nullptr (last block of K only)
  Activation act;    // applied on the last block of K only
  T act_alpha;
};

#define FASTDL_DECLARE_GEMM_KERNELS(isa)                                                          \
  namespace isa {                                                                                 \
  /* C[mr, nr] (+)= epilogue(a_panel[kc, MR] @ b_panel[kc, NR]); panels packed, zero-padded. */   \
  template <class T>                                                                              \
  void gemm_micro_kernel(int64_t kc, const T* a_panel, const T* b_panel, T* C, int64_t ldc,       \
                         int mr, int nr, const TileEpilogue<T>& epilogue);                        \
  /* The whole product without packing; B must have unit column stride (or K == 0). */            \
  template <class T>                                                                              \
  void gemm_unpacked(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B,     \
                     T* C, int64_t ldc, const GemmEpilogue<T>& epilogue);                         \
  }

FASTDL_DECLARE_GEMM_KERNELS(generic)
FASTDL_DECLARE_GEMM_KERNELS(avx2)
#undef FASTDL_DECLARE_GEMM_KERNELS

}  // namespace fastdl
