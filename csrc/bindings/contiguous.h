#pragma once
// NumPy arrays as the CPU kernels take them: C-contiguous views of the inputs and new outputs.
// The arguments are checked before (common/checks.h and the family checks); these helpers
// assume valid dtypes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
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

// An array argument that may be absent. Held in a std::optional rather than a
// default-constructed py::array_t, which is not empty but a new array of shape (0,): one more
// NumPy allocation per call.
template <class T>
using OptionalArray = std::optional<py::array_t<T, py::array::c_style>>;

// None, or a C-contiguous array of T viewing `a` (an array, checked by the caller).
template <class T>
OptionalArray<T> optional_contiguous(const py::object& a) {
  if (a.is_none()) return std::nullopt;
  return contiguous<T>(py::reinterpret_borrow<py::array>(a));
}

template <class T>
const T* data_or_null(const OptionalArray<T>& a) {
  return a ? a->data() : nullptr;
}

// A new, uninitialized C-contiguous array of T of shape dims[0, rank), made by NumPy's C API
// directly: pybind11's constructor builds two vectors on the heap first (shape and strides), a
// visible share of a call on a small product.
template <class T, class Int>
py::array_t<T> new_array(const Int* dims, size_t rank) {
  constexpr size_t kMaxRank = 64;  // NumPy's limit
  if (rank > kMaxRank) throw py::value_error("new_array: more than 64 dimensions");
  Py_intptr_t shape[kMaxRank];
  for (size_t i = 0; i < rank; ++i) shape[i] = static_cast<Py_intptr_t>(dims[i]);
  const auto& api = py::detail::npy_api::get();
  // NewFromDescr takes (steals) the reference to the dtype.
  PyObject* array = api.PyArray_NewFromDescr_(api.PyArray_Type_, py::dtype::of<T>().release().ptr(),
                                              static_cast<int>(rank), shape, nullptr, nullptr, 0,
                                              nullptr);
  if (!array) throw py::error_already_set();
  return py::reinterpret_steal<py::array_t<T>>(array);
}
template <class T, size_t kRank>
py::array_t<T> new_array(const int64_t (&dims)[kRank]) {
  return new_array<T>(dims, kRank);
}
template <class T>
py::array_t<T> new_array(const std::vector<int64_t>& dims) {
  return new_array<T>(dims.data(), dims.size());
}

// A gradient that a backward pass computes only when asked for: a new array of T of shape dims
// held in `out`, its data returned; or None in `out` and nullptr.
template <class T, size_t kRank>
T* new_array_if(bool wanted, const int64_t (&dims)[kRank], py::object& out) {
  if (!wanted) {
    out = py::none();
    return nullptr;
  }
  auto a = new_array<T>(dims);
  T* data = a.mutable_data();
  out = std::move(a);
  return data;
}

// A new, uninitialized array of T with the shape of `like`.
template <class T>
py::array_t<T> empty_like(const py::array& like) {
  return new_array<T>(like.shape(), static_cast<size_t>(like.ndim()));
}

}  // namespace fastdl::bindings
