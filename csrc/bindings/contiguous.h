#pragma once
// NumPy arrays as the CPU kernels take them: C-contiguous views of the inputs and new outputs.
// The arguments are checked before (common/checks.h and the family checks); these helpers
// assume valid dtypes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

namespace fastdl::bindings {

namespace py = pybind11;

// A C-contiguous, aligned array of T viewing `a` (copied only when `a` is not C-contiguous or
// not aligned: an array unpickled from a byte string may start at any address).
template <class T>
py::array_t<T, py::array::c_style> contiguous(const py::array& a) {
  using Contiguous = py::array_t<T, py::array::c_style>;
  constexpr int kAligned = py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  // The usual case, checked without NumPy's general conversion machinery (a good share of the
  // cost of a kernel call on a small array).
  if (Contiguous::check_(a) && (a.flags() & kAligned)) {
    return py::reinterpret_borrow<Contiguous>(a);
  }
  // NumPy's conversion, asked for an aligned array too: it copies only what needs it.
  using AlignedContiguous = py::array_t<T, py::array::c_style | kAligned>;
  return py::reinterpret_steal<Contiguous>(AlignedContiguous::ensure(a).release());
}

// A new, uninitialized array of T with the shape of `like`.
template <class T>
py::array_t<T> empty_like(const py::array& like) {
  return py::array_t<T>(std::vector<py::ssize_t>(like.shape(), like.shape() + like.ndim()));
}

}  // namespace fastdl::bindings
