// _C.conv2d_forward, _C.conv2d_backward_input, _C.conv2d_backward_weight, and the convolution
// fused with max pooling (_C.conv2d_max_pool2d_forward / _backward): NHWC images, HWIO
// weights. The geometry arrives resolved (padding as explicit top, bottom, left, right amounts:
// fastdl.backend.cpu turns 'same' and 'valid' into numbers); it is validated here, once.
#include <pybind11/stl.h>

#include <array>
#include <string>

#include "activation_names.h"
#include "common.h"
#include "conv_shape.h"
#include "fastdl/conv.h"
#include "fastdl/conv_pool.h"
#include "pool_window.h"

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

// The geometry of a forward convolution of x by w, both checked (4-D, the same float dtype).
ConvShape forward_shape(const std::string& op, const py::array& x, const py::array& w,
                        const Pair& strides, const Padding& padding, const Pair& dilation) {
  require_image(op, "x", x);
  if (w.ndim() != 4) {
    throw py::value_error(op + ": w has shape " + shape_str(w) +
                          "; expected 4 dimensions (kernel_h, kernel_w, in_channels, "
                          "out_channels)");
  }
  require_float(op.c_str(), "x", x);
  require_same_dtype(op.c_str(), "x", x, "w", w);
  return make_shape(op, dims(x), dims(w), strides, padding, dilation);
}

// ValueError or TypeError unless bias is None or one value per output channel of x's dtype.
void require_bias(const std::string& op, const py::object& bias, const ConvShape& s,
                  const py::array& x) {
  if (bias.is_none()) return;
  const py::array b = py::array::ensure(bias);
  if (!b || b.ndim() != 1 || b.shape(0) != s.CO) {
    throw py::value_error(op + ": b has shape " + (b ? shape_str(b) : std::string("?")) +
                          "; expected (" + std::to_string(s.CO) + ",), one per output channel");
  }
  require_same_dtype(op.c_str(), "x", x, "b", b);
}

