#pragma once
// The ISA-specific part of the parameter updates: one pass over a contiguous range, once per ISA
// (kernels.cpp compiled into fastdl::generic, fastdl::avx2 and fastdl::avx512); the split
// across threads and the clipping decisions (optim.cpp) are shared.
#include <cstdint>

namespace fastdl {

// What the update does to each gradient element g before using it (the clipping chosen for this
// tensor, see GradClip in fastdl/optim.h).
enum class GradMode {
  plain,     // g
  clamp,     // min(a, max(-a, g)); NaN stays NaN
  scale,     // g * a
  inf_sign,  // +a where g = +inf, -a where g = -inf, 0 elsewhere
};

template <class T>
struct GradPrep {
  GradMode mode = GradMode::plain;
  T a = 0;
};

// The per-step constants of each optimizer in the parameters' dtype (see fastdl/optim.h for the
// formulas). `decay` is learning_rate * weight_decay; 0 skips the decay (so that an infinite
// parameter never meets inf * 0).
template <class T>
struct SgdConstants {
  T lr, momentum, decay;
  bool use_momentum, nesterov;
};

template <class T>
struct AdamConstants {
  T alpha;                 // lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
  T one_minus_beta_1, one_minus_beta_2, epsilon, decay;
  bool amsgrad;
};

template <class T>
struct RmspropConstants {
  T lr, rho, one_minus_rho, momentum, epsilon, decay;
  bool use_momentum, centered;
};

#define FASTDL_DECLARE_OPTIM_KERNELS(isa)                                                       \
  namespace isa {                                                                               \
  template <class T>                                                                            \
  void axpy_kernel(int64_t n, T alpha, const T* x, T* y);                                       \
  /* Sum of g[i]^2 (float32 in blocks, each block's sum added in double); inf on overflow. */   \
  template <class T>                                                                            \
  double sum_squares_kernel(int64_t n, const T* g);                                             \
  /* m is null without momentum. */                                                            \
  template <class T>                                                                            \
  void sgd_kernel(int64_t n, T* p, const T* g, T* m, const SgdConstants<T>& k, GradPrep<T> gp); \
  /* v_hat is null without amsgrad. */                                                          \
  template <class T>                                                                            \
  void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, T* v_hat, const AdamConstants<T>& k, \
                   GradPrep<T> gp);                                                             \
  /* mom is null without momentum, avg without centering. */                                    \
  template <class T>                                                                            \
  void rmsprop_kernel(int64_t n, T* p, const T* g, T* v, T* mom, T* avg,                        \
                      const RmspropConstants<T>& k, GradPrep<T> gp);                            \
  }

FASTDL_DECLARE_OPTIM_KERNELS(generic)
FASTDL_DECLARE_OPTIM_KERNELS(avx2)
FASTDL_DECLARE_OPTIM_KERNELS(avx512)
#undef FASTDL_DECLARE_OPTIM_KERNELS

}  // namespace fastdl
