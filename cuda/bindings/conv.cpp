// _cuda.conv2d_forward, _cuda.conv2d_backward_input, _cuda.conv2d_backward_weight: NHWC
// images, HWIO weights, float32 GPU arrays, outputs passed in. The geometry arrives resolved,
// as for the CPU's entry points (padding as top, bottom, left, right amounts; Python turns
// 'same' and 'valid' into numbers), and is checked here with the CPU's messages.
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common.h"
#include "common/activation_names.h"
#include "common/checks.h"
#include "common/conv_shape.h"
#include "conv.h"

namespace fastdl::cuda::bindings {

using namespace fastdl::bindings;  // the checks both extensions share (csrc/common/)

namespace {

using Pair = ConvPair;
using Padding = ConvPadding;  // top, bottom, left, right
using Dims = ConvDims;

// The geometry of x (N, H, W, C) under a kernel (KH, KW, C, CO), checked as on the CPU, and
// within the kernels' 32-bit counts.
ConvShape make_shape(const std::string& op, const Dims& x, const Dims& w, const Pair& strides,
                     const Padding& padding, const Pair& dilation) {
  const ConvShape s = fastdl::bindings::make_shape(op, x, w, strides, padding, dilation);
  const int64_t padded_h = s.H + padding[0] + padding[1], padded_w = s.W + padding[2] + padding[3];
  // The kernels count pixels, patch positions and padded rows in 32 bits, with room for a
  // tile's overhang.
  for (int64_t v : {s.pixels(), s.N * s.H * s.W, s.patch(), s.KH * s.KW * s.CO, padded_h,
                    padded_w, strides[0], strides[1], dilation[0], dilation[1]}) {
    if (v >= int64_t(1) << 30) {
      throw py::value_error(op + ": " + conv_geometry_str(x, w) + " with strides " +
                            dims_str(strides.data(), 2) + ", padding " +
                            dims_str(padding.data(), 4) + " and dilation " +
                            dims_str(dilation.data(), 2) +
                            " is beyond the CUDA kernels, which take fewer than 2^30 pixels, " +
                            "patch positions and padded rows");
    }
  }
  return s;
}

// x and w of a forward (both float32 and 4-D) and their geometry.
ConvShape forward_shape(const std::string& op, const ArrayView& x, const ArrayView& w,
                        const Pair& strides, const Padding& padding, const Pair& dilation) {
  require_image(op, "x", x);
  require_kernel(op, "w", w);
  require_dtype(op, "x", x, DType::float32);
  require_dtype(op, "w", w, DType::float32);
  return make_shape(op, conv_dims(x), conv_dims(w), strides, padding, dilation);
}

std::string conv_str(const ConvShape& s) {
  const Dims x{s.N, s.H, s.W, s.C}, w{s.KH, s.KW, s.C, s.CO};
  return "x of shape " + dims_str(x.data(), 4) + " and w of shape " + dims_str(w.data(), 4);
}

// A float32 output of shape `shape`.
void require_output(const std::string& op, const char* name, const ArrayView& a,
                    const std::vector<int64_t>& shape, const ConvShape& s) {
  require_dtype(op, name, a, DType::float32);
  require_shape(op, name, a, shape, conv_str(s));
}

void forward_entry(const py::handle& x, const py::handle& w, const py::handle& bias,
                   const py::handle& out, const Pair& strides, const Padding& padding,
                   const Pair& dilation, const std::string& activation, std::uintptr_t stream) {
  const std::string op = "conv2d";
  const ArrayView xa = device_array(op, "x", x), wa = device_array(op, "w", w);
  const ConvShape s = forward_shape(op, xa, wa, strides, padding, dilation);
  const ArrayView ba = optional_device_array(op, "b", bias);
  if (!bias.is_none()) {
    require_bias_shape(op, &ba, s.CO);
    require_dtype(op, "b", ba, DType::float32);
  }
  const Activation act = parse_activation(op.c_str(), activation);
  const ArrayView ya = device_array(op, "out", out);
  require_output(op, "out", ya, {s.N, s.OH, s.OW, s.CO}, s);
  py::gil_scoped_release release;
  conv2d_forward(s, xa.data<float>(), wa.data<float>(), ba.data<float>(), act, ya.data<float>(),
                 as_stream(stream));
}

void backward_input_entry(const py::handle& dy, const py::handle& w, const py::handle& dx,
                          const Pair& strides, const Padding& padding, const Pair& dilation,
                          std::uintptr_t stream) {
  const std::string op = "conv2d_backward_input";
  const ArrayView dya = device_array(op, "dy", dy), wa = device_array(op, "w", w);
  const ArrayView dxa = device_array(op, "dx", dx);
  require_image(op, "dy", dya);
  require_kernel(op, "w", wa);
  require_image(op, "dx", dxa);
  require_dtype(op, "dy", dya, DType::float32);
  require_dtype(op, "w", wa, DType::float32);
  require_dtype(op, "dx", dxa, DType::float32);
  const ConvShape s = make_shape(op, conv_dims(dxa), conv_dims(wa), strides, padding, dilation);
  require_dy(op, dya, s);
  py::gil_scoped_release release;
  conv2d_backward_input(s, dya.data<float>(), wa.data<float>(), dxa.data<float>(),
                        as_stream(stream));
}

void backward_weight_entry(const py::handle& x, const py::handle& dy, const py::handle& dw,
                           const py::handle& db, const Pair& strides, const Padding& padding,
                           const Pair& dilation, const std::string& activation,
                           const py::handle& out, std::uintptr_t stream) {
  const std::string op = "conv2d_backward_weight";
  const ArrayView xa = device_array(op, "x", x), dya = device_array(op, "dy", dy);
  const ArrayView dwa = device_array(op, "dw", dw);
  require_image(op, "x", xa);
  require_image(op, "dy", dya);
  require_kernel(op, "dw", dwa);
  require_dtype(op, "x", xa, DType::float32);
  require_dtype(op, "dy", dya, DType::float32);
  const Dims w{dwa.dim(0), dwa.dim(1), xa.dim(3), dya.dim(3)};
  const ConvShape s = make_shape(op, conv_dims(xa), w, strides, padding, dilation);
  require_dy(op, dya, s);
  const Activation act = parse_activation(op.c_str(), activation);
  const ArrayView outa = optional_device_array(op, "out", out);
  require_activation_output(op, act, activation, !out.is_none());
  if (act != Activation::none) {
    require_dtype(op, "out", outa, DType::float32);
    require_same_shape(op, "dy", dya, "out", outa);
  }
  require_output(op, "dw", dwa, {s.KH, s.KW, s.C, s.CO}, s);
  const ArrayView dba = optional_device_array(op, "db", db);
  if (!db.is_none()) require_output(op, "db", dba, {s.CO}, s);
  py::gil_scoped_release release;
  conv2d_backward_weight(s, xa.data<float>(), dya.data<float>(), dwa.data<float>(),
                         dba.data<float>(), act,
                         act == Activation::none ? nullptr : outa.data<float>(),
                         as_stream(stream));
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d_forward", &forward_entry, py::arg("x"), py::arg("w"), py::arg("bias"),
        py::arg("out"), py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        py::arg("activation"), py::arg("stream"),
        R"(out = act(conv(x, w) + bias) for NHWC x and HWIO w, float32 GPU arrays. padding is
(top, bottom, left, right); bias may be None; out is (N, OH, OW, CO).)");
  m.def("conv2d_backward_input", &backward_input_entry, py::arg("dy"), py::arg("w"),
        py::arg("dx"), py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        py::arg("stream"),
        "dx = the gradient of conv2d_forward with respect to its input (of dx's shape).");
  m.def("conv2d_backward_weight", &backward_weight_entry, py::arg("x"), py::arg("dy"),
        py::arg("dw"), py::arg("db"), py::arg("strides"), py::arg("padding"),
        py::arg("dilation"), py::arg("activation"), py::arg("out"), py::arg("stream"),
        R"(dw (and db unless None) = the gradients with respect to the weights and the bias. With
an activation, dy is the gradient of act(conv + bias) and out that output: act' is applied here.)");
}

}  // namespace fastdl::cuda::bindings
