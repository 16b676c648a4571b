#pragma once
// 2-D convolution on NHWC images with HWIO weights, as an implicit GEMM: the output pixels are
// the rows of a product whose left operand, the patches under the kernel window (im2col), is
// gathered one block of pixels at a time into a buffer the size of the L2 cache, never as a
// whole; the weights, (KH * KW * C) x CO in HWIO order, are the right operand as they are.
//
//   y[n, oh, ow, co] = act(b[co] + sum_{kh, kw, c} x[n, ih, iw, c] * w[kh, kw, c, co])
//   ih = oh * stride_h - pad_top + kh * dilation_h,  iw likewise; outside the image x is 0.
#include <cstdint>

#include "fastdl/activation.h"

namespace fastdl {

struct ConvShape {
  int64_t N, H, W, C;         // input
  int64_t KH, KW, CO;         // weights (KH, KW, C, CO)
  int64_t OH, OW;             // output (N, OH, OW, CO)
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;
  int64_t pad_top, pad_left;  // the padding after the image follows from OH and OW

  int64_t patch() const { return KH * KW * C; }  // the reduction length: one patch
  int64_t pixels() const { return N * OH * OW; }  // output pixels: the rows of the product
  // A 1x1 kernel over every pixel: the product is x @ w itself, no gathering.
  bool is_pointwise() const {
    return KH == 1 && KW == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
           pad_left == 0 && OH == H && OW == W;
  }
};

// y = act(conv(x, w) + b); b may be nullptr. All arrays C-contiguous.
template <class T>
void conv2d_forward(const ConvShape& s, const T* x, const T* w, const T* b, Activation act, T* y);

// dx = the gradient with respect to x of sum(dy * conv(x, w)); then, as the forward pass of a
// transposed convolution, dx = act(dx + b) when b (one value per input channel, or nullptr)
// or act is given.
template <class T>
void conv2d_backward_input(const ConvShape& s, const T* dy, const T* w, T* dx,
                           const T* b = nullptr, Activation act = Activation::none);

// dw (and db, unless nullptr) = the gradients with respect to w and b of sum(dy * y) with
// y = act(conv(x, w) + b); `out` is y, read when act is not none (relu, sigmoid and tanh
// differentiate from their output). A first layer, whose input needs no gradient, thus skips
// the separate pass that would apply act' to dy.
template <class T>
void conv2d_backward_weight(const ConvShape& s, const T* x, const T* dy, T* dw, T* db,
                            Activation act = Activation::none, const T* out = nullptr);

// dx and dw (and db, with dw) of conv2d_forward without activation, each unless nullptr: as
// conv2d_backward_input and conv2d_backward_weight, in one pass where both are wanted and
// Winograd's algorithms compute them.
template <class T>
void conv2d_backward(const ConvShape& s, const T* x, const T* dy, const T* w, T* dx, T* dw,
                     T* db);

}  // namespace fastdl
