#pragma once
// An array as the entry points of both extensions see it: a NumPy array (fastdl._C) or a GPU
// array behind __cuda_array_interface__ (CuPy, PyTorch, Numba; fastdl._cuda), reduced to its
// data pointer, shape and dtype, so that the argument checks (checks.h and the family checks
// beside it) are written once for both. A NumPy array's view costs one small allocation (the
// shape) and no Python call unless its dtype is none of DType's: the CPU entry points make one
// per argument on every call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fastdl::bindings {

namespace py = pybind11;

// The dtypes the kernels take; any other is `other`.
enum class DType { float32, float64, int32, int64, uint8, other };

// "float32", ...; for `other`, "an unsupported dtype".
const char* name_of(DType dtype);

struct ArrayView {
  // The first element. A GPU array's is C-contiguous (device_array checks); a NumPy array's
  // may be strided, and the CPU entry points read it through contiguous<T>.
  void* ptr = nullptr;
  std::vector<int64_t> shape;
  DType dtype = DType::other;
  std::string other_dtype;  // the array's own name of a dtype that is `other` ("float16", "<f2")

  ArrayView() = default;
  // A NumPy array; a dtype is one of DType's only when it is NumPy's own object for it (native
  // byte order).
  explicit ArrayView(const py::array& a);

  int64_t size() const;
  int64_t dim(int i) const { return shape[i < 0 ? shape.size() + i : i]; }
  int ndim() const { return static_cast<int>(shape.size()); }
  std::string shape_str() const;  // "(64, 784)"
  std::string dtype_name() const { return dtype == DType::other ? other_dtype : name_of(dtype); }
  template <class T>
  T* data() const {
    return static_cast<T*>(ptr);
  }
};

// "(64, 784)", "(5,)", "()": a shape, or any tuple of ints, as Python prints it.
std::string dims_str(const int64_t* dims, size_t n);
inline std::string dims_str(const std::vector<int64_t>& dims) {
  return dims_str(dims.data(), dims.size());
}

// The GPU array behind obj.__cuda_array_interface__; TypeError naming `op` and `name` when obj
// has none (a NumPy array, say) and ValueError when it is not C-contiguous.
ArrayView device_array(const std::string& op, const char* name, const py::handle& obj);

// The same for an optional argument: ptr null when obj is None.
ArrayView optional_device_array(const std::string& op, const char* name, const py::handle& obj);

}  // namespace fastdl::bindings
