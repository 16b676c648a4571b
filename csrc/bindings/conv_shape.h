#pragma once
// The geometry of a 2-D convolution (NHWC x, HWIO w, resolved strides, padding and dilation),
// checked once: the entry points of both extensions call it, so a bad geometry gets the same
// ValueError on the CPU and on the GPU.
#include <array>
#include <cstdint>
#include <string>

#include "fastdl/conv.h"

namespace fastdl::bindings {

using ConvDims = std::array<int64_t, 4>;     // (N, H, W, C) or (KH, KW, C, CO)
using ConvPair = std::array<int64_t, 2>;     // (height, width)
using ConvPadding = std::array<int64_t, 4>;  // top, bottom, left, right

// The output geometry of x (N, H, W, C) under a kernel (KH, KW, C, CO); ValueError naming `op`
// when the channels disagree, a stride, dilation or padding is out of range, the kernel is
// empty, or it does not fit in the padded input.
ConvShape make_shape(const std::string& op, const ConvDims& x, const ConvDims& w,
                     const ConvPair& strides, const ConvPadding& padding,
                     const ConvPair& dilation);

// "x has shape (...), w has shape (...)", for messages.
std::string conv_geometry_str(const ConvDims& x, const ConvDims& w);

}  // namespace fastdl::bindings
