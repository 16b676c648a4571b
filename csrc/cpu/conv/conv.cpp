// The convolutions of fastdl/conv.h: which algorithm computes each, by the shape.
//
//   im2col.cpp    the general one: blocks of output pixels, their patches gathered into a
//                 per-thread buffer and multiplied by the weights with the GEMM micro-kernels
//                 (a 1x1 kernel with unit stride and no padding needs no patches)
//   direct.cpp    one input channel (an image's first layer): computed directly, pixel by
//                 pixel, its patches being a few scalars each
//   taps.cpp      few output channels from many (a generator's last layer): every input
//                 pixel times every tap's weights as one product, then each output pixel sums
//                 its taps' products (forward only)
//   winograd.cpp  3x3 kernels with unit strides and enough channels: Winograd's F(4x4, 3x3)
//                 forward, its transpose F(3x3, 4x4) for the weight gradient and F(4x4, 3x3)
//                 transposed for the input gradient (4 times fewer products each)
//
// The input gradient with unit strides is Winograd's transposed form where it has fewer tiles,
// else the forward of dy by the kernel turned 180 degrees, by whichever algorithm that forward
// takes; otherwise im2col's scatter.
#include "fastdl/conv.h"

#include <vector>

#include "conv/direct.h"
#include "conv/im2col.h"
#include "conv/taps.h"
#include "conv/winograd.h"
#include "fastdl/activation.h"
#include "fastdl/gemm.h"
#include "fastdl/parallel.h"

namespace fastdl {

template <class T>
void conv2d_forward(const ConvShape& s, const T* x, const T* w, const T* b, Activation act,
                    T* y) {
  if (winograd_applies(s)) {
    conv2d_forward_winograd(s, x, w, b, act, y);
    return;
  }
  if (uses_direct_kernel(s)) {
    conv2d_forward_direct(s, x, w, b, act, y);
    return;
  }
  if (uses_tap_products(s)) {
    conv2d_forward_taps(s, x, w, b, act, y);
    return;
  }
  conv2d_forward_im2col(s, x, w, b, act, y);
}

template <class T>
void conv2d_backward_weight(const ConvShape& s, const T* x, const T* dy, T* dw, T* db,
                            Activation act, const T* out) {
  if (uses_direct_kernel(s)) {
    conv2d_backward_weight_direct(s, x, dy, dw, db, act, out);
    return;
  }
  if (act != Activation::none) {
    // These paths read dy more than once: act' is applied first, in one pass.
    std::vector<T> activated(static_cast<size_t>(s.pixels() * s.CO));
    activation_backward<T>(act, dy, out, activated.data(), s.pixels() * s.CO, T(0));
    conv2d_backward_weight<T>(s, x, activated.data(), dw, db, Activation::none, nullptr);
    return;
  }
  if (winograd_applies(s)) {
    conv2d_backward_winograd<T>(s, x, dy, nullptr, nullptr, dw, db);
    return;
  }
  conv2d_backward_weight_im2col(s, x, dy, dw, db);
}

// With unit strides the input gradient is itself a convolution, of dy by the kernel turned
// by 180 degrees with its channel axes swapped, padded so that every input position sees the
// taps that read it: the forward path, whose patches are gathered (or which is Winograd's),
// instead of scattering patches of gradient into dx.
ConvShape turned_shape(const ConvShape& s) {
  ConvShape t = s;
  t.H = s.OH;
  t.W = s.OW;
  t.C = s.CO;
  t.CO = s.C;
  t.OH = s.H;
  t.OW = s.W;
  t.pad_top = s.dilation_h * (s.KH - 1) - s.pad_top;  // may be negative: then a plain offset
  t.pad_left = s.dilation_w * (s.KW - 1) - s.pad_left;
  return t;
}

template <class T>
void conv2d_backward_input_as_forward(const ConvShape& s, const T* dy, const T* w, T* dx,
                                      const T* b, Activation act) {
  const int64_t KH = s.KH, KW = s.KW, C = s.C, CO = s.CO;
  std::vector<T> turned(static_cast<size_t>(KH * KW * C * CO));
  for (int64_t kh = 0; kh < KH; ++kh)
    for (int64_t kw = 0; kw < KW; ++kw)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t co = 0; co < CO; ++co)
          turned[((kh * KW + kw) * CO + co) * C + c] =
              w[(((KH - 1 - kh) * KW + (KW - 1 - kw)) * C + c) * CO + co];
  conv2d_forward<T>(turned_shape(s), dy, turned.data(), b, act, dx);
}

