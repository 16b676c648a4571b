// Convolution then max pooling (fastdl/conv_pool.h). The fused path threads over pooled rows
// forward (each computes the convolution rows its window covers into the thread's scratch and
// pools them there) and over convolution rows backward (each row's gradient is unpooled into
// scratch and goes straight into the direct kernel's weight gradient).
#include "fastdl/conv_pool.h"

#include <algorithm>
#include <vector>

#include "conv/blocking.h"
#include "conv/direct.h"
#include "conv/kernels.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "pool/kernels.h"
#include "runtime/scratch.h"

namespace fastdl {
namespace {

// The convolution rows [first, last) of pooled row `row`'s window (flat over N, OH).
struct WindowRows {
  int64_t first, last;
};

WindowRows window_rows(const ConvShape& s, const Pool2dShape& p, int64_t row) {
  const int64_t n = row / p.out_height, top = (row % p.out_height) * p.stride_h - p.pad_top;
  return {n * s.OH + std::max<int64_t>(top, 0), n * s.OH + std::min(top + p.pool_h, s.OH)};
}

// Whether some window covers convolution row h (of its image): rows that none covers (the
// last rows, when a 'valid' window does not fit there) get no gradient.
bool covered(const Pool2dShape& p, int64_t h) {
  const int64_t from_top = h + p.pad_top;
  const int64_t last_window = std::min(from_top / p.stride_h, p.out_height - 1);
  return last_window >= 0 && from_top - last_window * p.stride_h < p.pool_h;
}

Scratch& fused_scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

template <class T>
void conv2d_max_pool2d_forward(const ConvShape& s, const Pool2dShape& p, const T* x, const T* w,
                               const T* b, Activation act, T* y, int32_t* argmax) {
  if (!uses_direct_kernel(s)) {
    std::vector<T> conv(static_cast<size_t>(s.pixels() * s.CO));
    conv2d_forward<T>(s, x, w, b, act, conv.data());
    max_pool2d_forward<T>(conv.data(), y, argmax, p);
    return;
  }
  const int64_t pooled_rows = p.batch * p.out_height, row_size = s.OW * s.CO;
  // Each thread's padded input rows, then its convolution rows, each on whole cache lines.
  const int64_t padded = whole_lines<T>(s.KH * direct_kernel_span(s));
  const int64_t per_thread = padded + whole_lines<T>(p.pool_h * row_size);
  const int threads = threads_for_blocks(pooled_rows, p.pool_h * s.OW * s.patch() * s.CO);
  const int64_t packed_size = whole_lines<T>(direct_packed_weights_size(s));
  T* packed = fused_scratch().get<T>(packed_size + per_thread * threads);
  FASTDL_DISPATCH(conv_single_channel_pack_weights<T>(s, w, packed));
  parallel_pieces(threads, pooled_rows, [&](int t, int64_t first, int64_t last) {
    T* own = packed + packed_size + t * per_thread;
    T* rows = own + padded;
    for (int64_t row = first; row < last; ++row) {
      const WindowRows window = window_rows(s, p, row);
      FASTDL_DISPATCH(conv_single_channel_rows<T>(s, x, packed, b, act, rows, window.first,
                                                  window.last, own));
      FASTDL_DISPATCH(
          max_pool2d_row_from<T>(rows, window.first % s.OH, y, argmax, p, row));
    }
  });
}

template <class T>
void conv2d_max_pool2d_backward(const ConvShape& s, const Pool2dShape& p, const T* x,
                                const T* w, const T* dy, const T* pooled,
                                const int32_t* argmax, Activation act, T* dx, T* dw, T* db) {
  // The gradient of the activation's input at each window's maximum: small, pooled-sized.
  T* g = fused_scratch().get<T>(p.output_size());
  activation_backward<T>(act, dy, pooled, g, p.output_size(), T(0));
  if (dw && !dx && uses_direct_kernel(s)) {
    const int64_t row_size = s.OW * s.CO;
    direct_weight_gradient<T>(s, x, dw, db, row_size, [&](int64_t r, T* scratch) -> const T* {
      if (!covered(p, r % s.OH)) return nullptr;
      FASTDL_DISPATCH(max_pool2d_backward_row_to<T>(g, argmax, p, r, scratch));
      return scratch;
    });
    return;
  }
  std::vector<T> dconv(static_cast<size_t>(s.pixels() * s.CO));
  max_pool2d_backward<T>(g, argmax, dconv.data(), p);
  if (dx) conv2d_backward_input<T>(s, dconv.data(), w, dx);
  if (dw) {
    conv2d_backward_weight<T>(s, x, dconv.data(), dw, db);
  } else if (db) {
    std::fill(db, db + s.CO, T(0));
    for (int64_t i = 0; i < s.pixels(); ++i)
      for (int64_t c = 0; c < s.CO; ++c) db[c] += dconv[i * s.CO + c];
  }
}

#define FASTDL_INSTANTIATE_CONV_POOL(T)                                                        \
  template void conv2d_max_pool2d_forward<T>(const ConvShape&, const Pool2dShape&, const T*,   \
                                             const T*, const T*, Activation, T*, int32_t*);    \
  template void conv2d_max_pool2d_backward<T>(const ConvShape&, const Pool2dShape&, const T*,  \
                                              const T*, const T*, const T*, const int32_t*,    \
                                              Activation, T*, T*, T*);
FASTDL_INSTANTIATE_CONV_POOL(float)
FASTDL_INSTANTIATE_CONV_POOL(double)
#undef FASTDL_INSTANTIATE_CONV_POOL

}  // namespace fastdl
