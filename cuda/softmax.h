#pragma once
// Softmax, log-softmax and fused softmax cross-entropy on the GPU, float32, over the rows of a
// row-major [rows, cols] matrix: the names and argument order of csrc/include/fastdl/softmax.h,
// plus the stream to launch on. Each row's maximum is subtracted before exponentiating, so any
// finite logits give finite results.
#include <cuda_runtime.h>

#include <cstdint>

namespace fastdl::cuda {

// y = softmax(x), or log_softmax(x) when `log`, row by row. x and y may be the same array.
void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols, bool log,
                     cudaStream_t stream);

// The gradient with respect to x given dy and the forward output y, per row:
//   softmax:      dx = y * (dy - sum(dy * y))
//   log_softmax:  dx = dy - exp(y) * sum(dy)
// dx may be the same array as dy.
void softmax_backward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols,
                      bool log, cudaStream_t stream);

// *loss (one float in device memory) = the mean over the rows of
// -log softmax(logits)[r, labels[r]], NaN when rows == 0. When dlogits is not null it receives
// the gradient of that mean, (softmax(logits) - onehot(labels)) / rows, from the same pass over
// each row. Nothing is copied to the host, so the labels are not checked there: a row whose
// label lies outside [0, cols) gets a NaN loss (which makes the mean NaN) and a NaN gradient
// row. `workspace`: scratch of at least `rows` floats. The mean is reduced in a fixed order:
// the same inputs give the same bits on every run.
void softmax_cross_entropy(const float* logits, const int64_t* labels, float* dlogits,
                           int64_t rows, int64_t cols, float* loss, float* workspace,
                           cudaStream_t stream);
void softmax_cross_entropy(const float* logits, const int32_t* labels, float* dlogits,
                           int64_t rows, int64_t cols, float* loss, float* workspace,
                           cudaStream_t stream);

}  // namespace fastdl::cuda