// Winograd's transposed form tiles the output, the turned forward's the input: the first
// wins when it has fewer tiles (a valid convolution of a small image), or is the only one.
bool input_gradient_by_winograd(const ConvShape& s) {
  const ConvShape turned = turned_shape(s);
  return winograd_applies(s) &&
         (!winograd_applies(turned) || winograd_tiles(s) < winograd_tiles(turned));
}

template <class T>
void conv2d_backward_input(const ConvShape& s, const T* dy, const T* w, T* dx, const T* b,
                           Activation act) {
  // The forward product is C wide: too narrow for the micro-kernel's 16 columns with few input
  // channels (an image's), where scattering is faster. And unless it is Winograd's, it
  // multiplies over the whole input, the border that the forward's windows cover less often
  // included: on a small image that border is most of the work (measured: gathering wins on
  // 28x28 -> 26x26, loses on 13x13 -> 11x11 but for Winograd, and on 5x5 -> 3x3).
  const bool mostly_inside = s.H * s.W * 4 <= s.OH * s.OW * 5;
  const ConvShape turned = turned_shape(s);
  if (input_gradient_by_winograd(s)) {
    conv2d_backward_winograd<T>(s, nullptr, dy, w, dx, nullptr, nullptr);
    if (b != nullptr || act != Activation::none) {
      constexpr int64_t kRowsPerThread = 2048;
      parallel_for(s.N * s.H * s.W, kRowsPerThread, [&](int64_t first, int64_t last) {
        apply_epilogue_rows<T>(last - first, s.C, dx + first * s.C, s.C, b, act);
      }, 1);
    }
    return;
  }
  // A 1x1 kernel with unit stride and no padding is a plain product (dy @ w^T): im2col's.
  if (!s.is_pointwise() && s.stride_h == 1 && s.stride_w == 1 && s.C >= 16 &&
      (mostly_inside || winograd_applies(turned))) {
    conv2d_backward_input_as_forward(s, dy, w, dx, b, act);
    return;
  }
  conv2d_backward_input_im2col(s, dy, w, dx, b, act);
}

template <class T>
void conv2d_backward(const ConvShape& s, const T* x, const T* dy, const T* w, T* dx, T* dw,
                     T* db) {
  if (dx && dw && input_gradient_by_winograd(s)) {
    // Both by Winograd: one pass over the tiles, which transforms each tile of dy once.
    conv2d_backward_winograd<T>(s, x, dy, w, dx, dw, db);
    return;
  }
  if (dx) conv2d_backward_input<T>(s, dy, w, dx);
  if (dw) conv2d_backward_weight<T>(s, x, dy, dw, db);
}

#define FASTDL_INSTANTIATE_CONV(T)                                                            \
  template void conv2d_forward<T>(const ConvShape&, const T*, const T*, const T*, Activation, \
                                  T*);                                                        \
  template void conv2d_backward_weight<T>(const ConvShape&, const T*, const T*, T*, T*,       \
                                          Activation, const T*);                              \
  template void conv2d_backward_input<T>(const ConvShape&, const T*, const T*, T*, const T*,  \
                                         Activation);                                         \
  template void conv2d_backward<T>(const ConvShape&, const T*, const T*, const T*, T*, T*, T*);
FASTDL_INSTANTIATE_CONV(float)
FASTDL_INSTANTIATE_CONV(double)
#undef FASTDL_INSTANTIATE_CONV

}  // namespace fastdl
