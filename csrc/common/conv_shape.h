#pragma once
// The geometry of a 2-D convolution (NHWC x, HWIO w, resolved strides, padding and dilation),
// and the arrays' shapes against it, checked once: the entry points of both extensions call
// it, so a bad geometry gets the same ValueError on the CPU and on the GPU.
#include <array>
#include <cstdint>
#include <string>

#include "common/array_view.h"
#include "fastdl/activation.h"
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

// ValueError unless `a` is 4-D: images (batch, height, width, channels), with a hint for a 3-D
// array, which lacks an axis.
void require_image(const std::string& op, const char* name, const ArrayView& a);

// ValueError unless `a` is 4-D: weights (kernel_h, kernel_w, in_channels, out_channels).
void require_kernel(const std::string& op, const char* name, const ArrayView& a);

// The sizes of a 4-D array (checked by require_image or require_kernel).
ConvDims conv_dims(const ArrayView& a);

// ValueError unless dy has the output shape of s, (N, OH, OW, CO).
void require_dy(const std::string& op, const ArrayView& dy, const ConvShape& s);

// ValueError unless the bias b holds `channels` values, one per output channel; b is nullptr
// when the argument could not be read as an array at all.
void require_bias_shape(const std::string& op, const ArrayView* b, int64_t channels);

// ValueError when act (named `activation`) is not none and its output was not given: the
// weight gradient applies act' from it.
void require_activation_output(const std::string& op, Activation act,
                               const std::string& activation, bool given);

}  // namespace fastdl::bindings
