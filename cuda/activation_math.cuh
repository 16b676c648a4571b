#pragma once
// The activations and their derivatives for one float, on the device: used by the elementwise
// kernels and by the epilogues of the matrix product and the convolution. The formulas and the
// conventions at the kinks are those of the CPU kernels (csrc/cpu/activation/vector_math.h).
#include <cuda_runtime.h>

#include <type_traits>

#include "fastdl/activation.h"

namespace fastdl::cuda {

constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kGeluCubic = 0.044715f;
// Beyond |x| = 40 gelu is x or 0 to float precision; clamping keeps x^3 finite.
constexpr float kGeluSaturation = 40.0f;

__device__ inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

// (1 + tanh(u)) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3), computed as sigmoid(2u).
__device__ inline float gelu_tanh_gate(float x) {
  return sigmoidf(x * fmaf(x * x, 2 * kSqrt2OverPi * kGeluCubic, 2 * kSqrt2OverPi));
}

__device__ inline float normal_cdf(float x) { return 0.5f * erfcf(x * -0.70710678118654752f); }

__device__ inline float activate(Activation act, float x, float alpha) {
  switch (act) {
    case Activation::none:
      return x;
    case Activation::relu:
      return x > 0.0f ? x : (x != x ? x : 0.0f);
    case Activation::leaky_relu:
      return x > 0.0f ? x : x * alpha;
    case Activation::sigmoid:
      return sigmoidf(x);
    case Activation::tanh:
      return tanhf(x);
    case Activation::step:
      return x != x ? x : (x > 0.0f ? 1.0f : 0.0f);
    case Activation::gelu:
      return x * normal_cdf(fminf(fmaxf(x, -kGeluSaturation), kGeluSaturation));
    case Activation::gelu_tanh:
      return x * gelu_tanh_gate(fminf(fmaxf(x, -kGeluSaturation), kGeluSaturation));
  }
  return x;
}

// dy * act'(.), with `s` the forward output for sigmoid and tanh and the forward input
// otherwise (relu also accepts its output). At the kinks the derivative is taken from the left;
// a NaN in s gives NaN.
__device__ inline float activate_grad(Activation act, float dy, float s, float alpha) {
  switch (act) {
    case Activation::none:
      return dy;
    case Activation::relu:
      return s != s ? s : (s > 0.0f ? dy : 0.0f);
    case Activation::leaky_relu:
      return s != s ? s : (s > 0.0f ? dy : dy * alpha);
    case Activation::sigmoid:
      return dy * (s - s * s);
    case Activation::tanh:
      return dy * fmaf(-s, s, 1.0f);
    case Activation::step:
      return s != s ? s : 0.0f;
    case Activation::gelu: {
      if (s != s) return s;
      const float x = fminf(fmaxf(s, -kGeluSaturation), kGeluSaturation);
      const float density = expf(-0.5f * x * x) * 0.39894228040143268f;
      return dy * fmaf(x, density, normal_cdf(x));
    }
    case Activation::gelu_tanh: {
      if (s != s) return s;
      const float x = fminf(fmaxf(s, -kGeluSaturation), kGeluSaturation);
      const float g = gelu_tanh_gate(x);
      const float du2 = fmaf(x * x, 6 * kSqrt2OverPi * kGeluCubic, 2 * kSqrt2OverPi);
      return dy * fmaf(x * (g - g * g), du2, g);
    }
  }
  return dy;
}

// Calls f(std::integral_constant<Activation, act>{}): one instantiation per activation.
template <class F>
void with_activation(Activation act, F&& f) {
  switch (act) {
    case Activation::none: return f(std::integral_constant<Activation, Activation::none>{});
    case Activation::relu: return f(std::integral_constant<Activation, Activation::relu>{});
    case Activation::leaky_relu:
      return f(std::integral_constant<Activation, Activation::leaky_relu>{});
    case Activation::sigmoid: return f(std::integral_constant<Activation, Activation::sigmoid>{});
    case Activation::tanh: return f(std::integral_constant<Activation, Activation::tanh>{});
    case Activation::step: return f(std::integral_constant<Activation, Activation::step>{});
    case Activation::gelu: return f(std::integral_constant<Activation, Activation::gelu>{});
    case Activation::gelu_tanh:
      return f(std::integral_constant<Activation, Activation::gelu_tanh>{});
  }
}

}  // namespace fastdl::cuda
