// Dropout: the array is split into one contiguous chunk per thread; each chunk's random
// numbers are keyed on global indices, so the split does not change the mask.
#include "fastdl/dropout.h"

#include <cmath>

#include "dropout/kernels.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"

namespace fastdl {
namespace {

// A memory-bound pass: below this many elements per thread one thread is faster.
constexpr int64_t kGrain = 32 * 1024;

}  // namespace

uint32_t dropout_threshold(double p) {
  const double t = std::ldexp(p, 32);
  return t >= 4294967295.0 ? 0xffffffffU : static_cast<uint32_t>(t);
}

template <class T>
void dropout_forward(const T* x, T* y, uint8_t* keep, int64_t n, double p, uint64_t seed) {
  const uint32_t threshold = dropout_threshold(p);
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    FASTDL_DISPATCH(dropout_forward_kernel<T>(x + begin, y + begin, keep + begin, end - begin,
                                              begin, threshold, seed, scale));
  });
}

template <class T>
void dropout_backward(const T* dy, const uint8_t* keep, T* dx, int64_t n, double p) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    FASTDL_DISPATCH(dropout_backward_kernel<T>(dy + begin, keep + begin, dx + begin,
                                               end - begin, scale));
  });
}

template void dropout_forward<float>(const float*, float*, uint8_t*, int64_t, double, uint64_t);
template void dropout_forward<double>(const double*, double*, uint8_t*, int64_t, double,
                                      uint64_t);
template void dropout_backward<float>(const float*, const uint8_t*, float*, int64_t, double);
template void dropout_backward<double>(const double*, const uint8_t*, double*, int64_t, double);

}  // namespace fastdl
