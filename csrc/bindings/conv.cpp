// _C.conv2d_forward, _C.conv2d_backward_input, _C.conv2d_backward_weight, _C.conv2d_backward
// (the gradients at once), and the convolution fused with max pooling
// (_C.conv2d_max_pool2d_forward / _backward): NHWC images, HWIO weights. The geometry arrives
// resolved (padding as explicit top, bottom, left, right amounts: fastdl.backend.cpu turns
// 'same' and 'valid' into numbers); it is validated here, once.
#include <pybind11/stl.h>

#include <array>
#include <string>
#include <vector>

#include "common/activation_names.h"
#include "common/checks.h"
#include "common/conv_shape.h"
#include "common/pool_window.h"
#include "contiguous.h"
#include "fastdl/conv.h"
#include "fastdl/conv_pool.h"

namespace fastdl::bindings {
namespace {

using Pair = std::array<int64_t, 2>;
using Padding = std::array<int64_t, 4>;  // top, bottom, left, right

template <class T>
py::array forward_typed(const ConvShape& s, const py::array& x, const py::array& w,
                        const py::object& bias, Activation act) {
  const auto xc = contiguous<T>(x), wc = contiguous<T>(w);
  OptionalArray<T> bc;
  if (!bias.is_none()) bc = contiguous<T>(py::array::ensure(bias));
  auto y = new_array<T>({s.N, s.OH, s.OW, s.CO});
  T* out = y.mutable_data();
  {
    py::gil_scoped_release release;
    conv2d_forward<T>(s, xc.data(), wc.data(), data_or_null(bc), act, out);
  }
  return std::move(y);
}

// The geometry of a forward convolution of x by w, both checked (4-D, the same float dtype).
ConvShape forward_shape(const std::string& op, const ArrayView& x, const ArrayView& w,
                        const Pair& strides, const Padding& padding, const Pair& dilation) {
  require_image(op, "x", x);
  require_kernel(op, "w", w);
  require_float(op, "x", x);
  require_same_dtype(op, "x", x, "w", w);
  return make_shape(op, conv_dims(x), conv_dims(w), strides, padding, dilation);
}

// ValueError or TypeError unless bias is None or one value of x's dtype per output channel
// (`channels` of them).
void require_bias(const std::string& op, const py::object& bias, int64_t channels,
                  const ArrayView& x) {
  if (bias.is_none()) return;
  const py::array b = py::array::ensure(bias);
  const ArrayView bv = b ? ArrayView(b) : ArrayView();
  require_bias_shape(op, b ? &bv : nullptr, channels);
  require_same_dtype(op, "x", x, "b", bv);
}

py::array forward_entry(const py::array& x, const py::array& w, const py::object& bias,
                        const Pair& strides, const Padding& padding, const Pair& dilation,
                        const std::string& activation) {
  const std::string op = "conv2d";
  const ArrayView xv(x);
  const ConvShape s = forward_shape(op, xv, ArrayView(w), strides, padding, dilation);
  require_bias(op, bias, s.CO, xv);
  const Activation act = parse_activation(op.c_str(), activation);
  if (xv.dtype == DType::float32) return forward_typed<float>(s, x, w, bias, act);
  return forward_typed<double>(s, x, w, bias, act);
}

template <class T>
py::array backward_input_typed(const ConvShape& s, const py::array& dy, const py::array& w,
                               const py::object& bias, Activation act) {
  const auto dyc = contiguous<T>(dy), wc = contiguous<T>(w);
  OptionalArray<T> bc;
  if (!bias.is_none()) bc = contiguous<T>(py::array::ensure(bias));
  auto dx = new_array<T>({s.N, s.H, s.W, s.C});
  T* out = dx.mutable_data();
  {
    py::gil_scoped_release release;
    conv2d_backward_input<T>(s, dyc.data(), wc.data(), out,
                             data_or_null(bc), act);
  }
  return std::move(dx);
}

py::array backward_input_entry(const py::array& dy, const py::array& w,
                               const std::array<int64_t, 4>& input_shape, const Pair& strides,
                               const Padding& padding, const Pair& dilation,
                               const py::object& bias, const std::string& activation) {
  const std::string op = "conv2d_backward_input";
  const ArrayView dyv(dy), wv(w);
  require_image(op, "dy", dyv);
  require_kernel(op, "w", wv);
  require_float(op, "dy", dyv);
  require_same_dtype(op, "dy", dyv, "w", wv);
  const ConvShape s = make_shape(op, input_shape, conv_dims(wv), strides, padding, dilation);
  require_dy(op, dyv, s);
  require_bias(op, bias, s.C, dyv);  // the transposed convolution's output channels
  const Activation act = parse_activation(op.c_str(), activation);
  if (dyv.dtype == DType::float32) return backward_input_typed<float>(s, dy, w, bias, act);
  return backward_input_typed<double>(s, dy, w, bias, act);
}

template <class T>
py::tuple backward_weight_typed(const ConvShape& s, const py::array& x, const py::array& dy,
                                bool with_bias, Activation act, const py::object& out) {
  const auto xc = contiguous<T>(x), dyc = contiguous<T>(dy);
  OptionalArray<T> outc;
  if (act != Activation::none) outc = contiguous<T>(out.cast<py::array>());
  auto dw = new_array<T>({s.KH, s.KW, s.C, s.CO});
  py::object db = py::none();
  T* db_data = nullptr;
  if (with_bias) {
    auto b = new_array<T>({s.CO});
    db_data = b.mutable_data();
    db = std::move(b);
  }
  T* dw_data = dw.mutable_data();
  {
    py::gil_scoped_release release;
    conv2d_backward_weight<T>(s, xc.data(), dyc.data(), dw_data, db_data, act,
                              data_or_null(outc));
  }
  return py::make_tuple(std::move(dw), db);
}

py::tuple backward_weight_entry(const py::array& x, const py::array& dy, const Pair& kernel_size,
                                const Pair& strides, const Padding& padding, const Pair& dilation,
                                bool with_bias, const std::string& activation,
                                const py::object& out) {
  const std::string op = "conv2d_backward_weight";
  const ArrayView xv(x), dyv(dy);
  require_image(op, "x", xv);
  require_image(op, "dy", dyv);
  require_float(op, "x", xv);
  require_same_dtype(op, "x", xv, "dy", dyv);
  const ConvDims w{kernel_size[0], kernel_size[1], xv.dim(3), dyv.dim(3)};
  const ConvShape s = make_shape(op, conv_dims(xv), w, strides, padding, dilation);
  require_dy(op, dyv, s);
  const Activation act = parse_activation(op.c_str(), activation);
  require_activation_output(op, act, activation, !out.is_none());
  if (act != Activation::none) {
    const ArrayView outv(out.cast<py::array>());
    require_same_dtype(op, "dy", dyv, "out", outv);
    require_same_shape(op, "dy", dyv, "out", outv);
  }
  if (xv.dtype == DType::float32) {
    return backward_weight_typed<float>(s, x, dy, with_bias, act, out);
  }
  return backward_weight_typed<double>(s, x, dy, with_bias, act, out);
}

template <class T>
py::tuple backward_typed(const ConvShape& s, const py::array& dy, const py::array& x,
                         const py::array& w, bool need_x, bool need_w, bool need_b) {
  const auto dyc = contiguous<T>(dy), xc = contiguous<T>(x), wc = contiguous<T>(w);
  py::object dx, dw, db;
  T* dx_data = new_array_if<T>(need_x, {s.N, s.H, s.W, s.C}, dx);
  T* dw_data = new_array_if<T>(need_w, {s.KH, s.KW, s.C, s.CO}, dw);
  T* db_data = new_array_if<T>(need_w && need_b, {s.CO}, db);
  {
    py::gil_scoped_release release;
    conv2d_backward<T>(s, xc.data(), dyc.data(), wc.data(), dx_data, dw_data, db_data);
  }
  return py::make_tuple(std::move(dx), std::move(dw), std::move(db));
}

py::tuple backward_entry(const py::array& dy, const py::array& x, const py::array& w,
                         const Pair& strides, const Padding& padding, const Pair& dilation,
                         bool need_x, bool need_w, bool need_b) {
  const std::string op = "conv2d_backward";
  const ArrayView dyv(dy), xv(x);
  const ConvShape s = forward_shape(op, xv, ArrayView(w), strides, padding, dilation);
  require_image(op, "dy", dyv);
  require_same_dtype(op, "x", xv, "dy", dyv);
  require_dy(op, dyv, s);
  if (xv.dtype == DType::float32) {
    return backward_typed<float>(s, dy, x, w, need_x, need_w, need_b);
  }
  return backward_typed<double>(s, dy, x, w, need_x, need_w, need_b);
}

// ---------------------------------------------------------------- fused with max pooling

// The convolution's geometry (checked as conv2d's) and its max pooling's (over its output).
struct ConvPool {
  ConvShape conv;
  Pool2dShape pool;
};

ConvPool conv_pool_shapes(const std::string& op, const ArrayView& x, const ArrayView& w,
                          const Pair& strides, const Padding& padding, const Pair& dilation,
                          const py::object& pool_size, const py::object& pool_strides,
                          const py::object& pool_padding) {
  const ConvShape s = forward_shape(op, x, w, strides, padding, dilation);
  const PoolWindow window = parse_window(op, pool_size, pool_strides, pool_padding);
  return {s, geometry(op, "the convolution's output", {s.N, s.OH, s.OW, s.CO}, window)};
}

void require_pooled(const std::string& op, const char* name, const ArrayView& a,
                    const Pool2dShape& p) {
  const std::vector<int64_t> want = output_dims(p);
  if (a.shape == want) return;
  throw py::value_error(op + ": " + name + " has shape " + a.shape_str() + "; expected " +
                        dims_str(want) + ", the pooled output");
}

template <class T>
py::tuple conv_pool_forward_typed(const ConvPool& g, const py::array& x, const py::array& w,
                                  const py::object& bias, Activation act) {
  const auto xc = contiguous<T>(x), wc = contiguous<T>(w);
  OptionalArray<T> bc;
  if (!bias.is_none()) bc = contiguous<T>(py::array::ensure(bias));
  const Pool2dShape& p = g.pool;
  auto y = new_array<T>({p.batch, p.out_height, p.out_width, p.channels});
  auto argmax = new_array<int32_t>({p.batch, p.out_height, p.out_width, p.channels});
  T* out = y.mutable_data();
  int32_t* arg = argmax.mutable_data();
  {
    py::gil_scoped_release release;
    conv2d_max_pool2d_forward<T>(g.conv, p, xc.data(), wc.data(),
                                 data_or_null(bc), act, out, arg);
  }
  return py::make_tuple(std::move(y), std::move(argmax));
}

py::tuple conv_pool_forward_entry(const py::array& x, const py::array& w, const py::object& bias,
                                  const Pair& strides, const Padding& padding,
                                  const Pair& dilation, const std::string& activation,
                                  const py::object& pool_size, const py::object& pool_strides,
                                  const py::object& pool_padding) {
  const std::string op = "conv2d_max_pool2d";
  const ArrayView xv(x);
  const ConvPool g = conv_pool_shapes(op, xv, ArrayView(w), strides, padding, dilation,
                                      pool_size, pool_strides, pool_padding);
  require_bias(op, bias, g.conv.CO, xv);
  const Activation act = parse_activation(op.c_str(), activation);
  if (xv.dtype == DType::float32) return conv_pool_forward_typed<float>(g, x, w, bias, act);
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
  py::object dx, dw, db;
  T* dx_data = new_array_if<T>(need_x, {s.N, s.H, s.W, s.C}, dx);
  T* dw_data = new_array_if<T>(need_w, {s.KH, s.KW, s.C, s.CO}, dw);
  T* db_data = new_array_if<T>(need_b, {s.CO}, db);
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
  const ArrayView xv(x), dyv(dy), pv(pooled), av(argmax);
  const ConvPool g = conv_pool_shapes(op, xv, ArrayView(w), strides, padding, dilation,
                                      pool_size, pool_strides, pool_padding);
  require_same_dtype(op, "x", xv, "dy", dyv);
  require_same_dtype(op, "x", xv, "pooled", pv);
  require_pooled(op, "dy", dyv, g.pool);
  require_pooled(op, "pooled", pv, g.pool);
  require_pooled(op, "argmax", av, g.pool);
  if (av.dtype != DType::int32) {
    throw py::type_error(op + ": argmax has dtype " + av.dtype_name() +
                         "; expected the int32 indices of conv2d_max_pool2d_forward");
  }
  const Activation act = parse_activation(op.c_str(), activation);
  if (xv.dtype == DType::float32) {
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
        py::arg("bias") = py::none(), py::arg("activation") = "none",
        R"(The gradient with respect to the input (of shape input_shape) of conv2d_forward; with
a bias (one per input channel) or an activation, activation(that + bias): the transposed
convolution's forward pass.)");
  m.def("conv2d_backward_weight", &backward_weight_entry, py::arg("x"), py::arg("dy"),
        py::arg("kernel_size"), py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        py::arg("with_bias") = true, py::arg("activation") = "none", py::arg("out") = py::none(),
        R"((dw, db or None): the gradients with respect to the weights and the bias. With an
activation, dy is the gradient of act(conv + bias) and out that output: act' is applied here.)");
  m.def("conv2d_backward", &backward_entry, py::arg("dy"), py::arg("x"), py::arg("w"),
        py::arg("strides"), py::arg("padding"), py::arg("dilation"), py::arg("need_x") = true,
        py::arg("need_w") = true, py::arg("need_b") = true,
        R"((dx, dw, db), each None unless asked for (db only with dw): the gradients of
conv2d_forward without activation, in one pass over dy where Winograd's algorithms give both.)");
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
