#pragma once
// Arithmetic on subnormal numbers (below about 1.2e-38 in float32) costs x86 cores on the
// order of a hundred cycles per operation. Optimizer moments decay toward them for every
// weight whose gradient stays zero (those of an image's always-blank pixels), which slowed an
// Adam step of the MNIST MLP twofold; the update kernels therefore run with subnormal inputs
// and results treated as zero, as TensorFlow runs on CPUs.
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace fastdl {

// Sets flush-to-zero and denormals-are-zero on the calling thread for the scope's lifetime.
class FlushDenormalsScope {
 public:
#if defined(__x86_64__) || defined(_M_X64)
  FlushDenormalsScope() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtz | kDaz); }
  ~FlushDenormalsScope() { _mm_setcsr(saved_); }

 private:
  static constexpr unsigned kFtz = 0x8000;  // results that would be subnormal become zero
  static constexpr unsigned kDaz = 0x0040;  // subnormal inputs are read as zero
  unsigned saved_;
#else
  FlushDenormalsScope() = default;
#endif
  FlushDenormalsScope(const FlushDenormalsScope&) = delete;
  FlushDenormalsScope& operator=(const FlushDenormalsScope&) = delete;
};

}  // namespace fastdl
