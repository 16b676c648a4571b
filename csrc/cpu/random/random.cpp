// Random fills: the array is split into one contiguous range per thread; each range's values are
// keyed on their global indices, so the split does not change the array. Subnormal results
// (a tiny stddev or range) are flushed to zero: they would cost a hundred cycles each.
#include "fastdl/random.h"

#include <algorithm>
#include <cmath>

#include "fastdl/denormals.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "random/kernels.h"

namespace fastdl {
namespace {

// Normals cost some thirty operations per value and uniforms a few, on top of the stream's ten:
// below this many values per thread, waking threads costs more than it saves.
constexpr int64_t kGrain = 16 * 1024;

template <class T>
void fill_normal(T* out, int64_t n, uint64_t key, T mean, T stddev, bool truncated) {
  // Split by pairs, so that no pair straddles two threads.
  const int64_t pairs = (n + 1) / 2;
  parallel_for(pairs, kGrain / 2, [&](int64_t begin, int64_t end) {
    const FlushDenormalsScope flush_denormals;
    const int64_t first = 2 * begin;
    FASTDL_DISPATCH(normal_kernel<T>(out + first, std::min(n, 2 * end) - first, first, key,
                                     mean, stddev, truncated));
  });
}

}  // namespace

template <class T>
void random_uniform(T* out, int64_t n, uint64_t key, T low, T high) {
  const T span = high - low;
  const T below_high = std::nextafter(high, low);  // high itself when low == high
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    const FlushDenormalsScope flush_denormals;
    FASTDL_DISPATCH(uniform_kernel<T>(out + begin, end - begin, begin, key, low, span,
                                      below_high));
  });
}

template <class T>
void random_normal(T* out, int64_t n, uint64_t key, T mean, T stddev) {
  fill_normal(out, n, key, mean, stddev, false);
}

template <class T>
void random_truncated_normal(T* out, int64_t n, uint64_t key, T mean, T stddev) {
  fill_normal(out, n, key, mean, stddev, true);
}

template <class I>
void random_integers(I* out, int64_t n, uint64_t key, int64_t low, int64_t high) {
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    FASTDL_DISPATCH(integers_kernel<I>(out + begin, end - begin, begin, key, low, span));
  });
}

template void random_uniform<float>(float*, int64_t, uint64_t, float, float);
template void random_uniform<double>(double*, int64_t, uint64_t, double, double);
template void random_normal<float>(float*, int64_t, uint64_t, float, float);
template void random_normal<double>(double*, int64_t, uint64_t, double, double);
template void random_truncated_normal<float>(float*, int64_t, uint64_t, float, float);
template void random_truncated_normal<double>(double*, int64_t, uint64_t, double, double);
template void random_integers<int32_t>(int32_t*, int64_t, uint64_t, int64_t, int64_t);
template void random_integers<int64_t>(int64_t*, int64_t, uint64_t, int64_t, int64_t);

}  // namespace fastdl
