#pragma once
// The PTX instructions of the TF32 kernel that CUDA C++ has no intrinsics for (sm_80 and newer):
// asynchronous copies from global to shared memory, and TF32 tensor-core products.
#include <cstdint>

namespace fastdl::cuda::gemm_detail {

// Copies of W * 4 bytes from global to shared memory that do not wait for the data. A copy that
// is not `valid` reads nothing (src may then point outside the matrix) and writes zeros.
template <int W>
__device__ inline void cp_async_or_zero(float* dst, const float* src, bool valid) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  const size_t g = __cvta_generic_to_global(src);
  const int src_bytes = valid ? 4 * W : 0;
  if constexpr (W == 4) {
    // .cg: the tile is reused from shared memory, not from L1.
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(g),
                 "r"(src_bytes));
  } else {
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(s), "l"(g), "n"(4 * W),
                 "r"(src_bytes));
  }
}

__device__ inline void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

// Waits until at most `Pending` of this thread's committed groups are still in flight.
template <int Pending>
__device__ inline void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

__device__ inline uint32_t to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
}

// d += a (16x8, row-major fragment) * b (8x8, column-major fragment).
__device__ inline void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, "
      "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

}  // namespace fastdl::cuda::gemm_detail
