// The geometry of a 2-D convolution checked once, with the same messages on both devices.
#include "common/conv_shape.h"

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace fastdl::bindings {

std::string conv_geometry_str(const ConvDims& x, const ConvDims& w) {
  return "x has shape " + dims_str(x.data(), 4) + ", w has shape " + dims_str(w.data(), 4);
}

ConvShape make_shape(const std::string& op, const ConvDims& x, const ConvDims& w,
                     const ConvPair& strides, const ConvPadding& padding,
                     const ConvPair& dilation) {
  const std::string shapes = conv_geometry_str(x, w);
  if (x[3] != w[2]) {
    throw py::value_error(op + ": " + shapes + "; x has " + std::to_string(x[3]) +
                          " channels but w expects " + std::to_string(w[2]) +
                          " (w is (kernel_h, kernel_w, in_channels, out_channels))");
  }
  if (strides[0] < 1 || strides[1] < 1) {
    throw py::value_error(op + ": strides must be positive, got " + dims_str(strides.data(), 2));
  }
  if (dilation[0] < 1 || dilation[1] < 1) {
    throw py::value_error(op + ": dilation must be positive, got " +
                          dims_str(dilation.data(), 2));
  }
  for (int64_t p : padding) {
    if (p < 0) {
      throw py::value_error(op + ": padding must be >= 0, got " + dims_str(padding.data(), 4) +
                            " (top, bottom, left, right)");
    }
  }
  if (w[0] < 1 || w[1] < 1) throw py::value_error(op + ": empty kernel; " + shapes);
  ConvShape s{};
  s.N = x[0];
  s.H = x[1];
  s.W = x[2];
  s.C = x[3];
  s.KH = w[0];
  s.KW = w[1];
  s.CO = w[3];
  s.stride_h = strides[0];
  s.stride_w = strides[1];
  s.dilation_h = dilation[0];
  s.dilation_w = dilation[1];
  s.pad_top = padding[0];
  s.pad_left = padding[2];
  const int64_t span_h = dilation[0] * (w[0] - 1) + 1, span_w = dilation[1] * (w[1] - 1) + 1;
  const int64_t padded_h = x[1] + padding[0] + padding[1];
  const int64_t padded_w = x[2] + padding[2] + padding[3];
  if (padded_h < span_h || padded_w < span_w) {
    throw py::value_error(op + ": the kernel (" + std::to_string(span_h) + " x " +
                          std::to_string(span_w) + " with dilation) is larger than the padded "
                          "input (" + std::to_string(padded_h) + " x " + std::to_string(padded_w) +
                          "); " + shapes + ", padding " + dims_str(padding.data(), 4));
  }
  s.OH = (padded_h - span_h) / strides[0] + 1;
  s.OW = (padded_w - span_w) / strides[1] + 1;
  return s;
}

void require_image(const std::string& op, const char* name, const ArrayView& a) {
  if (a.ndim() == 4) return;
  std::string hint;
  if (a.ndim() == 3) {
    hint = "; a 3-D array is one image or a batch without a channel axis: add the missing axis "
           "(x[None] or x[..., None])";
  }
  throw py::value_error(op + ": " + name + " has shape " + a.shape_str() +
                        "; expected 4 dimensions (batch, height, width, channels)" + hint);
}

void require_kernel(const std::string& op, const char* name, const ArrayView& a) {
  if (a.ndim() == 4) return;
  throw py::value_error(op + ": " + name + " has shape " + a.shape_str() +
                        "; expected 4 dimensions (kernel_h, kernel_w, in_channels, "
                        "out_channels)");
}

ConvDims conv_dims(const ArrayView& a) { return {a.shape[0], a.shape[1], a.shape[2], a.shape[3]}; }

void require_dy(const std::string& op, const ArrayView& dy, const ConvShape& s) {
  const std::vector<int64_t> want{s.N, s.OH, s.OW, s.CO};
  if (dy.shape == want) return;
  throw py::value_error(op + ": dy has shape " + dy.shape_str() + "; expected " + dims_str(want));
}

void require_bias_shape(const std::string& op, const ArrayView* b, int64_t channels) {
  if (b && b->shape == std::vector<int64_t>{channels}) return;
  throw py::value_error(op + ": b has shape " + (b ? b->shape_str() : std::string("?")) +
                        "; expected (" + std::to_string(channels) +
                        ",), one per output channel");
}

void require_activation_output(const std::string& op, Activation act,
                               const std::string& activation, bool given) {
  if (act == Activation::none || given) return;
  throw py::value_error(op + ": activation '" + activation +
                        "' needs out, the activation's output");
}

}  // namespace fastdl::bindings
