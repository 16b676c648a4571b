// _C.max_pool2d_forward / _C.max_pool2d_backward / _C.avg_pool2d_forward /
// _C.avg_pool2d_backward: 2-D pooling of NHWC arrays (batch, height, width, channels).
//
// Every entry point takes the window as Keras does: pool_size and strides an int or a pair of
// ints (strides None meaning pool_size) and padding 'valid' or 'same'. All of it is checked here,
// once; the kernels assume a valid geometry.
#include <Python.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common.h"
#include "fastdl/pool.h"
#include "pool_window.h"

namespace fastdl::bindings {
namespace {

using Pair = std::array<int64_t, 2>;

std::string pair_str(const Pair& p) {
  return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")";
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

// An int (not a bool) as int64, through Python's __index__ (so NumPy integers qualify).
bool as_int(const py::handle& v, int64_t* out) {
  if (PyBool_Check(v.ptr()) || !PyIndex_Check(v.ptr())) return false;
  const py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()));
  if (!i) {  // e.g. a NumPy array of several elements, which has __index__ but refuses it
    PyErr_Clear();
    return false;
  }
  int overflow = 0;
  *out = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (overflow) return false;
  return true;
}

// (a, b) from an int a (giving (a, a)) or a pair of ints; TypeError otherwise.
Pair int_pair(const std::string& op, const char* name, const py::handle& v) {
  int64_t a = 0, b = 0;
  if (as_int(v, &a)) return {a, a};
  if (PySequence_Check(v.ptr()) && !PyUnicode_Check(v.ptr()) && !PyBytes_Check(v.ptr()) &&
      PySequence_Size(v.ptr()) == 2) {
    const py::sequence seq = py::reinterpret_borrow<py::sequence>(v);
    const py::object first = seq[0], second = seq[1];
    if (as_int(first, &a) && as_int(second, &b)) return {a, b};
  }
  PyErr_Clear();  // PySequence_Size on an object without a length
  throw py::type_error(op + ": " + name + " must be an int or a pair of ints; got " +
                       py::repr(v).cast<std::string>());
}

std::vector<int64_t> dims_of(const py::array& a) {
  return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

std::vector<int64_t> parse_shape(const std::string& op, const py::handle& shape) {
  std::vector<int64_t> dims;
  bool ok = PySequence_Check(shape.ptr()) && !PyUnicode_Check(shape.ptr());
  if (ok) {
    for (const py::handle d : py::reinterpret_borrow<py::sequence>(shape)) {
      int64_t v = 0;
      ok = as_int(d, &v) && v >= 0;
      if (!ok) break;
      dims.push_back(v);
    }
  }
  if (!ok) {
    throw py::type_error(op + ": x_shape must be a sequence of non-negative ints; got " +
                         py::repr(shape).cast<std::string>());
  }
  return dims;
}

std::vector<int64_t> output_dims(const Pool2dShape& s) {
  return {s.batch, s.out_height, s.out_width, s.channels};
}

// ValueError unless `a` (named `name`) has the shape `dims`.
void require_dims(const std::string& op, const char* name, const py::array& a,
                  const std::vector<int64_t>& dims, const std::string& why) {
  if (dims_of(a) == dims) return;
  throw py::value_error(op + ": " + name + " has shape " + shape_str(a) + " but " + why +
                        " gives outputs of shape " + dims_str(dims));
}

template <class T>
py::array_t<T> new_array(const std::vector<int64_t>& dims) {
  return py::array_t<T>(std::vector<py::ssize_t>(dims.begin(), dims.end()));
}

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
  require_float(op.c_str(), "x", x);
  const PoolWindow w = parse_window(op, pool, strides, padding);
  const Pool2dShape s = geometry(op, "x", dims_of(x), w);
  if (is_float32(x)) return max_forward_typed<float>(x, s, with_argmax);
  return max_forward_typed<double>(x, s, with_argmax);
}

py::array max_backward_entry(const py::array& grad, const py::array& argmax,
                             const py::object& x_shape, const py::object& pool,
                             const py::object& strides, const py::object& padding) {
  const std::string op = "max_pool2d_backward";
  require_float(op.c_str(), "grad", grad);
  if (!argmax.dtype().is(py::dtype::of<int32_t>())) {
    throw py::type_error(op + ": argmax has dtype " + py::str(argmax.dtype()).cast<std::string>() +
                         " and shape " + shape_str(argmax) + "; expected the int32 indices " +
                         "of max_pool2d_forward");
  }
  const PoolWindow w = parse_window(op, pool, strides, padding);
  const std::vector<int64_t> x_dims = parse_shape(op, x_shape);
  const Pool2dShape s = geometry(op, "x_shape", x_dims, w);
  const std::string why = "an input of shape " + dims_str(x_dims) + " with " + w.describe();
  require_dims(op, "grad", grad, output_dims(s), why);
  require_dims(op, "argmax", argmax, output_dims(s), why);
  if (is_float32(grad)) return max_backward_typed<float>(grad, argmax, x_dims, s);
  return max_backward_typed<double>(grad, argmax, x_dims, s);
}

py::array avg_forward_entry(const py::array& x, const py::object& pool, const py::object& strides,
                            const py::object& padding) {
  const std::string op = "avg_pool2d";
  require_float(op.c_str(), "x", x);
  const PoolWindow w = parse_window(op, pool, strides, padding);
  const Pool2dShape s = geometry(op, "x", dims_of(x), w);
  if (is_float32(x)) return avg_forward_typed<float>(x, s);
  return avg_forward_typed<double>(x, s);
}

py::array avg_backward_entry(const py::array& grad, const py::object& x_shape,
                             const py::object& pool, const py::object& strides,
                             const py::object& padding) {
  const std::string op = "avg_pool2d_backward";
  require_float(op.c_str(), "grad", grad);
  const PoolWindow w = parse_window(op, pool, strides, padding);
  const std::vector<int64_t> x_dims = parse_shape(op, x_shape);
  const Pool2dShape s = geometry(op, "x_shape", x_dims, w);
  require_dims(op, "grad", grad, output_dims(s),
               "an input of shape " + dims_str(x_dims) + " with " + w.describe());
  if (is_float32(grad)) return avg_backward_typed<float>(grad, x_dims, s);
  return avg_backward_typed<double>(grad, x_dims, s);
}

}  // namespace

