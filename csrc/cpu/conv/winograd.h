#pragma once
// Winograd's algorithms for a 3x3 kernel with unit strides and dilation: F(4x4, 3x3) forward,
// F(3x3, 4x4) for the weight gradient and F(4x4, 3x3) transposed for the input gradient, 4 times
// fewer products each, the products
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

// The 4x4 tiles of s's output in one image: the Winograd algorithms' unit of work.
int64_t winograd_tiles(const ConvShape& s);

// dx of the forward, its tiles over the output (patches added into dx: threads own images).
template <class T>
void conv2d_backward_input_winograd(const ConvShape& s, const T* dy, const T* w, T* dx);

}  // namespace fastdl
