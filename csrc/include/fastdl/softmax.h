#pragma once
// Softmax, log-softmax and fused softmax cross-entropy over the rows of a row-major matrix
// [rows, cols], float32 and float64. Each row's maximum is subtracted before exponentiating, so
// any finite logits give finite results.
#include <cstdint>

namespace fastdl {

// y = softmax(x), or log_softmax(x) when `log`, row by row. x and y may be the same array.
template <class T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols, bool log);

// The gradient with respect to x given dy and the forward output y, per row:
//   softmax:      dx = y * (dy - sum(dy * y))
//   log_softmax:  dx = dy - exp(y) * sum(dy)
// dx may be the same array as dy.
template <class T>
void softmax_backward(const T* dy, const T* y, T* dx, int64_t rows, int64_t cols, bool log);

// Mean over the rows of -log softmax(logits)[r, labels[r]]; every label must lie in [0, cols)
// (the caller checks). When dlogits is not null it receives the gradient of that mean,
// (softmax(logits) - onehot(labels)) / rows, computed in the same pass over each row; the
// probabilities are never written anywhere else. Returns NaN when rows == 0.
template <class T>
double softmax_cross_entropy(const T* logits, const int64_t* labels, T* dlogits, int64_t rows,
                             int64_t cols);

// How many rows r have their largest score at column labels[r] (the first of equal scores, and
// the first NaN before any number, as NumPy's argmax): sparse categorical accuracy's hits. A
// label outside [0, cols) never matches. cols >= 1.
template <class T>
int64_t argmax_matches(const T* scores, const int64_t* labels, int64_t rows, int64_t cols);

}  // namespace fastdl
