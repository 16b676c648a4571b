#pragma once
// Arrays on the GPU as the bindings see them: anything exposing __cuda_array_interface__ (CuPy,
// PyTorch, Numba). Shapes and dtypes are validated here, once, at the entry point, with messages
// that name the operation; the kernels behind assume valid, C-contiguous arrays. Outputs are
// allocated by the caller (CuPy's memory pool) and passed in like the inputs.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fastdl::cuda::bindings {

namespace py = pybind11;

enum class DType { float32, float64, int32, int64, uint8, other };

struct DeviceArray {
  void* ptr = nullptr;
  std::vector<int64_t> shape;
  DType dtype = DType::other;
  std::string typestr;  // the interface's spelling, e.g. "<f4"

  int64_t size() const;
  int64_t dim(int i) const { return shape[i < 0 ? shape.size() + i : i]; }
  int ndim() const { return static_cast<int>(shape.size()); }
  std::string shape_str() const;  // "(64, 784)"
  template <class T>
  T* data() const {
    return static_cast<T*>(ptr);
  }
};

// The array behind obj.__cuda_array_interface__; TypeError naming `op` and `name` when obj has
// none (a NumPy array, say) and ValueError when it is not C-contiguous.
DeviceArray device_array(const std::string& op, const char* name, const py::handle& obj);

// The same for an optional argument: ptr null when obj is None.
DeviceArray optional_device_array(const std::string& op, const char* name, const py::handle& obj);

// TypeError unless `a` has dtype `expected`.
void require_dtype(const std::string& op, const char* name, const DeviceArray& a, DType expected);

// ValueError unless `a` has shape `shape`; `why` says where that shape comes from.
void require_shape(const std::string& op, const char* name, const DeviceArray& a,
                   const std::vector<int64_t>& shape, const std::string& why);

// ValueError unless a and b have the same shape.
void require_same_shape(const std::string& op, const char* name_a, const DeviceArray& a,
                        const char* name_b, const DeviceArray& b);

std::string dtype_name(DType dtype);
std::string dims_string(const std::vector<int64_t>& dims);

}  // namespace fastdl::cuda::bindings
