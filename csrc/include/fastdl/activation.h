#pragma once
// Elementwise activations, forward and backward, float32 and float64.
#include <cstdint>

namespace fastdl {

enum class Activation : int {
  none = 0,
  relu,
  leaky_relu,  // x if x > 0 else alpha * x
  sigmoid,
  tanh,
  step,       // Heaviside: 1 if x > 0 else 0; gradient 0
  gelu,       // x * Phi(x), exact (erf)
  gelu_tanh,  // the tanh approximation of gelu
};

// y[i] = act(x[i]) for i < n; x and y may alias.
template <class T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T alpha);

// dx[i] = dy[i] * act'(.) for i < n. `saved` is the forward output y when
// activation_backward_uses_output(act), else the forward input x. dx may alias dy.
template <class T>
void activation_backward(Activation act, const T* dy, const T* saved, T* dx, int64_t n, T alpha);

// sigmoid and tanh differentiate from their output, which is what a fused layer keeps.
// relu also works from its output (y > 0 exactly when x > 0).
constexpr bool activation_backward_uses_output(Activation act) {
  return act == Activation::sigmoid || act == Activation::tanh;
}

}  // namespace fastdl
