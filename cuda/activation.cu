// Elementwise activations: memory-bound, so each thread moves float4s (16-byte transactions)
// through a grid-stride loop; the activation is a template parameter, not a switch per element.
// x and y (dy and dx) may be the same array: each element is read before it is written, by the
// same thread.
#include "activation.h"
#include "activation_math.cuh"
#include "common.cuh"

namespace fastdl::cuda {
namespace {

constexpr int kThreads = 256;

template <Activation A>
__global__ void forward_vec4(const float4* x, float4* y, int64_t n4,
                             float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n4;
       i += int64_t(gridDim.x) * blockDim.x) {
    float4 v = x[i];
    v.x = activate(A, v.x, alpha);
    v.y = activate(A, v.y, alpha);
    v.z = activate(A, v.z, alpha);
    v.w = activate(A, v.w, alpha);
    y[i] = v;
  }
}

template <Activation A>
__global__ void forward_scalar(const float* x, float* y, int64_t n,
                               float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    y[i] = activate(A, x[i], alpha);
  }
}

template <Activation A>
__global__ void backward_vec4(const float4* dy, const float4* __restrict__ s, float4* dx, int64_t n4, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n4;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float4 g = dy[i], v = s[i];
    dx[i] = make_float4(activate_grad(A, g.x, v.x, alpha), activate_grad(A, g.y, v.y, alpha),
                        activate_grad(A, g.z, v.z, alpha), activate_grad(A, g.w, v.w, alpha));
  }
}

template <Activation A>
__global__ void backward_scalar(const float* dy, const float* __restrict__ s, float* dx, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    dx[i] = activate_grad(A, dy[i], s[i], alpha);
  }
}

}  // namespace

void activation_forward(Activation act, const float* x, float* y, int64_t n, float alpha,
                        cudaStream_t stream) {
  if (n == 0) return;
  const bool vec = n % 4 == 0 && aligned16(x) && aligned16(y);
  with_activation(act, [&](auto tag) {
    constexpr Activation A = decltype(tag)::value;
    if (vec) {
      forward_vec4<A><<<grid_for(n / 4, kThreads), kThreads, 0, stream>>>(
          reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(y), n / 4, alpha);
    } else {
      forward_scalar<A><<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, y, n, alpha);
    }
  });
  CUDA_CHECK_LAUNCH();
}

void activation_backward(Activation act, const float* dy, const float* saved, float* dx,
                         int64_t n, float alpha, cudaStream_t stream) {
  if (n == 0) return;
  const bool vec = n % 4 == 0 && aligned16(dy) && aligned16(saved) && aligned16(dx);
  with_activation(act, [&](auto tag) {
    constexpr Activation A = decltype(tag)::value;
    if (vec) {
      backward_vec4<A><<<grid_for(n / 4, kThreads), kThreads, 0, stream>>>(
          reinterpret_cast<const float4*>(dy), reinterpret_cast<const float4*>(saved),
          reinterpret_cast<float4*>(dx), n / 4, alpha);
    } else {
      backward_scalar<A><<<grid_for(n, kThreads), kThreads, 0, stream>>>(dy, saved, dx, n, alpha);
    }
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace fastdl::cuda