std::string PoolWindow::describe() const {
  return "pool_size " + pair_str(pool) + ", strides " + pair_str(strides) + " and padding '" +
         (same ? "same" : "valid") + "'";
}

PoolWindow parse_window(const std::string& op, const py::handle& pool, const py::handle& strides,
                    const py::handle& padding) {
  PoolWindow w;
  w.pool = int_pair(op, "pool_size", pool);
  w.strides = strides.is_none() ? w.pool : int_pair(op, "strides", strides);
  if (w.pool[0] < 1 || w.pool[1] < 1) {
    throw py::value_error(op + ": pool_size must be positive; got " + pair_str(w.pool));
  }
  if (w.strides[0] < 1 || w.strides[1] < 1) {
    throw py::value_error(op + ": strides must be positive; got " + pair_str(w.strides));
  }
  std::string mode;
  if (PyUnicode_Check(padding.ptr())) mode = padding.cast<std::string>();
  for (char& ch : mode) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (mode != "valid" && mode != "same") {
    throw py::value_error(op + ": padding must be 'valid' or 'same'; got " +
                          py::repr(padding).cast<std::string>());
  }
  w.same = mode == "same";
  return w;
}

// ValueError unless `dims` (the input's shape, described by `what`) is 4-D.
static void require_nhwc(const std::string& op, const std::string& what,
                  const std::vector<int64_t>& dims) {
  if (dims.size() == 4) return;
  std::string hint;
  if (dims.size() == 3) {
    hint = "; for a single image add a batch axis (x[None]), for a batch of one-channel images "
           "a channel axis (x[..., None])";
  }
  throw py::value_error(op + ": " + what + " must be 4-D (batch, height, width, channels); got " +
                        "shape " + dims_str(dims) + hint);
}

// The geometry of pooling an input of shape `dims` (checked 4-D) with `w`; ValueError when a
// window does not fit in the padded input.
Pool2dShape geometry(const std::string& op, const std::string& what,
                     const std::vector<int64_t>& dims, const PoolWindow& w) {
  require_nhwc(op, what, dims);
  const Pool2dShape s = pool2d_shape(dims[0], dims[1], dims[2], dims[3], w.pool[0], w.pool[1],
                                     w.strides[0], w.strides[1], w.same);
  if (!w.same && (dims[1] < w.pool[0] || dims[2] < w.pool[1])) {
    throw py::value_error(op + ": the " + std::to_string(w.pool[0]) + "x" +
                          std::to_string(w.pool[1]) + " window is larger than the " +
                          std::to_string(dims[1]) + "x" + std::to_string(dims[2]) + " image of " +
                          what + " with shape " + dims_str(dims) +
                          " and padding 'valid'; use a smaller pool_size or padding='same'");
  }
  if (dims[1] * dims[2] > std::numeric_limits<int32_t>::max()) {
    throw py::value_error(op + ": images of " + std::to_string(dims[1]) + "x" +
                          std::to_string(dims[2]) + " (" + what + " shape " + dims_str(dims) +
                          ") have too many positions for int32 argmax indices");
  }
  return s;
}

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
