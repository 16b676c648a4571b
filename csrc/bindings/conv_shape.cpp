// The geometry of a 2-D convolution checked once, with the same messages on both devices.
#include "conv_shape.h"

#include <pybind11/pybind11.h>

#include <string>

namespace fastdl::bindings {
namespace {

namespace py = pybind11;

std::string tuple_str(const int64_t* v, size_t n) {
  std::string s = "(";
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (n == 1 ? ",)" : ")");
}

}  // namespace

std::string conv_geometry_str(const ConvDims& x, const ConvDims& w) {
  return "x has shape " + tuple_str(x.data(), 4) + ", w has shape " + tuple_str(w.data(), 4);
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
    throw py::value_error(op + ": strides must be positive, got " + tuple_str(strides.data(), 2));
  }
  if (dilation[0] < 1 || dilation[1] < 1) {
    throw py::value_error(op + ": dilation must be positive, got " +
                          tuple_str(dilation.data(), 2));
  }
  for (int64_t p : padding) {
    if (p < 0) {
      throw py::value_error(op + ": padding must be >= 0, got " + tuple_str(padding.data(), 4) +
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
                          "); " + shapes + ", padding " + tuple_str(padding.data(), 4));
  }
  s.OH = (padded_h - span_h) / strides[0] + 1;
  s.OW = (padded_w - span_w) / strides[1] + 1;
  return s;
}

}  // namespace fastdl::bindings
