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

// The 4x4 tiles of s's output in one image: the Winograd algorithms' unit of work.
int64_t winograd_tiles(const ConvShape& s);

// dx and dw (and db, with dw) of the forward without activation, either of dx and dw nullptr;
// with both, each tile of dy is transformed once for the two. dx's tiles are over the output.
template <class T>
void conv2d_backward_winograd(const ConvShape& s, const T* x, const T* dy, const T* w, T* dx,
                              T* dw, T* db);

}  // namespace fastdl
