// Softmax-family row kernels, written once against Vec<T>; CMake compiles this file once per
// ISA (generic, avx2, avx512), each copy in its own namespace.
//
// A row is traversed a few times (max, sum of exponentials, output); rows of the sizes a
// classifier has stay in L1/L2 between the passes, so each pass costs compute, not memory.
#include <cmath>
#include <limits>

#include "activation/vector_math.h"
#include "fastdl/simd.h"
#include "softmax/kernels.h"
#include "softmax/rows.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

template <class T>
inline void softmax_row(const T* x, T* y, int64_t n) {
  const T m = row_max(x, n);
  const T sum = exp_sum<true>(x, m, y, n);
  scale_row(y, T(1) / sum, n);
}

// log_softmax = (x - m) - log(sum): subtracting m first keeps the result exact near the
// maximum even when m is large (log(sum) is at most log(n)).
template <class T>
inline void log_softmax_row(const T* x, T* y, int64_t n) {
  const T m = row_max(x, n);
  const Vec<T> vm(m), log_sum(std::log(exp_sum<false>(x, m, static_cast<T*>(nullptr), n)));
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    store_lanes((load_lanes(x + i, lanes) - vm) - log_sum, y + i, lanes);
  });
}

template <class T>
inline void softmax_backward_row(const T* dy, const T* y, T* dx, int64_t n) {
  Vec<T> acc(T(0));
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    acc = fma(load_lanes(dy + i, lanes), load_lanes(y + i, lanes), acc);
  });
  const Vec<T> dot(acc.reduce_sum());
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    store_lanes((load_lanes(dy + i, lanes) - dot) * load_lanes(y + i, lanes), dx + i, lanes);
  });
}

template <class T>
inline void log_softmax_backward_row(const T* dy, const T* y, T* dx, int64_t n) {
  Vec<T> acc(T(0));
  for_each_vector<T>(n, [&](int64_t i, int lanes) { acc = acc + load_lanes(dy + i, lanes); });
  const Vec<T> total(acc.reduce_sum());
  for_each_vector<T>(n, [&](int64_t i, int lanes) {
    store_lanes(fnma(exp(load_lanes(y + i, lanes)), total, load_lanes(dy + i, lanes)), dx + i,
               lanes);
  });
}

}  // namespace

template <class T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t cols, bool log) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    if (log) {
      log_softmax_row(x, y, cols);
    } else {
      softmax_row(x, y, cols);
    }
  }
}

template <class T>
void softmax_backward_rows(const T* dy, const T* y, T* dx, int64_t rows, int64_t cols,
                           bool log) {
  for (int64_t r = 0; r < rows; ++r, dy += cols, y += cols, dx += cols) {
    if (log) {
      log_softmax_backward_row(dy, y, dx, cols);
    } else {
      softmax_backward_row(dy, y, dx, cols);
    }
  }
}

// loss = log(sum(exp(x - m))) + m - x[label]. With a gradient, the exponentials go straight
// into the gradient row and are scaled there: softmax * grad_scale, minus grad_scale at the
// label.
template <class T>
void cross_entropy_rows(const T* logits, const int64_t* labels, T* dlogits, int64_t rows,
                        int64_t cols, T grad_scale, double* row_loss) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = logits + r * cols;
    const int64_t label = labels[r];
    const T m = row_max(x, cols);
    T sum;
    if (dlogits) {
      T* d = dlogits + r * cols;
      sum = exp_sum<true>(x, m, d, cols);
      scale_row(d, grad_scale / sum, cols);
      d[label] -= grad_scale;
    } else {
      sum = exp_sum<false>(x, m, static_cast<T*>(nullptr), cols);
    }
    row_loss[r] = static_cast<double>(m - x[label]) + std::log(static_cast<double>(sum));
  }
}

template void softmax_rows<float>(const float*, float*, int64_t, int64_t, bool);
template void softmax_rows<double>(const double*, double*, int64_t, int64_t, bool);
template void softmax_backward_rows<float>(const float*, const float*, float*, int64_t, int64_t,
                                           bool);
template void softmax_backward_rows<double>(const double*, const double*, double*, int64_t,
                                            int64_t, bool);
template void cross_entropy_rows<float>(const float*, const int64_t*, float*, int64_t, int64_t,
                                        float, double*);
template void cross_entropy_rows<double>(const double*, const int64_t*, double*, int64_t,
                                         int64_t, double, double*);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
