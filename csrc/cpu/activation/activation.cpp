// Elementwise activations: the array is split into one contiguous chunk per thread and each
// chunk goes to the kernel of the active ISA.
#include "fastdl/activation.h"

#include <stdexcept>
#include <string>

#include "activation/kernels.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "runtime/streaming.h"

namespace fastdl {
namespace {

// Elements per thread below which one thread is faster: waking a second thread costs a few
// microseconds, about what one thread needs for 32k elements of the cheapest activation.
constexpr int64_t kGrain = 32 * 1024;

// Rejects values outside the enum before any thread starts (an exception thrown inside a
// parallel region would terminate the process).
void check_activation(const char* op, Activation act) {
  switch (act) {
    case Activation::none:
    case Activation::relu:
    case Activation::leaky_relu:
    case Activation::sigmoid:
    case Activation::tanh:
    case Activation::step:
    case Activation::gelu:
    case Activation::gelu_tanh:
      return;
  }
  throw std::invalid_argument(std::string(op) + ": unknown activation value " +
                              std::to_string(static_cast<int>(act)));
}

}  // namespace

template <class T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T alpha) {
  check_activation("activation_forward", act);
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    FASTDL_DISPATCH(activation_forward_kernel<T>(act, x + begin, y + begin, end - begin, alpha,
                                                 stream_output<T>(n)));
  });
}

template <class T>
void activation_backward(Activation act, const T* dy, const T* saved, T* dx, int64_t n, T alpha) {
  check_activation("activation_backward", act);
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    FASTDL_DISPATCH(activation_backward_kernel<T>(act, dy + begin, saved + begin, dx + begin,
                                                  end - begin, alpha, stream_output<T>(n)));
  });
}

template void activation_forward<float>(Activation, const float*, float*, int64_t, float);
template void activation_forward<double>(Activation, const double*, double*, int64_t, double);
template void activation_backward<float>(Activation, const float*, const float*, float*, int64_t,
                                         float);
template void activation_backward<double>(Activation, const double*, const double*, double*,
                                          int64_t, double);

}  // namespace fastdl
