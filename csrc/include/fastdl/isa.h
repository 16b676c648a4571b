#pragma once
// Run-time choice between the kernels compiled for AVX2+FMA and the portable ones.
//
// The choice is made once, on first use: AVX2 when the CPU supports AVX2 and FMA and the kernels
// were built, unless the environment variable FASTDL_ISA=generic asks for the portable path.
// set_isa() switches at run time (used by the tests to exercise both paths in one process).

namespace fastdl {

enum class Isa { generic, avx2 };

Isa active_isa();
void set_isa(Isa isa);  // throws std::invalid_argument when the CPU or the build lacks it
bool isa_available(Isa isa);
const char* isa_name(Isa isa);

}  // namespace fastdl

// FASTDL_DISPATCH(kernel<T>(args...)) calls fastdl::avx2::kernel or fastdl::generic::kernel.
#if FASTDL_HAVE_AVX2_KERNELS
#define FASTDL_DISPATCH(call) \
  (::fastdl::active_isa() == ::fastdl::Isa::avx2 ? ::fastdl::avx2::call : ::fastdl::generic::call)
#else
#define FASTDL_DISPATCH(call) (::fastdl::generic::call)
#endif
