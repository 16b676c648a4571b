// The direct convolution, for one input channel (an image's first layer): output rows split over
// threads, each computed by the direct kernels (direct_kernels.cpp) from the input rows under
// the kernel, the weights packed once per call; the weight gradient likewise, a partial sum per
// thread.
#include "conv/direct.h"

#include "activation/kernels.h"
#include "conv/blocking.h"
#include "conv/kernels.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"

namespace fastdl {

template <class T>
void conv2d_forward_direct(const ConvShape& s, const T* x, const T* w, const T* b,
                           Activation act, T* y) {
  const int64_t K = s.patch();
  const int64_t out_rows = s.N * s.OH, row_size = s.OW * s.CO;
  const int64_t padded = s.KH * direct_kernel_span(s);
  const int threads = threads_for_blocks(out_rows, s.OW * K * s.CO);
  const Buffers<T> buf = take_buffers<T>(direct_packed_weights_size(s), padded, threads, 0);
  FASTDL_DISPATCH(conv_single_channel_pack_weights<T>(s, w, buf.packed_weights));
  parallel_pieces(threads, out_rows, [&](int t, int64_t first, int64_t last) {
    FASTDL_DISPATCH(conv_single_channel_rows<T>(s, x, buf.packed_weights, b, act,
                                                y + first * row_size, first, last,
                                                buf.block(t)));
  });
}

template <class T>
void direct_weight_gradient(const ConvShape& s, const T* x, T* dw, T* db, int64_t row_scratch,
                            const RowGradient<T>& row_gradient) {
  // The row's gradient (row_scratch) after the padded input rows, on a cache line of its own.
  const int64_t padded = whole_lines<T>(s.KH * direct_kernel_span(s)), out_rows = s.N * s.OH;
  const int threads = threads_for_blocks(out_rows, s.OW * s.patch() * s.CO);
  summed_per_thread<T>(s, threads, out_rows, padded + row_scratch, dw, db,
                       [&](int64_t r, T* sum_w, T* sum_b, T* scratch) {
                         const T* dy_row = row_gradient(r, scratch + padded);
                         if (!dy_row) return;
                         FASTDL_DISPATCH(conv_single_channel_weight_grad_row<T>(
                             s, x, r, dy_row, sum_w, sum_b, scratch));
                       });
}

template <class T>
void conv2d_backward_weight_direct(const ConvShape& s, const T* x, const T* dy, T* dw, T* db,
                                   Activation act, const T* out) {
  const int64_t row_size = s.OW * s.CO;
  if (act == Activation::none) {
    direct_weight_gradient<T>(s, x, dw, db, 0, [&](int64_t r, T*) { return dy + r * row_size; });
    return;
  }
  // act' applied to one row at a time, while it is in cache.
  direct_weight_gradient<T>(s, x, dw, db, row_size, [&](int64_t r, T* scratch) {
    FASTDL_DISPATCH(activation_backward_kernel<T>(act, dy + r * row_size, out + r * row_size,
                                                  scratch, row_size, T(0), false));
    return static_cast<const T*>(scratch);
  });
}

#define FASTDL_INSTANTIATE_DIRECT(T)                                                          \
  template void conv2d_forward_direct<T>(const ConvShape&, const T*, const T*, const T*,      \
                                         Activation, T*);                                     \
  template void direct_weight_gradient<T>(const ConvShape&, const T*, T*, T*, int64_t,        \
                                          const RowGradient<T>&);                             \
  template void conv2d_backward_weight_direct<T>(const ConvShape&, const T*, const T*, T*,    \
                                                 T*, Activation, const T*);
FASTDL_INSTANTIATE_DIRECT(float)
FASTDL_INSTANTIATE_DIRECT(double)
#undef FASTDL_INSTANTIATE_DIRECT

}  // namespace fastdl
