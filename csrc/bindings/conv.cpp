// _C.conv2d_forward, _C.conv2d_backward_input, _C.conv2d_backward_weight: NHWC images, HWIO
// weights. The geometry arrives resolved (padding as explicit top, bottom, left, right amounts:
// fastdl.backend.cpu turns 'same' and 'valid' into numbers); it is validated here, once.
#include <pybind11/stl.h>

#include <array>
#include <string>

#include "activation_names.h"
#include "common.h"
#include "fastdl/conv.h"

namespace fastdl::bindings {
namespace {

using Pair = std::array<int64_t, 2>;
using Padding = std::array<int64_t, 4>;  // top, bottom, left, right

std::string tuple_str(const int64_t* v, size_t n) {
  std::string s = "(";
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (n == 1 ? ",)" : ")");
}

void require_image(const std::string& op, const char* name, const py::array& a) {
  if (a.ndim() == 4) return;
  std::string hint;
  if (a.ndim() == 3) {
    hint = "; a 3-D array is one image or a batch without a channel axis: add the missing axis "
           "(x[None] or x[..., None])";
  }
  throw py::value_error(op + ": " + name + " has shape " + shape_str(a) +
                        "; expected 4 dimensions (batch, height, width, channels)" + hint);
}

// The output geometry of x (N, H, W, C) under kernel (KH, KW, C, CO), checked.
ConvShape make_shape(const std::string& op, const std::array<int64_t, 4>& x,
                     const std::array<int64_t, 4>& w, const Pair& strides, const Padding& padding,
                     const Pair& dilation) {
  const std::string shapes =
      "x has shape " + tuple_str(x.data(), 4) + ", w has shape " + tuple_str(w.data(), 4);
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

std::array<int64_t, 4> dims(const py::array& a) {
  return {a.shape(0), a.shape(1), a.shape(2), a.shape(3)};
}

void require_dy(const std::string& op, const py::array& dy, const ConvShape& s) {
  if (dy.ndim() != 4 || dy.shape(0) != s.N || dy.shape(1) != s.OH || dy.shape(2) != s.OW ||
      dy.shape(3) != s.CO) {
    const std::array<int64_t, 4> want{s.N, s.OH, s.OW, s.CO};
    throw py::value_error(op + ": dy has shape " + shape_str(dy) + "; expected " +
                          tuple_str(want.data(), 4));
  }
}

template <class T>
py::array forward_typed(const ConvShape& s, const py::array& x, const py::array& w,
                        const py::object& bias, Activation act) {
  const auto xc = contiguous<T>(x), wc = contiguous<T>(w);
  py::array_t<T, py::array::c_style> bc;
  if (!bias.is_none()) bc = contiguous<T>(py::array::ensure(bias));
  py::array_t<T> y({s.N, s.OH, s.OW, s.CO});
  T* out = y.mutable_data();
  {
    py::gil_scoped_release release;
    conv2d_forward<T>(s, xc.data(), wc.data(), bias.is_none() ? nullptr : bc.data(), act, out);
  }
  return std::move(y);
}

py::array forward_entry(const py::array& x, const py::array& w, const py::object& bias,
                        const Pair& strides, const Padding& padding, const Pair& dilation,
                        const std::string& activation) {
  const std::string op = "conv2d";
  require_image(op, "x", x);
  if (w.ndim() != 4) {
    throw py::value_error(op + ": w has shape " + shape_str(w) +
                          "; expected 4 dimensions (kernel_h, kernel_w, in_channels, "
                          "out_channels)");
  }
  require_float(op.c_str(), "x", x);
  require_same_dtype(op.c_str(), "x", x, "w", w);
  const ConvShape s = make_shape(op, dims(x), dims(w), strides, padding, dilation);
  if (!bias.is_none()) {
    const py::array b = py::array::ensure(bias);
    if (!b || b.ndim() != 1 || b.shape(0) != s.CO) {
      throw py::value_error(op + ": b has shape " + (b ? shape_str(b) : std::string("?")) +
                            "; expected (" + std::to_string(s.CO) + ",), one per output channel");
    }
    require_same_dtype(op.c_str(), "x", x, "b", b);
  }
  const Activation act = parse_activation(op.c_str(), activation);
  if (is_float32(x)) return forward_typed<float>(s, x, w, bias, act);
  return forward_typed<double>(s, x, w, bias, act);
}

template <class T>
py::array backward_input_typed(const ConvShape& s, const py::array& dy, const py::array& w) {
  const auto dyc = contiguous<T>(dy), wc = contiguous<T>(w);
  py::array_t<T> dx({s.N, s.H, s.W, s.C});
  T* out = dx.mutable_data();
  {
    py::gil_scoped_release release;
    conv2d_backward_input<T>(s, dyc.data(), wc.data(), out);
  }
  return std::move(dx);
}

py::array backward_input_entry(const py::array& dy, const py::array& w,
                               const std::array<int64_t, 4>& input_shape, const Pair& strides,
                               const Padding& padding, const Pair& dilation) {
  const std::string op = "conv2d_backward_input";
  require_image(op, "dy", dy);
  if (w.ndim() != 4) throw py::value_error(op + ": w has shape " + shape_str(w) + "; expected 4-D");
  require_float(op.c_str(), "dy", dy);
  require_same_dtype(op.c_str(), "dy", dy, "w", w);
  const ConvShape s = make_shape(op, input_shape, dims(w), strides, padding, dilation);
  require_dy(op, dy, s);
  if (is_float32(dy)) return backward_input_typed<float>(s, dy, w);
  return backward_input_typed<double>(s, dy, w);
}

template <class T>
py::tuple backward_weight_typed(const ConvShape& s, const py::array& x, const py::array& dy,
                                bool with_bias, Activation act, const py::object& out) {
  const auto xc = contiguous<T>(x), dyc = contiguous<T>(dy);
  py::array_t<T, py::array::c_style> outc;
  if (act != Activation::none) outc = contiguous<T>(out.cast<py::array>());
  py::array_t<T> dw({s.KH, s.KW, s.C, s.CO});
  py::object db = py::none();
  T* db_data = nullptr;
  if (with_bias) {
    py::array_t<T> b(s.CO);
    db_data = b.mutable_data();
    db = std::move(b);
  }
  T* dw_data = dw.mutable_data();
  {
    py::gil_scoped_release release;
    conv2d_backward_weight<T>(s, xc.data(), dyc.data(), dw_data, db_data, act,
                              act != Activation::none ? outc.data() : nullptr);
  }
  return py::make_tuple(std::move(dw), db);
}

py::tuple backward_weight_entry(const py::array& x, const py::array& dy, const Pair& kernel_size,
                                const Pair& strides, const Padding& padding, const Pair& dilation,
                                bool with_bias, const std::string& activation,
                                const py::object& out) {
  const std::string op = "conv2d_backward_weight";
  require_image(op, "x", x);
  require_image(op, "dy", dy);
  require_float(op.c_str(), "x", x);
  require_same_dtype(op.c_str(), "x", x, "dy", dy);
  const std::array<int64_t, 4> w{kernel_size[0], kernel_size[1], x.shape(3), dy.shape(3)};
  const ConvShape s = make_shape(op, dims(x), w, strides, padding, dilation);
  require_dy(op, dy, s);
  const Activation act = parse_activation(op.c_str(), activation);
  if (act != Activation::none) {
    if (out.is_none()) {
      throw py::value_error(op + ": activation '" + activation +
                            "' needs out, the activation's output");
    }
    const auto out_array = out.cast<py::array>();
    require_same_dtype(op.c_str(), "dy", dy, "out", out_array);
    require_same_shape(op.c_str(), "dy", dy, "out", out_array);
  }
  if (is_float32(x)) return backward_weight_typed<float>(s, x, dy, with_bias, act, out);
  return backward_weight_typed<double>(s, x, dy, with_bias, act, out);
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d_forward", &forward_entry, py::arg("x"), py::arg("w"), py::arg("bias"),
        py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        py::arg("activation") = "none",
        R"(act(conv(x, w) + bias) for NHWC x and HWIO w (float32/float64). padding is
(top, bottom, left, right); bias may be None. Returns a new (N, OH, OW, CO) array.)");
  m.def("conv2d_backward_input", &backward_input_entry, py::arg("dy"), py::arg("w"),
        py::arg("input_shape"), py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        "The gradient with respect to the input (of shape input_shape) of conv2d_forward.");
  m.def("conv2d_backward_weight", &backward_weight_entry, py::arg("x"), py::arg("dy"),
        py::arg("kernel_size"), py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        py::arg("with_bias") = true, py::arg("activation") = "none", py::arg("out") = py::none(),
        R"((dw, db or None): the gradients with respect to the weights and the bias. With an
activation, dy is the gradient of act(conv + bias) and out that output: act' is applied here.)");
}

}  // namespace fastdl::bindings
