#pragma once
// A convolution whose output feeds only a max pooling (Keras's Conv2D then MaxPooling2D):
//
//   y = max_pool(act(conv(x, w) + b))
//
// computed exactly as conv2d_forward followed by max_pool2d_forward (the same values, the same
// argmax) but, when the convolution uses the direct kernel (one input channel: an image's first
// layer, whose output is large and cheap to compute), without the convolution's output ever
// being stored: each window's rows are computed into cache and pooled there. The backward
// likewise builds the convolution's output gradient one row at a time, from dy and the argmax,
// inside the weight gradient. Other convolutions run the two steps one after the other.
#include <cstdint>

#include "fastdl/activation.h"
#include "fastdl/conv.h"
#include "fastdl/pool.h"

namespace fastdl {

// y and argmax have p's output shape; p's input is the convolution's output (N, OH, OW, CO).
template <class T>
void conv2d_max_pool2d_forward(const ConvShape& s, const Pool2dShape& p, const T* x, const T* w,
                               const T* b, Activation act, T* y, int32_t* argmax);

// The gradients of sum(dy * y) with respect to x, w and b, each computed unless its pointer is
// nullptr. `pooled` and `argmax` are the forward's y and argmax: act' is taken from the pooled
// values, which are the activation's outputs where the gradient flows.
template <class T>
void conv2d_max_pool2d_backward(const ConvShape& s, const Pool2dShape& p, const T* x,
                                const T* w, const T* dy, const T* pooled,
                                const int32_t* argmax, Activation act, T* dx, T* dw, T* db);

}  // namespace fastdl
