// Parameter-update kernels, written once against Vec<T> and compiled once per ISA: included by
// optim_kernels.cpp (portable) and optim_kernels_avx2.cpp (-mavx2 -mfma). Not a public header.
#include "fastdl/simd.h"
#include "optim_kernels.h"

namespace fastdl {
namespace FASTDL_ISA_NS {

template <class T>
void axpy_kernel(int64_t n, T alpha, const T* x, T* y) {
  constexpr int W = Vec<T>::width;
  const Vec<T> a(alpha);
  int64_t i = 0;
  for (; i + W <= n; i += W) fma(a, Vec<T>::load(x + i), Vec<T>::load(y + i)).store(y + i);
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    fma(a, Vec<T>::load(x + i, rest), Vec<T>::load(y + i, rest)).store(y + i, rest);
  }
}

template void axpy_kernel<float>(int64_t, float, const float*, float*);
template void axpy_kernel<double>(int64_t, double, const double*, double*);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
