#pragma once
// 2-D convolution on the GPU, float32: NHWC images, HWIO weights, the geometry of
// fastdl::ConvShape (csrc/include/fastdl/conv.h) and the names and argument order of the CPU
// kernels, plus the stream to launch on.
//
// Pixels and reduction positions are counted in 32 bits: the launchers assume N * OH * OW,
// N * H * W, KH * KW * C, KH * KW * CO, the padded height and width, the strides and the
// dilations below 2^30 (the bindings check it), which leaves room for a tile's overhang; element
// offsets are computed in 64 bits.
#include <cuda_runtime.h>

#include "fastdl/activation.h"
#include "fastdl/conv.h"

namespace fastdl::cuda {

// y = act(conv(x, w) + b); b may be nullptr. act is applied in the kernel's epilogue.
void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* b,
                    Activation act, float* y, cudaStream_t stream);

// dx = the gradient with respect to x of sum(dy * conv(x, w)); every element of dx is written.
void conv2d_backward_input(const ConvShape& s, const float* dy, const float* w, float* dx,
                           cudaStream_t stream);

// dw (and db, unless nullptr) = the gradients with respect to w and b of sum(dy * y) with
// y = act(conv(x, w) + b). When act is not none, `out` is y and act' is applied to dy as it is
// read (relu, sigmoid and tanh differentiate from their output), as in the CPU kernel.
void conv2d_backward_weight(const ConvShape& s, const float* x, const float* dy, float* dw,
                            float* db, Activation act, const float* out, cudaStream_t stream);

}  // namespace fastdl::cuda
