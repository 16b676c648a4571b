// Elementwise activation kernels, written once against Vec<T>; CMake compiles this file once per
// ISA (generic, avx2, avx512), each copy in its own namespace.
#include <cstdint>

#include "activation/kernels.h"
#include "activation/vector_math.h"
#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

// out[i] = f(src[i]...) for i < n, one vector at a time; the last partial vector goes through
// masked loads and stores, so nothing past n is read or written. Each element is loaded before
// it is stored, so `out` may be one of the sources. With `stream`, whole vectors from the first
// one aligned in `out` on are stored past the caches: an output larger than the caches would
// otherwise be read in before it is overwritten, a third more traffic for a one-input function.
template <class T, class F, class... Src>
inline void elementwise(int64_t n, T* out, bool stream, F f, const Src*... src) {
  constexpr int W = Vec<T>::width;
  int64_t i = 0;
  const uintptr_t address = reinterpret_cast<uintptr_t>(out);
  if (stream && address % sizeof(T) == 0) {
    const int lanes_past = static_cast<int>(address % sizeof(Vec<T>) / sizeof(T));
    const int head = lanes_past == 0 ? 0 : W - lanes_past;  // elements before an aligned one
    if (head < n) {
      if (head > 0) f(Vec<T>::load(src, head)...).store(out, head);
      for (i = head; i + W <= n; i += W) f(Vec<T>::load(src + i)...).stream(out + i);
      stream_fence();
    }
  }
  for (; i + W <= n; i += W) f(Vec<T>::load(src + i)...).store(out + i);
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    f(Vec<T>::load(src + i, rest)...).store(out + i, rest);
  }
}

}  // namespace

template <class T>
void activation_forward_kernel(Activation act, const T* x, T* y, int64_t n, T alpha,
                               bool stream) {
  with_activation(act, [&](auto tag) {
    constexpr Activation A = decltype(tag)::value;
    elementwise(n, y, stream, [alpha](Vec<T> v) { return activate<A>(v, alpha); }, x);
  });
}

template <class T>
void activation_backward_kernel(Activation act, const T* dy, const T* saved, T* dx, int64_t n,
                                T alpha, bool stream) {
  with_activation(act, [&](auto tag) {
    constexpr Activation A = decltype(tag)::value;
    elementwise(
        n, dx, stream, [alpha](Vec<T> g, Vec<T> s) { return activate_grad<A>(g, s, alpha); }, dy,
        saved);
  });
}

template void activation_forward_kernel<float>(Activation, const float*, float*, int64_t, float,
                                               bool);
template void activation_forward_kernel<double>(Activation, const double*, double*, int64_t,
                                                double, bool);
template void activation_backward_kernel<float>(Activation, const float*, const float*, float*,
                                                int64_t, float, bool);
template void activation_backward_kernel<double>(Activation, const double*, const double*,
                                                 double*, int64_t, double, bool);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
