#pragma once
// The backward pass of a dense layer y = act(x @ w + b) in one call: the activation's
// derivative, the weight and bias gradients and the input gradient, with no trip through Python
// between them.
#include <cstdint>

#include "fastdl/activation.h"

namespace fastdl {

// x is (M, K), w (K, N), dy and y (M, N), all C-contiguous. `act` must differentiate from its
// output (none, relu, sigmoid, tanh); y is unused for none. dz is scratch of M * N elements
// (unused for none). Any of dx (M, K), dw (K, N), db (N) may be nullptr: not computed.
template <class T>
void linear_backward(int64_t M, int64_t K, int64_t N, const T* dy, const T* y, Activation act,
                     const T* x, const T* w, T* dz, T* dx, T* dw, T* db);

// out[j] = sum over i of a[i * cols + j]: the sums of the columns of a C-contiguous (rows, cols)
// matrix, which is how a bias's gradient sums its output's gradient over every axis but the
// last. Rows are added in slabs of a fixed size whose sums are then added in order, so the
// result is the same for any thread count.
template <class T>
void column_sums(int64_t rows, int64_t cols, const T* a, T* out);

}  // namespace fastdl
