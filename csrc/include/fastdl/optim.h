#pragma once
// Parameter updates: axpy, and the optimizer steps that update every parameter of a model in
// one call (SGD, Adam/AdamW, RMSprop with Keras 3's formulas).
#include <cstdint>
#include <vector>

namespace fastdl {

// y[i] += alpha * x[i] for i < n: the plain SGD step (alpha = -lr) and the in-place add of
// Tensor.add_. x and y must not overlap unless they are the same array.
template <class T>
void axpy(int64_t n, T alpha, const T* x, T* y);

// One parameter of a fused step: the parameter, its gradient and up to three state arrays, all
// contiguous, of `size` elements of one dtype (float64 when is_double, else float32). Which
// state slots an optimizer uses is given at its step function; unused ones are null. The
// gradient is only read. Distinct tensors must not overlap.
struct OptimTensor {
  void* param;
  const void* grad;
  void* state[3];
  int64_t size;
  bool is_double;
};

// Gradient clipping applied before the update, with Keras's semantics; at most one is > 0
// (0 means off). value: each element clamped to [-value, value]. norm: each gradient whose L2
// norm exceeds `norm` is scaled down to it. global_norm: all gradients scaled by
// min(1, global_norm / joint L2 norm).
//
// Non-finite gradients under the norm modes: a NaN makes the norm NaN and so every element it
// scales (the variable's gradient for `norm`, all gradients for `global_norm`) becomes NaN; an
// infinite norm caused by infinite elements clips to the limit direction: those elements become
// +-1, the finite ones 0, and the result is scaled to the clip norm. (A norm that overflows
// with finite elements only is recomputed with scaling, and clips as usual.)
struct GradClip {
  double value = 0;
  double norm = 0;
  double global_norm = 0;
};

// Every step below first applies decoupled weight decay when weight_decay != 0:
// p -= learning_rate * weight_decay * p, then the optimizer's update with the clipped gradient.

// state[0]: the velocity m (only when momentum != 0).
//   momentum == 0: p -= lr * g
//   otherwise:     m = momentum * m - lr * g; p += m  (nesterov: p += momentum * m - lr * g)
struct SgdOptions {
  double learning_rate = 0.01;
  double momentum = 0;
  bool nesterov = false;
  double weight_decay = 0;
};

// state[0]: m, state[1]: v, state[2]: v_hat (only when amsgrad). `step` is t >= 1:
//   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//   m += (g - m) * (1 - beta_1); v += (g^2 - v) * (1 - beta_2)
//   amsgrad: v_hat = max(v_hat, v), used in place of v
//   p -= alpha * m / (sqrt(v) + epsilon)
struct AdamOptions {
  double learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  int64_t step = 1;
  double weight_decay = 0;
};

// state[0]: velocity v, state[1]: momentum buffer (only when momentum > 0), state[2]: average
// gradient a (only when centered).
//   v = rho * v + (1 - rho) * g^2
//   centered: a = rho * a + (1 - rho) * g; d = v - a^2 + epsilon; else d = v + epsilon
//   inc = lr * g / sqrt(d)
//   momentum > 0: mom = momentum * mom + inc; p -= mom; else p -= inc
struct RmspropOptions {
  double learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0;
  double epsilon = 1e-7;
  bool centered = false;
  double weight_decay = 0;
};

// One optimizer step over all `tensors`, split by elements across the threads (small totals stay
// on the calling thread). The caller has validated sizes, dtypes and state slots.
void sgd_step(const std::vector<OptimTensor>& tensors, const SgdOptions& options,
              const GradClip& clip);
void adam_step(const std::vector<OptimTensor>& tensors, const AdamOptions& options,
               const GradClip& clip);
void rmsprop_step(const std::vector<OptimTensor>& tensors, const RmspropOptions& options,
                  const GradClip& clip);

}  // namespace fastdl
