// Parameter updates. axpy splits one array into pieces that the threads take as they come. The
// optimizer steps see all parameters as one concatenated range of elements cut into equal
// shares (a share may cover the end of one tensor and the start of the next), so that a model
// whose parameters are one large matrix and a few small vectors still splits evenly. Clipping
// by norm needs every norm before any update: the threads sum squares over the shares, the
// sums decide every tensor's clipping once, and then the shares are updated.
#include "fastdl/optim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fastdl/isa.h"
#include "fastdl/denormals.h"
#include "fastdl/parallel.h"
#include "optim/kernels.h"

namespace fastdl {
namespace {

// Elements per thread below which one thread is faster: a memory-bound pass over 16k floats
// takes a few microseconds, about what waking a second thread costs.
constexpr int64_t kGrain = 16 * 1024;

// Thread boundaries inside a tensor fall on multiples of this many elements (64 bytes of
// float32), so that two threads never write the same cache line.
constexpr int64_t kAlign = 16;

// The most shares an optimizer step is cut into (see fused_step).
constexpr int64_t kMaxShares = 64;

// The clipping of one tensor's gradient, in double until the kernel gets it.
struct Prep {
  GradMode mode = GradMode::plain;
  double a = 0;
};

template <class T>
GradPrep<T> typed(const Prep& p) {
  return {p.mode, static_cast<T>(p.a)};
}

// A point in the concatenation of the tensors: element `index` of tensor `tensor`.
struct Cut {
  size_t tensor;
  int64_t index;
};

// The tensors as one range of elements, and its split into equal shares.
class Layout {
 public:
  explicit Layout(const std::vector<OptimTensor>& tensors) : tensors_(tensors) {
    offsets_.reserve(tensors.size() + 1);
    int64_t total = 0;
    offsets_.push_back(0);
    for (const OptimTensor& t : tensors) offsets_.push_back(total += t.size);
  }

  int64_t total() const { return offsets_.back(); }

  // Where share `t` of `shares` starts (t == shares: the end).
  Cut cut(int t, int shares) const {
    if (t <= 0) return {0, 0};
    if (t >= shares) return {tensors_.size(), 0};
    const int64_t pos = total() / shares * t + total() % shares * t / shares;
    // The last tensor starting at or before pos (skips empty tensors).
    const size_t i = static_cast<size_t>(
        std::upper_bound(offsets_.begin(), offsets_.end(), pos) - offsets_.begin() - 1);
    const int64_t local = (pos - offsets_[i] + kAlign - 1) / kAlign * kAlign;
    if (local >= tensors_[i].size) return {i + 1, 0};
    return {i, local};
  }

  // Calls f(i, begin, end) for each non-empty part of a tensor in [from, to).
  template <class F>
  void for_each_piece(Cut from, Cut to, F&& f) const {
    for (size_t i = from.tensor; i < tensors_.size() && i <= to.tensor; ++i) {
      const int64_t begin = i == from.tensor ? from.index : 0;
      const int64_t end = i == to.tensor ? to.index : tensors_[i].size;
      if (begin < end) f(i, begin, end);
    }
  }

