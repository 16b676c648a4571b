#pragma once
// The row passes of a softmax, per ISA (included by kernels compiled once per ISA: the softmax
// family's and attention's): the row's maximum, the sum of exp(x - m), and a rescaling.
#include <cstdint>
#include <limits>

#include "activation/vector_math.h"
#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

// The largest element of x[0, n). A NaN element may or may not be returned (max keeps only
// some NaN operands), but it always reaches the result through exp(NaN - max) in the sum.
template <class T>
inline T row_max(const T* x, int64_t n) {
  constexpr T lowest = -std::numeric_limits<T>::infinity();
  // In four accumulators: a row of a few vectors is otherwise one chain of max latencies.
  const Vec<T> m = fold_vectors<T>(n, Vec<T>(lowest), [&](Vec<T> acc, int64_t i, int lanes) {
    return max(acc, fill_past(load_lanes(x + i, lanes), lanes, lowest));
  }, [](Vec<T> a, Vec<T> b) { return max(a, b); });
  return m.reduce_max();
}

// sum(exp(x - m)) over x[0, n); with kStore the exponentials are also written to e (which may
// be x itself).
template <bool kStore, class T>
inline T exp_sum(const T* x, T m, T* e, int64_t n) {
  const Vec<T> vm(m);
  Vec<T> acc(T(0));
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    const Vec<T> v = exp(load_lanes(x + i, lanes) - vm);
    if constexpr (kStore) store_lanes(v, e + i, lanes);
    acc = acc + fill_past(v, lanes, T(0));
  });
  return acc.reduce_sum();
}

template <class T>
inline void scale_row(T* y, T factor, int64_t n) {
  const Vec<T> f(factor);
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    store_lanes(load_lanes(y + i, lanes) * f, y + i, lanes);
  });
}

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