py::array forward_entry(const py::array& x, const py::array& w, const py::object& bias,
                        const Pair& strides, const Padding& padding, const Pair& dilation,
                        const std::string& activation) {
  const std::string op = "conv2d";
  const ConvShape s = forward_shape(op, x, w, strides, padding, dilation);
  require_bias(op, bias, s, x);
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

// ---------------------------------------------------------------- fused with max pooling

// The convolution's geometry (checked as conv2d's) and its max pooling's (over its output).
struct ConvPool {
  ConvShape conv;
  Pool2dShape pool;
};

ConvPool conv_pool_shapes(const std::string& op, const py::array& x, const py::array& w,
                          const Pair& strides, const Padding& padding, const Pair& dilation,
                          const py::object& pool_size, const py::object& pool_strides,
                          const py::object& pool_padding) {
  const ConvShape s = forward_shape(op, x, w, strides, padding, dilation);
  const PoolWindow window = parse_window(op, pool_size, pool_strides, pool_padding);
  return {s, geometry(op, "the convolution's output", {s.N, s.OH, s.OW, s.CO}, window)};
}

void require_pooled(const std::string& op, const char* name, const py::array& a,
                    const Pool2dShape& p) {
  if (a.ndim() == 4 && a.shape(0) == p.batch && a.shape(1) == p.out_height &&
      a.shape(2) == p.out_width && a.shape(3) == p.channels) {
    return;
  }
  const std::array<int64_t, 4> want{p.batch, p.out_height, p.out_width, p.channels};
  throw py::value_error(op + ": " + name + " has shape " + shape_str(a) + "; expected " +
                        tuple_str(want.data(), 4) + ", the pooled output");
}

template <class T>
py::tuple conv_pool_forward_typed(const ConvPool& g, const py::array& x, const py::array& w,
                                  const py::object& bias, Activation act) {
  const auto xc = contiguous<T>(x), wc = contiguous<T>(w);
  py::array_t<T, py::array::c_style> bc;
  if (!bias.is_none()) bc = contiguous<T>(py::array::ensure(bias));
  const Pool2dShape& p = g.pool;
  py::array_t<T> y({p.batch, p.out_height, p.out_width, p.channels});
  py::array_t<int32_t> argmax({p.batch, p.out_height, p.out_width, p.channels});
  T* out = y.mutable_data();
  int32_t* arg = argmax.mutable_data();
  {
    py::gil_scoped_release release;
    conv2d_max_pool2d_forward<T>(g.conv, p, xc.data(), wc.data(),
                                 bias.is_none() ? nullptr : bc.data(), act, out, arg);
  }
  return py::make_tuple(std::move(y), std::move(argmax));
}

py::tuple conv_pool_forward_entry(const py::array& x, const py::array& w, const py::object& bias,
                                  const Pair& strides, const Padding& padding,
                                  const Pair& dilation, const std::string& activation,
                                  const py::object& pool_size, const py::object& pool_strides,
                                  const py::object& pool_padding) {
  const std::string op = "conv2d_max_pool2d";
  const ConvPool g = conv_pool_shapes(op, x, w, strides, padding, dilation, pool_size,
                                      pool_strides, pool_padding);
  require_bias(op, bias, g.conv, x);
  const Activation act = parse_activation(op.c_str(), activation);
  if (is_float32(x)) return conv_pool_forward_typed<float>(g, x, w, bias, act);
  return conv_pool_forward_typed<double>(g, x, w, bias, act);
}

template <class T>
py::tuple conv_pool_backward_typed(const ConvPool& g, const py::array& dy, const py::array& x,
                                   const py::array& w, const py::array& pooled,
                                   const py::array& argmax, Activation act, bool need_x,
                                   bool need_w, bool need_b) {
  const auto dyc = contiguous<T>(dy), xc = contiguous<T>(x), wc = contiguous<T>(w);
  const auto pc = contiguous<T>(pooled);
  const auto ac = contiguous<int32_t>(argmax);
  const ConvShape& s = g.conv;
  py::object dx = py::none(), dw = py::none(), db = py::none();
  T *dx_data = nullptr, *dw_data = nullptr, *db_data = nullptr;
  if (need_x) {
    py::array_t<T> a({s.N, s.H, s.W, s.C});
    dx_data = a.mutable_data();
    dx = std::move(a);
  }
  if (need_w) {
    py::array_t<T> a({s.KH, s.KW, s.C, s.CO});
    dw_data = a.mutable_data();
    dw = std::move(a);
  }
  if (need_b) {
    py::array_t<T> a(s.CO);
    db_data = a.mutable_data();
    db = std::move(a);
  }
  {
    py::gil_scoped_release release;
    conv2d_max_pool2d_backward<T>(s, g.pool, xc.data(), wc.data(), dyc.data(), pc.data(),
                                  ac.data(), act, dx_data, dw_data, db_data);
  }
  return py::make_tuple(std::move(dx), std::move(dw), std::move(db));
}

py::tuple conv_pool_backward_entry(const py::array& dy, const py::array& x, const py::array& w,
                                   const py::array& pooled, const py::array& argmax,
                                   const Pair& strides, const Padding& padding,
                                   const Pair& dilation, const std::string& activation,
                                   const py::object& pool_size, const py::object& pool_strides,
                                   const py::object& pool_padding, bool need_x, bool need_w,
                                   bool need_b) {
  const std::string op = "conv2d_max_pool2d_backward";
  const ConvPool g = conv_pool_shapes(op, x, w, strides, padding, dilation, pool_size,
                                      pool_strides, pool_padding);
  require_same_dtype(op.c_str(), "x", x, "dy", dy);
  require_same_dtype(op.c_str(), "x", x, "pooled", pooled);
  require_pooled(op, "dy", dy, g.pool);
  require_pooled(op, "pooled", pooled, g.pool);
  require_pooled(op, "argmax", argmax, g.pool);
  if (!argmax.dtype().is(py::dtype::of<int32_t>())) {
    throw py::type_error(op + ": argmax has dtype " + py::str(argmax.dtype()).cast<std::string>() +
                         "; expected the int32 indices of conv2d_max_pool2d_forward");
  }
  const Activation act = parse_activation(op.c_str(), activation);
  if (is_float32(x)) {
    return conv_pool_backward_typed<float>(g, dy, x, w, pooled, argmax, act, need_x, need_w,
                                           need_b);
  }
  return conv_pool_backward_typed<double>(g, dy, x, w, pooled, argmax, act, need_x, need_w,
                                          need_b);
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
  m.def("conv2d_max_pool2d_forward", &conv_pool_forward_entry, py::arg("x"), py::arg("w"),
        py::arg("bias"), py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        py::arg("activation"), py::arg("pool_size"), py::arg("pool_strides") = py::none(),
        py::arg("pool_padding") = "valid",
        R"((y, argmax): max_pool2d_forward(conv2d_forward(x, w, bias, ..., activation), pool_size,
pool_strides, pool_padding) with the same results, the convolution's output pooled while it is
in cache where the convolution has one input channel.)");
  m.def("conv2d_max_pool2d_backward", &conv_pool_backward_entry, py::arg("dy"), py::arg("x"),
        py::arg("w"), py::arg("pooled"), py::arg("argmax"), py::arg("strides"),
        py::arg("padding"), py::arg("dilation"), py::arg("activation"), py::arg("pool_size"),
        py::arg("pool_strides") = py::none(), py::arg("pool_padding") = "valid",
        py::arg("need_x") = true, py::arg("need_w") = true, py::arg("need_b") = true,
        R"((dx, dw, db), each None unless asked for: the gradients of conv2d_max_pool2d_forward,
given dy (the pooled output's gradient), its output `pooled` and argmax.)");
}

}  // namespace fastdl::bindings
