#pragma once
// Parameter updates.
#include <cstdint>

namespace fastdl {

// y[i] += alpha * x[i] for i < n: the plain SGD step (alpha = -lr) and the in-place add of
// Tensor.add_. x and y must not overlap unless they are the same array.
template <class T>
void axpy(int64_t n, T alpha, const T* x, T* y);

}  // namespace fastdl
