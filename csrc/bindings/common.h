#pragma once
// Helpers shared by the per-family binding files: dtype checks, shape strings for error
// messages, contiguous views. Validation happens here, once, at the entry point; the kernels
// behind it assume valid shapes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

namespace fastdl::bindings {

namespace py = pybind11;

// "(64, 784)"
inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

inline bool is_float32(const py::array& a) { return a.dtype().is(py::dtype::of<float>()); }
inline bool is_float64(const py::array& a) { return a.dtype().is(py::dtype::of<double>()); }

// Raises TypeError unless `a` is float32 or float64.
inline void require_float(const char* op, const char* name, const py::array& a) {
  if (!is_float32(a) && !is_float64(a)) {
    throw py::type_error(std::string(op) + ": unsupported dtype " +
                         py::str(a.dtype()).cast<std::string>() + " for " + name + " (shape " +
                         shape_str(a) + "); expected float32 or float64");
  }
}

// Raises TypeError unless a and b have the same floating dtype.
inline void require_same_dtype(const char* op, const char* name_a, const py::array& a,
                               const char* name_b, const py::array& b) {
  if (!a.dtype().is(b.dtype())) {
    throw py::type_error(std::string(op) + ": " + name_a + " has dtype " +
                         py::str(a.dtype()).cast<std::string>() + " but " + name_b + " has dtype " +
                         py::str(b.dtype()).cast<std::string>() + "; both must be the same");
  }
}

// Raises ValueError unless a and b have the same shape.
inline void require_same_shape(const char* op, const char* name_a, const py::array& a,
                               const char* name_b, const py::array& b) {
  bool same = a.ndim() == b.ndim();
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
  if (!same) {
    throw py::value_error(std::string(op) + ": " + name_a + " has shape " + shape_str(a) + " but " +
                          name_b + " has shape " + shape_str(b) + "; they must match");
  }
}

// A C-contiguous array of T viewing `a` (copied only when `a` is not C-contiguous).
template <class T>
py::array_t<T, py::array::c_style> contiguous(const py::array& a) {
  using Contiguous = py::array_t<T, py::array::c_style>;
  // The usual case, checked without NumPy's general conversion machinery (a good share of the
  // cost of a kernel call on a small array).
  if (Contiguous::check_(a)) return py::reinterpret_borrow<Contiguous>(a);
  return Contiguous::ensure(a);
}

// A new, uninitialized array of T with the shape of `like`.
template <class T>
py::array_t<T> empty_like(const py::array& like) {
  return py::array_t<T>(std::vector<py::ssize_t>(like.shape(), like.shape() + like.ndim()));
}

}  // namespace fastdl::bindings
