// Keras's pooling window parsed and checked once, for every pooling entry point of both
// extensions and for the convolution fused with max pooling.
#include "common/pool_window.h"

#include <Python.h>

#include <array>
#include <cctype>
#include <limits>

namespace fastdl::bindings {
namespace {

using Pair = std::array<int64_t, 2>;

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

}  // namespace

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

std::string PoolWindow::describe() const {
  return "pool_size " + dims_str(pool.data(), 2) + ", strides " + dims_str(strides.data(), 2) +
         " and padding '" + (same ? "same" : "valid") + "'";
}

std::string PoolWindow::describe_input(const std::vector<int64_t>& x_dims) const {
  return "an input of shape " + dims_str(x_dims) + " with " + describe();
}

PoolWindow parse_window(const std::string& op, const py::handle& pool, const py::handle& strides,
                    const py::handle& padding) {
  PoolWindow w;
  w.pool = int_pair(op, "pool_size", pool);
  w.strides = strides.is_none() ? w.pool : int_pair(op, "strides", strides);
  if (w.pool[0] < 1 || w.pool[1] < 1) {
    throw py::value_error(op + ": pool_size must be positive; got " + dims_str(w.pool.data(), 2));
  }
  if (w.strides[0] < 1 || w.strides[1] < 1) {
    throw py::value_error(op + ": strides must be positive; got " + dims_str(w.strides.data(), 2));
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

std::vector<int64_t> output_dims(const Pool2dShape& s) {
  return {s.batch, s.out_height, s.out_width, s.channels};
}

void require_output_dims(const std::string& op, const char* name, const ArrayView& a,
                         const std::vector<int64_t>& dims, const std::string& why) {
  if (a.shape == dims) return;
  throw py::value_error(op + ": " + name + " has shape " + a.shape_str() + " but " + why +
                        " gives outputs of shape " + dims_str(dims));
}

void require_argmax(const std::string& op, const ArrayView& argmax) {
  if (argmax.dtype == DType::int32) return;
  throw py::type_error(op + ": argmax has dtype " + argmax.dtype_name() + " and shape " +
                       argmax.shape_str() + "; expected the int32 indices of max_pool2d_forward");
}

}  // namespace fastdl::bindings
