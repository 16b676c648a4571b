// _cuda.max_pool2d_forward / _cuda.max_pool2d_backward / _cuda.avg_pool2d_forward /
// _cuda.avg_pool2d_backward: 2-D pooling of NHWC float32 GPU arrays, outputs passed in.
//
// The window comes as the CPU's entry points take it (pool_size and strides an int or a pair,
// strides None meaning pool_size, padding 'valid' or 'same') and is parsed and checked by the
// same code (csrc/common/pool_window.h), so the errors read word for word as the CPU's.
#include <cstdint>
#include <string>
#include <vector>

#include "common.h"
#include "common/checks.h"
#include "common/pool_window.h"
#include "pool.h"

namespace fastdl::cuda::bindings {

using namespace fastdl::bindings;  // the checks both extensions share (csrc/common/)

namespace {

// The window and the image, checked as the CPU checks them, and then against the CUDA
// kernels' 32-bit window arithmetic.
struct Geometry {
  Pool2dShape shape;
  // "an input of shape (...) with pool_size (...), strides (...) and padding '...'"
  std::string why;
};

Geometry checked_geometry(const std::string& op, const std::string& what,
                          const std::vector<int64_t>& x_dims, const PoolWindow& window) {
  const Pool2dShape s = geometry(op, what, x_dims, window);
  std::string why = window.describe_input(x_dims);
  constexpr int64_t kLimit = int64_t(1) << 30;
  for (int64_t v : {s.height, s.width, s.channels, s.pool_h, s.pool_w, s.stride_h, s.stride_w}) {
    if (v >= kLimit) {
      throw py::value_error(op + ": " + why + " is beyond the CUDA kernels, which take images, " +
                            "channels, windows and strides below 2^30 along each axis");
    }
  }
  return {s, std::move(why)};
}

void require_output(const std::string& op, const char* name, const ArrayView& a, DType dtype,
                    const std::vector<int64_t>& dims, const std::string& why) {
  require_dtype(op, name, a, dtype);
  require_shape(op, name, a, dims, why);
}

void max_forward_entry(const py::handle& x, const py::handle& out, const py::handle& argmax,
                       const py::object& pool, const py::object& strides,
                       const py::object& padding, std::uintptr_t stream) {
  const std::string op = "max_pool2d";
  const ArrayView xa = device_array(op, "x", x);
  require_dtype(op, "x", xa, DType::float32);
  const PoolWindow window = parse_window(op, pool, strides, padding);
  const Geometry g = checked_geometry(op, "x", xa.shape.to_vector(), window);
  const ArrayView ya = device_array(op, "out", out);
  require_output(op, "out", ya, DType::float32, output_dims(g.shape), g.why);
  const ArrayView aa = optional_device_array(op, "argmax", argmax);
  if (!argmax.is_none()) {
    require_output(op, "argmax", aa, DType::int32, output_dims(g.shape), g.why);
  }
  py::gil_scoped_release release;
  max_pool2d_forward(xa.data<float>(), ya.data<float>(), aa.data<int32_t>(), g.shape,
                     as_stream(stream));
}

void max_backward_entry(const py::handle& grad, const py::handle& argmax,
                        const py::object& x_shape, const py::handle& out, const py::object& pool,
                        const py::object& strides, const py::object& padding,
                        std::uintptr_t stream) {
  const std::string op = "max_pool2d_backward";
  const ArrayView ga = device_array(op, "grad", grad), aa = device_array(op, "argmax", argmax);
  require_dtype(op, "grad", ga, DType::float32);
  require_argmax(op, aa);
  const PoolWindow window = parse_window(op, pool, strides, padding);
  const std::vector<int64_t> x_dims = parse_shape(op, x_shape);
  const Geometry g = checked_geometry(op, "x_shape", x_dims, window);
  require_output_dims(op, "grad", ga, output_dims(g.shape), g.why);
  require_output_dims(op, "argmax", aa, output_dims(g.shape), g.why);
  const ArrayView dx = device_array(op, "out", out);
  require_output(op, "out", dx, DType::float32, x_dims, "x_shape");
  py::gil_scoped_release release;
  max_pool2d_backward(ga.data<float>(), aa.data<int32_t>(), dx.data<float>(), g.shape,
                      as_stream(stream));
}

void avg_forward_entry(const py::handle& x, const py::handle& out, const py::object& pool,
                       const py::object& strides, const py::object& padding,
                       std::uintptr_t stream) {
  const std::string op = "avg_pool2d";
  const ArrayView xa = device_array(op, "x", x);
  require_dtype(op, "x", xa, DType::float32);
  const PoolWindow window = parse_window(op, pool, strides, padding);
  const Geometry g = checked_geometry(op, "x", xa.shape.to_vector(), window);
  const ArrayView ya = device_array(op, "out", out);
  require_output(op, "out", ya, DType::float32, output_dims(g.shape), g.why);
  py::gil_scoped_release release;
  avg_pool2d_forward(xa.data<float>(), ya.data<float>(), g.shape, as_stream(stream));
}

void avg_backward_entry(const py::handle& grad, const py::object& x_shape, const py::handle& out,
                        const py::object& pool, const py::object& strides,
                        const py::object& padding, std::uintptr_t stream) {
  const std::string op = "avg_pool2d_backward";
  const ArrayView ga = device_array(op, "grad", grad);
  require_dtype(op, "grad", ga, DType::float32);
  const PoolWindow window = parse_window(op, pool, strides, padding);
  const std::vector<int64_t> x_dims = parse_shape(op, x_shape);
  const Geometry g = checked_geometry(op, "x_shape", x_dims, window);
  require_output_dims(op, "grad", ga, output_dims(g.shape), g.why);
  const ArrayView dx = device_array(op, "out", out);
  require_output(op, "out", dx, DType::float32, x_dims, "x_shape");
  py::gil_scoped_release release;
  avg_pool2d_backward(ga.data<float>(), dx.data<float>(), g.shape, as_stream(stream));
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def("max_pool2d_forward", &max_forward_entry, py::arg("x"), py::arg("out"),
        py::arg("argmax"), py::arg("pool_size"), py::arg("strides"), py::arg("padding"),
        py::arg("stream"),
        R"(out = 2-D max pooling of the float32 NHWC GPU array x; argmax (int32, out's shape, or
None) = the position h * W + w of each winner in its image, ties to the first in window scan
order. pool_size and strides are an int or a pair (strides None: pool_size); padding is 'valid'
or 'same' (Keras).)");
  m.def("max_pool2d_backward", &max_backward_entry, py::arg("grad"), py::arg("argmax"),
        py::arg("x_shape"), py::arg("out"), py::arg("pool_size"), py::arg("strides"),
        py::arg("padding"), py::arg("stream"),
        R"(out (of shape x_shape) = the gradient of max_pool2d with respect to x: each window's
gradient goes to its argmax; overlapping windows add up.)");
  m.def("avg_pool2d_forward", &avg_forward_entry, py::arg("x"), py::arg("out"),
        py::arg("pool_size"), py::arg("strides"), py::arg("padding"), py::arg("stream"),
        R"(out = 2-D average pooling of the float32 NHWC GPU array x; with padding 'same' the
mean is over the window's positions inside the input only.)");
  m.def("avg_pool2d_backward", &avg_backward_entry, py::arg("grad"), py::arg("x_shape"),
        py::arg("out"), py::arg("pool_size"), py::arg("strides"), py::arg("padding"),
        py::arg("stream"),
        "out (of shape x_shape) = the gradient of avg_pool2d with respect to x.");
}

}  // namespace fastdl::cuda::bindings
