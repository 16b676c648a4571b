// _C.max_pool2d_forward / _C.max_pool2d_backward / _C.avg_pool2d_forward /
// _C.avg_pool2d_backward: 2-D pooling of NHWC arrays (batch, height, width, channels).
//
// Every entry point takes the window as Keras does: pool_size and strides an int or a pair of
// ints (strides None meaning pool_size) and padding 'valid' or 'same'. All of it is checked here,
// once; the kernels assume a valid geometry.
#include <cstdint>
#include <string>
#include <vector>

#include "common/checks.h"
#include "common/pool_window.h"
#include "contiguous.h"
#include "fastdl/pool.h"

namespace fastdl::bindings {
namespace {

// ---------------------------------------------------------------- typed calls

template <class T>
py::tuple max_forward_typed(const py::array& x, const Pool2dShape& s, bool with_argmax) {
  const auto xc = contiguous<T>(x);
  auto y = new_array<T>(output_dims(s));
  T* out = y.mutable_data();
  py::object argmax = py::none();
  int32_t* arg = nullptr;
  if (with_argmax) {
    auto a = new_array<int32_t>(output_dims(s));
    arg = a.mutable_data();
    argmax = std::move(a);
  }
  {
    py::gil_scoped_release release;
    max_pool2d_forward<T>(xc.data(), out, arg, s);
  }
  return py::make_tuple(std::move(y), std::move(argmax));
}

template <class T>
py::array max_backward_typed(const py::array& grad, const py::array& argmax,
                             const std::vector<int64_t>& x_dims, const Pool2dShape& s) {
  const auto gc = contiguous<T>(grad);
  const auto ac = contiguous<int32_t>(argmax);
  auto dx = new_array<T>(x_dims);
  T* out = dx.mutable_data();
  {
    py::gil_scoped_release release;
    max_pool2d_backward<T>(gc.data(), ac.data(), out, s);
  }
  return std::move(dx);
}

template <class T>
py::array avg_forward_typed(const py::array& x, const Pool2dShape& s) {
  const auto xc = contiguous<T>(x);
  auto y = new_array<T>(output_dims(s));
  T* out = y.mutable_data();
  {
    py::gil_scoped_release release;
    avg_pool2d_forward<T>(xc.data(), out, s);
  }
  return std::move(y);
}

template <class T>
py::array avg_backward_typed(const py::array& grad, const std::vector<int64_t>& x_dims,
                             const Pool2dShape& s) {
  const auto gc = contiguous<T>(grad);
  auto dx = new_array<T>(x_dims);
  T* out = dx.mutable_data();
  {
    py::gil_scoped_release release;
    avg_pool2d_backward<T>(gc.data(), out, s);
  }
  return std::move(dx);
}

// ---------------------------------------------------------------- entry points

py::tuple max_forward_entry(const py::array& x, const py::object& pool, const py::object& strides,
                            const py::object& padding, bool with_argmax) {
  const std::string op = "max_pool2d";
  const ArrayView xv(x);
  require_float(op, "x", xv);
  const PoolWindow w = parse_window(op, pool, strides, padding);
  const Pool2dShape s = geometry(op, "x", xv.shape.to_vector(), w);
  if (xv.dtype == DType::float32) return max_forward_typed<float>(x, s, with_argmax);
  return max_forward_typed<double>(x, s, with_argmax);
}

py::array max_backward_entry(const py::array& grad, const py::array& argmax,
                             const py::object& x_shape, const py::object& pool,
                             const py::object& strides, const py::object& padding) {
  const std::string op = "max_pool2d_backward";
  const ArrayView gv(grad), av(argmax);
  require_float(op, "grad", gv);
  require_argmax(op, av);
  const PoolWindow w = parse_window(op, pool, strides, padding);
  const std::vector<int64_t> x_dims = parse_shape(op, x_shape);
  const Pool2dShape s = geometry(op, "x_shape", x_dims, w);
  const std::string why = w.describe_input(x_dims);
  require_output_dims(op, "grad", gv, output_dims(s), why);
  require_output_dims(op, "argmax", av, output_dims(s), why);
  if (gv.dtype == DType::float32) return max_backward_typed<float>(grad, argmax, x_dims, s);
  return max_backward_typed<double>(grad, argmax, x_dims, s);
}

py::array avg_forward_entry(const py::array& x, const py::object& pool, const py::object& strides,
                            const py::object& padding) {
  const std::string op = "avg_pool2d";
  const ArrayView xv(x);
  require_float(op, "x", xv);
  const PoolWindow w = parse_window(op, pool, strides, padding);
  const Pool2dShape s = geometry(op, "x", xv.shape.to_vector(), w);
  if (xv.dtype == DType::float32) return avg_forward_typed<float>(x, s);
  return avg_forward_typed<double>(x, s);
}

py::array avg_backward_entry(const py::array& grad, const py::object& x_shape,
                             const py::object& pool, const py::object& strides,
                             const py::object& padding) {
  const std::string op = "avg_pool2d_backward";
  const ArrayView gv(grad);
  require_float(op, "grad", gv);
  const PoolWindow w = parse_window(op, pool, strides, padding);
  const std::vector<int64_t> x_dims = parse_shape(op, x_shape);
  const Pool2dShape s = geometry(op, "x_shape", x_dims, w);
  require_output_dims(op, "grad", gv, output_dims(s), w.describe_input(x_dims));
  if (gv.dtype == DType::float32) return avg_backward_typed<float>(grad, x_dims, s);
  return avg_backward_typed<double>(grad, x_dims, s);
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def("max_pool2d_forward", &max_forward_entry, py::arg("x"), py::arg("pool_size"),
        py::arg("strides") = py::none(), py::arg("padding") = "valid",
        py::arg("with_argmax") = true,
        R"((y, argmax or None): 2-D max pooling of a float32/float64 NHWC array x.

pool_size and strides are an int or a pair (strides None: pool_size); padding is 'valid' or
'same' (Keras). argmax (int32, y's shape) holds, per output element, the position h * W + w of
the winning input element in its image; ties go to the first position in window scan order.)");
  m.def("max_pool2d_backward", &max_backward_entry, py::arg("grad"), py::arg("argmax"),
        py::arg("x_shape"), py::arg("pool_size"), py::arg("strides") = py::none(),
        py::arg("padding") = "valid",
        R"(Gradient of max_pool2d with respect to x (of shape x_shape): each window's gradient
goes to its argmax; overlapping windows add up. Returns a new array.)");
  m.def("avg_pool2d_forward", &avg_forward_entry, py::arg("x"), py::arg("pool_size"),
        py::arg("strides") = py::none(), py::arg("padding") = "valid",
        R"(2-D average pooling of a float32/float64 NHWC array x; with padding 'same' the mean
is over the window's positions inside the input only.)");
  m.def("avg_pool2d_backward", &avg_backward_entry, py::arg("grad"), py::arg("x_shape"),
        py::arg("pool_size"), py::arg("strides") = py::none(), py::arg("padding") = "valid",
        R"(Gradient of avg_pool2d with respect to x (of shape x_shape). Returns a new array.)");
}

}  // namespace fastdl::bindings
