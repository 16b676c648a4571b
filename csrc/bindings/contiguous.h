#pragma once
// NumPy arrays as the CPU kernels take them: C-contiguous views of the inputs and new outputs.
// The arguments are checked before (common/checks.h and the family checks); these helpers
// assume valid dtypes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

namespace fastdl::bindings {

namespace py = pybind11;

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
