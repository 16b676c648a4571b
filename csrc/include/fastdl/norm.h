#pragma once
// Normalization of each row of a row-major matrix [rows, cols] by its own statistics (layer
// normalization and its relatives), float32 and float64, forward and backward.
//
// The statistics are taken in two passes over the row, each value first shifted by the row's
// first element: a row of values near 1e6 with a spread of 1 then loses nothing to the size of
// its mean (one pass of E[x^2] - E[x]^2, or x - mean with the mean rounded to float32, would
// lose most of its digits there).
#include <cstdint>

namespace fastdl {

enum class NormKind {
  // (x - mean) / sqrt(var + eps) * gamma + beta: layer normalization.
  layer,
  // x / sqrt(mean(x^2) + eps) * gamma: RMS normalization (beta must be null).
  rms,
  // x / sqrt(var + eps) * gamma: Keras's LayerNormalization(rms_scaling=True), which scales by
  // the variance but does not center (beta must be null).
  variance_scaling,
};

// y = the normalization of each row of x, scaled by gamma[cols] and shifted by beta[cols] where
// they are not null; rstd[rows] receives 1 / sqrt(var + eps) (or of mean(x^2) + eps), the
// statistic the backward pass takes.
template <class T>
void norm_forward(NormKind kind, const T* x, int64_t rows, int64_t cols, const T* gamma,
                  const T* beta, T eps, T* y, T* rstd);

// The gradients of norm_forward given dy and its rstd: dx (not null) and, where not null,
// dgamma[cols] and dbeta[cols], the sums over the rows. The sums are taken over fixed blocks
// of rows, then the blocks in order: their bits do not depend on the thread count.
template <class T>
void norm_backward(NormKind kind, const T* dy, const T* x, int64_t rows, int64_t cols,
                   const T* gamma, const T* rstd, T* dx, T* dgamma, T* dbeta);

}  // namespace fastdl