 private:
  const std::vector<OptimTensor>& tensors_;
  std::vector<int64_t> offsets_;
};

template <class T>
const T* grad_of(const OptimTensor& t) {
  return static_cast<const T*>(t.grad);
}

template <class T>
double sum_squares(const OptimTensor& t, int64_t begin, int64_t end) {
  return FASTDL_DISPATCH(sum_squares_kernel<T>(end - begin, grad_of<T>(t) + begin));
}

// The rare cases, on one thread: counting infinite elements, and the norm of gradients whose
// sum of squares overflowed although every element is finite.
template <class T>
int64_t count_inf(const OptimTensor& t) {
  const T* g = grad_of<T>(t);
  int64_t k = 0;
  for (int64_t i = 0; i < t.size; ++i) k += std::isinf(g[i]) ? 1 : 0;
  return k;
}

template <class T>
double max_abs(const OptimTensor& t) {
  const T* g = grad_of<T>(t);
  double m = 0;
  for (int64_t i = 0; i < t.size; ++i) m = std::max(m, std::fabs(static_cast<double>(g[i])));
  return m;
}

template <class T>
double scaled_sum_squares(const OptimTensor& t, double scale) {
  const T* g = grad_of<T>(t);
  double s = 0;
  for (int64_t i = 0; i < t.size; ++i) {
    const double x = static_cast<double>(g[i]) / scale;
    s += x * x;
  }
  return s;
}

// The clipping of the gradients of tensors[first, last) that share one norm limit `limit`, from
// their sum of squares.
Prep clip_by_norm(const std::vector<OptimTensor>& tensors, size_t first, size_t last,
                  double sum_sq, double limit) {
  if (std::isnan(sum_sq)) return {GradMode::scale, sum_sq};  // a NaN element: NaN throughout
  double norm;
  if (std::isinf(sum_sq)) {
    int64_t infinite = 0;
    for (size_t i = first; i < last; ++i) {
      infinite += tensors[i].is_double ? count_inf<double>(tensors[i])
                                       : count_inf<float>(tensors[i]);
    }
    if (infinite > 0) {
      return {GradMode::inf_sign, limit / std::sqrt(static_cast<double>(infinite))};
    }
    // Finite elements whose squares overflowed: norm = m * ||g / m|| with m the largest |g|.
    double m = 0;
    for (size_t i = first; i < last; ++i) {
      m = std::max(m, tensors[i].is_double ? max_abs<double>(tensors[i])
                                           : max_abs<float>(tensors[i]));
    }
    double s = 0;
    for (size_t i = first; i < last; ++i) {
      s += tensors[i].is_double ? scaled_sum_squares<double>(tensors[i], m)
                                : scaled_sum_squares<float>(tensors[i], m);
    }
    norm = m * std::sqrt(s);
  } else {
    norm = std::sqrt(sum_sq);
  }
  if (!(norm > limit)) return {};
  return {GradMode::scale, limit / norm};
}

// One optimizer step: the clipping decisions, then update(tensor, begin, end, prep) over every
// share (any thread may take any share). `update` must be safe to call
// concurrently on disjoint ranges.
template <class Update>
void fused_step(const std::vector<OptimTensor>& tensors, const GradClip& clip, Update&& update) {
  const size_t n = tensors.size();
  const Layout layout(tensors);
  const bool by_norm = clip.norm > 0 || clip.global_norm > 0;
  const int threads = threads_for(layout.total(), kGrain);
  // Shares of about kGrain elements or more, taken by the threads as they come: a thread that
  // the machine holds up (its core shared with another library's spinning thread) leaves the
  // shares it has not started to the others. Their number depends on the sizes only, so that
  // the sums of squares, added share by share, are the same for any thread count.
  const int shares =
      static_cast<int>(std::clamp<int64_t>(layout.total() / kGrain, 1, kMaxShares));
  auto join = [](int) {};
  auto share_range = [&](int64_t t, auto&& each) {
    const Cut from = layout.cut(static_cast<int>(t), shares),
              to = layout.cut(static_cast<int>(t) + 1, shares);
    layout.for_each_piece(from, to, each);
  };
  // The clipping of each tensor's gradient.
  std::vector<Prep> preps(
      n, clip.value > 0 ? Prep{GradMode::clamp, clip.value} : Prep{GradMode::plain, 0.0});
  if (by_norm) {
    // First every share's sums of squares (per share and tensor), then, once, the clipping
    // they decide, added up in share order whatever thread computed each.
    std::vector<double> partial(static_cast<size_t>(shares) * n, 0.0);
    auto sums = [&](int, int64_t t) {
      const FlushDenormalsScope flush_denormals;
      double* mine = partial.data() + static_cast<size_t>(t) * n;
      share_range(t, [&](size_t i, int64_t begin, int64_t end) {
        mine[i] += tensors[i].is_double ? sum_squares<double>(tensors[i], begin, end)
                                        : sum_squares<float>(tensors[i], begin, end);
      });
    };
    run_chunks(shares, threads, join, sums);
    const FlushDenormalsScope flush_denormals;  // as the shares read the gradients
    if (clip.global_norm > 0) {
      double total = 0;
      for (double s : partial) total += s;
      std::fill(preps.begin(), preps.end(),
                clip_by_norm(tensors, 0, n, total, clip.global_norm));
    } else {
      for (size_t i = 0; i < n; ++i) {
        double s = 0;
        for (int k = 0; k < shares; ++k) s += partial[static_cast<size_t>(k) * n + i];
        preps[i] = clip_by_norm(tensors, i, i + 1, s, clip.norm);
      }
    }
  }
  auto step = [&](int, int64_t t) {
    const FlushDenormalsScope flush_denormals;
    share_range(t, [&](size_t i, int64_t begin, int64_t end) {
      update(tensors[i], begin, end, preps[i]);
    });
  };
  run_chunks(shares, threads, join, step);
}

template <class T>
T* slot(const OptimTensor& t, int k, int64_t begin) {
  return t.state[k] ? static_cast<T*>(t.state[k]) + begin : nullptr;
}

template <class T>
SgdConstants<T> sgd_constants(const SgdOptions& o) {
  return {static_cast<T>(o.learning_rate), static_cast<T>(o.momentum),
          static_cast<T>(o.learning_rate * o.weight_decay), o.momentum != 0, o.nesterov};
}

template <class T>
AdamConstants<T> adam_constants(const AdamOptions& o) {
  const double t = static_cast<double>(o.step);
  const double alpha =
      o.learning_rate * std::sqrt(1 - std::pow(o.beta_2, t)) / (1 - std::pow(o.beta_1, t));
  return {static_cast<T>(alpha), static_cast<T>(1 - o.beta_1), static_cast<T>(1 - o.beta_2),
          static_cast<T>(o.epsilon), static_cast<T>(o.learning_rate * o.weight_decay),
          o.amsgrad};
}

template <class T>
RmspropConstants<T> rmsprop_constants(const RmspropOptions& o) {
  return {static_cast<T>(o.learning_rate), static_cast<T>(o.rho), static_cast<T>(1 - o.rho),
          static_cast<T>(o.momentum), static_cast<T>(o.epsilon),
          static_cast<T>(o.learning_rate * o.weight_decay), o.momentum > 0, o.centered};
}

}  // namespace

template <class T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    FASTDL_DISPATCH(axpy_kernel<T>(end - begin, alpha, x + begin, y + begin));
  });
}

