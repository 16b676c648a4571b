#pragma once
// The tap-products algorithm, for convolutions to few output channels from many (a
// generator's last layer, 64 channels to 1): one product of every input pixel with every tap's
// weights, x (N*H*W, C) @ w (C, KH*KW*CO), then each output pixel sums the products of its
// taps, read where the taps fall. Gathering patches instead (im2col) copies KH*KW*C values per
// output pixel to multiply them by CO columns: with one column, the copy is the whole cost.
// Internal to the CPU kernels.
#include "fastdl/activation.h"
#include "fastdl/conv.h"

namespace fastdl {

// Few output channels from at least four times as many input channels, and a kernel larger
// than 1x1.
inline bool uses_tap_products(const ConvShape& s) {
  return s.CO <= 4 && s.C >= 4 * s.CO && !s.is_pointwise() && s.KH * s.KW > 1;
}

template <class T>
void conv2d_forward_taps(const ConvShape& s, const T* x, const T* w, const T* b, Activation act,
                         T* y);

}  // namespace fastdl
