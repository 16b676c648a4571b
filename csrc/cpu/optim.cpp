// Parameter updates: the array is split into one contiguous chunk per thread and each chunk
// goes to the kernel of the active ISA.
#include "fastdl/optim.h"

#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "optim_kernels.h"

namespace fastdl {
namespace {

// Elements per thread below which one thread is faster: a memory-bound pass over 16k floats
// takes a few microseconds, about what waking a second thread costs.
constexpr int64_t kGrain = 16 * 1024;

}  // namespace

template <class T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    FASTDL_DISPATCH(axpy_kernel<T>(end - begin, alpha, x + begin, y + begin));
  });
}

template void axpy<float>(int64_t, float, const float*, float*);
template void axpy<double>(int64_t, double, const double*, double*);

}  // namespace fastdl
