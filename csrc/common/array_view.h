#pragma once
// An array as the entry points of both extensions see it: a NumPy array (fastdl._C) or a GPU
// array behind __cuda_array_interface__ (CuPy, PyTorch, Numba; fastdl._cuda), reduced to its
// data pointer, shape and dtype, so that the argument checks (checks.h and the family checks
// beside it) are written once for both. A NumPy array's view costs no allocation and no Python
// call unless its dtype is none of DType's: the CPU entry points make one per argument on every
// call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
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

// A shape held in place: NumPy allows at most 64 dimensions (32 before NumPy 2), so a view
// needs no heap allocation for it (one per argument was 10-25 ns of a small kernel call).
class Dims {
 public:
  static constexpr size_t kMax = 64;

  Dims() = default;
  template <class Int>
  Dims(const Int* dims, size_t n) {
    for (size_t i = 0; i < n; ++i) push_back(static_cast<int64_t>(dims[i]));
  }

  // std::length_error past kMax dimensions (callers check their arrays' rank before).
  void push_back(int64_t d);

  size_t size() const { return n_; }
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + n_; }
  int64_t operator[](size_t i) const { return dims_[i]; }
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }

  friend bool operator==(const Dims& a, const Dims& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const Dims& a, const std::vector<int64_t>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator!=(const Dims& a, const Dims& b) { return !(a == b); }
  friend bool operator!=(const Dims& a, const std::vector<int64_t>& b) { return !(a == b); }

 private:
  int64_t dims_[kMax];  // the first n_ are set
  size_t n_ = 0;
};

struct ArrayView {
  // The first element. A GPU array's is C-contiguous (device_array checks); a NumPy array's
  // may be strided, and the CPU entry points read it through contiguous<T>.
  void* ptr = nullptr;
  Dims shape;
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
inline std::string dims_str(const Dims& dims) { return dims_str(dims.begin(), dims.size()); }

// The GPU array behind obj.__cuda_array_interface__; TypeError naming `op` and `name` when obj
// has none (a NumPy array, say) and ValueError when it is not C-contiguous.
ArrayView device_array(const std::string& op, const char* name, const py::handle& obj);

// The same for an optional argument: ptr null when obj is None.
ArrayView optional_device_array(const std::string& op, const char* name, const py::handle& obj);

}  // namespace fastdl::bindings
