#pragma once
// Run-time choice among the kernel sets compiled for each ISA: AVX-512 (F, BW, DQ, VL: the
// x86-64-v4 level), AVX2 with FMA, and the portable one.
//
// The choice is made once, on first use: the best set that was built and that the CPU and the
// operating system support (the OS must save the registers: YMM state for AVX2, opmask and ZMM
// state for AVX-512). The environment variable FASTDL_ISA=generic|avx2|avx512 asks for one; a
// set that cannot run here falls back to the best one below it. set_isa() switches at run time
// (the tests exercise every set in one process).

namespace fastdl {

enum class Isa { generic, avx2, avx512 };

Isa active_isa();
void set_isa(Isa isa);        // throws std::invalid_argument when the CPU or the build lacks it
bool isa_built(Isa isa);      // its kernels are in this build
bool isa_available(Isa isa);  // built, and the CPU and the OS support it
const char* isa_name(Isa isa);
Isa isa_from_name(const char* op, const char* name);  // std::invalid_argument naming `op`

}  // namespace fastdl

// FASTDL_DISPATCH(kernel<T>(args...)) calls the kernel of the active ISA: fastdl::avx512::kernel,
// fastdl::avx2::kernel or fastdl::generic::kernel.
#if FASTDL_HAVE_AVX512_KERNELS
#define FASTDL_DISPATCH_AVX512(call) \
  ::fastdl::active_isa() == ::fastdl::Isa::avx512 ? ::fastdl::avx512::call:
#else
#define FASTDL_DISPATCH_AVX512(call)
#endif
#if FASTDL_HAVE_AVX2_KERNELS
#define FASTDL_DISPATCH_AVX2(call) \
  ::fastdl::active_isa() == ::fastdl::Isa::avx2 ? ::fastdl::avx2::call:
#else
#define FASTDL_DISPATCH_AVX2(call)
#endif
#define FASTDL_DISPATCH(call) \
  (FASTDL_DISPATCH_AVX512(call) FASTDL_DISPATCH_AVX2(call) ::fastdl::generic::call)
