// Dropout kernels; CMake compiles this file once per ISA (generic, avx2, avx512), each copy in
// its own namespace. Plain loops of integer arithmetic, which the compiler vectorizes for the
// target; every build computes the same bits.
#include <algorithm>

#include "dropout/kernels.h"
#include "random/stream.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

template <class T>
void dropout_forward_kernel(const T* x, T* y, uint8_t* keep, int64_t n, int64_t first,
                            uint32_t threshold, uint64_t seed, T scale) {
  // Element i is kept when word(seed, i) of the counter-based stream is at least the threshold.
  constexpr int64_t kChunk = 256;
  uint32_t kept[kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    stream_words(seed, static_cast<uint64_t>(first + i), len, kept);
    // Passes per chunk, each a loop the compiler vectorizes (one loop mixing the 32-bit, 8-bit
    // and floating widths does not): the words, 1 for each element kept, the scaled output,
    // the uint8 mask.
    for (int64_t j = 0; j < len; ++j) kept[j] = kept[j] >= threshold;
    const T* __restrict xs = x + i;
    T* __restrict ys = y + i;
    uint8_t* __restrict ks = keep + i;
    for (int64_t j = 0; j < len; ++j) {
      ys[j] = xs[j] * (static_cast<T>(static_cast<int32_t>(kept[j])) * scale);
    }
    for (int64_t j = 0; j < len; ++j) ks[j] = static_cast<uint8_t>(kept[j]);
  }
}

template <class T>
void dropout_backward_kernel(const T* dy, const uint8_t* keep, T* dx, int64_t n, T scale) {
  const T* __restrict d = dy;
  const uint8_t* __restrict k = keep;
  T* __restrict out = dx;
  // Arithmetic rather than a branch, which the mask's randomness would mispredict.
  for (int64_t i = 0; i < n; ++i) out[i] = d[i] * (static_cast<T>(k[i]) * scale);
}

template void dropout_forward_kernel<float>(const float*, float*, uint8_t*, int64_t, int64_t,
                                            uint32_t, uint64_t, float);
template void dropout_forward_kernel<double>(const double*, double*, uint8_t*, int64_t, int64_t,
                                             uint32_t, uint64_t, double);
template void dropout_backward_kernel<float>(const float*, const uint8_t*, float*, int64_t,
                                             float);
template void dropout_backward_kernel<double>(const double*, const uint8_t*, double*, int64_t,
                                              double);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
