#pragma once
// Winograd's algorithms for a 3x3 kernel with unit strides and dilation: F(4x4, 3x3) forward and
// its transpose F(3x3, 4x4) for the weight gradient, 4 times fewer products each, the products
// of transformed tiles as GEMMs and the transforms in the kernels of kernels.h. Internal to the
// CPU kernels.
#include "fastdl/activation.h"
#include "fastdl/conv.h"

namespace fastdl {

// Whether Winograd's algorithms apply to s and pay for their transforms.
bool winograd_applies(const ConvShape& s);

template <class T>
void conv2d_forward_winograd(const ConvShape& s, const T* x, const T* w, const T* b,
                             Activation act, T* y);

template <class T>
void conv2d_backward_weight_winograd(const ConvShape& s, const T* x, const T* dy, T* dw, T* db);

}  // namespace fastdl