template void axpy<float>(int64_t, float, const float*, float*);
template void axpy<double>(int64_t, double, const double*, double*);

void sgd_step(const std::vector<OptimTensor>& tensors, const SgdOptions& options,
              const GradClip& clip) {
  const SgdConstants<float> kf = sgd_constants<float>(options);
  const SgdConstants<double> kd = sgd_constants<double>(options);
  fused_step(tensors, clip, [&](const OptimTensor& t, int64_t b, int64_t e, const Prep& prep) {
    if (t.is_double) {
      FASTDL_DISPATCH(sgd_kernel<double>(e - b, static_cast<double*>(t.param) + b,
                                         grad_of<double>(t) + b, slot<double>(t, 0, b), kd,
                                         typed<double>(prep)));
    } else {
      FASTDL_DISPATCH(sgd_kernel<float>(e - b, static_cast<float*>(t.param) + b,
                                        grad_of<float>(t) + b, slot<float>(t, 0, b), kf,
                                        typed<float>(prep)));
    }
  });
}

void adam_step(const std::vector<OptimTensor>& tensors, const AdamOptions& options,
               const GradClip& clip) {
  const AdamConstants<float> kf = adam_constants<float>(options);
  const AdamConstants<double> kd = adam_constants<double>(options);
  fused_step(tensors, clip, [&](const OptimTensor& t, int64_t b, int64_t e, const Prep& prep) {
    if (t.is_double) {
      FASTDL_DISPATCH(adam_kernel<double>(e - b, static_cast<double*>(t.param) + b,
                                          grad_of<double>(t) + b, slot<double>(t, 0, b),
                                          slot<double>(t, 1, b), slot<double>(t, 2, b), kd,
                                          typed<double>(prep)));
    } else {
      FASTDL_DISPATCH(adam_kernel<float>(e - b, static_cast<float*>(t.param) + b,
                                         grad_of<float>(t) + b, slot<float>(t, 0, b),
                                         slot<float>(t, 1, b), slot<float>(t, 2, b), kf,
                                         typed<float>(prep)));
    }
  });
}

void rmsprop_step(const std::vector<OptimTensor>& tensors, const RmspropOptions& options,
                  const GradClip& clip) {
  const RmspropConstants<float> kf = rmsprop_constants<float>(options);
  const RmspropConstants<double> kd = rmsprop_constants<double>(options);
  fused_step(tensors, clip, [&](const OptimTensor& t, int64_t b, int64_t e, const Prep& prep) {
    if (t.is_double) {
      FASTDL_DISPATCH(rmsprop_kernel<double>(e - b, static_cast<double*>(t.param) + b,
                                             grad_of<double>(t) + b, slot<double>(t, 0, b),
                                             slot<double>(t, 1, b), slot<double>(t, 2, b), kd,
                                             typed<double>(prep)));
    } else {
      FASTDL_DISPATCH(rmsprop_kernel<float>(e - b, static_cast<float*>(t.param) + b,
                                            grad_of<float>(t) + b, slot<float>(t, 0, b),
                                            slot<float>(t, 1, b), slot<float>(t, 2, b), kf,
                                            typed<float>(prep)));
    }
  });
}

}  // namespace fastdl
