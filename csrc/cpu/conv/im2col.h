#pragma once
// The im2col algorithm, the general one: the output pixels are the rows of a GEMM whose left
// operand, the patches under the kernel window, is gathered one block of pixels at a time (the
// kernels of kernels.h). Internal to the CPU kernels.
#include "fastdl/activation.h"
#include "fastdl/conv.h"

namespace fastdl {

template <class T>
void conv2d_forward_im2col(const ConvShape& s, const T* x, const T* w, const T* b,
                           Activation act, T* y);

// dw = patches(x)^T @ dy (and db, unless nullptr, dy's column sums).
template <class T>
void conv2d_backward_weight_im2col(const ConvShape& s, const T* x, const T* dy, T* dw, T* db);

// dx = dy @ w^T, each row scattered back to where its patch was gathered from; then act(dx + b)
// (b may be nullptr), image by image as each is finished.
template <class T>
void conv2d_backward_input_im2col(const ConvShape& s, const T* dy, const T* w, T* dx,
                                  const T* b, Activation act);

}  // namespace fastdl
