#include "device_array.h"

namespace fastdl::cuda::bindings {
namespace {

DType parse_dtype(const std::string& typestr) {
  // Byte order '<' (little endian) or '|' (not applicable); the GPU is little endian.
  if (typestr.size() < 3 || typestr[0] == '>') return DType::other;
  const std::string kind = typestr.substr(1);
  if (kind == "f4") return DType::float32;
  if (kind == "f8") return DType::float64;
  if (kind == "i4") return DType::int32;
  if (kind == "i8") return DType::int64;
  if (kind == "u1" || kind == "b1") return DType::uint8;
  return DType::other;
}

int64_t itemsize(const std::string& typestr) { return std::stoll(typestr.substr(2)); }

}  // namespace

int64_t DeviceArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string DeviceArray::shape_str() const { return dims_string(shape); }

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int32: return "int32";
    case DType::int64: return "int64";
    case DType::uint8: return "uint8";
    case DType::other: break;
  }
  return "an unsupported dtype";
}

DeviceArray device_array(const std::string& op, const char* name, const py::handle& obj) {
  if (!py::hasattr(obj, "__cuda_array_interface__")) {
    throw py::type_error(op + ": " + name + " must be an array on the GPU (CuPy or another " +
                         "__cuda_array_interface__ array); got " +
                         py::str(py::type::of(obj)).cast<std::string>());
  }
  const py::dict cai = obj.attr("__cuda_array_interface__");
  DeviceArray a;
  for (const py::handle d : cai["shape"].cast<py::tuple>()) a.shape.push_back(d.cast<int64_t>());
  a.typestr = cai["typestr"].cast<std::string>();
  a.dtype = parse_dtype(a.typestr);
  a.ptr = reinterpret_cast<void*>(cai["data"].cast<py::tuple>()[0].cast<std::uintptr_t>());
  if (cai.contains("strides") && !cai["strides"].is_none() && a.dtype != DType::other) {
    // C-contiguous: each stride is the product of the sizes after it (any stride will do for
    // an axis of size 1).
    const py::tuple strides = cai["strides"].cast<py::tuple>();
    int64_t expected = itemsize(a.typestr);
    for (int i = a.ndim() - 1; i >= 0; --i) {
      if (a.shape[i] != 1 && strides[i].cast<int64_t>() != expected) {
        throw py::value_error(op + ": " + name + " (shape " + a.shape_str() +
                              ") must be C-contiguous; make it so with cupy.ascontiguousarray");
      }
      expected *= a.shape[i];
    }
  }
  return a;
}

DeviceArray optional_device_array(const std::string& op, const char* name, const py::handle& obj) {
  return obj.is_none() ? DeviceArray{} : device_array(op, name, obj);
}

void require_dtype(const std::string& op, const char* name, const DeviceArray& a, DType expected) {
  if (a.dtype == expected) return;
  throw py::type_error(op + ": " + name + " has dtype " +
                       (a.dtype == DType::other ? a.typestr : dtype_name(a.dtype)) + " (shape " +
                       a.shape_str() + "); the CUDA kernel takes " + dtype_name(expected));
}

void require_shape(const std::string& op, const char* name, const DeviceArray& a,
                   const std::vector<int64_t>& shape, const std::string& why) {
  if (a.shape == shape) return;
  throw py::value_error(op + ": " + name + " has shape " + a.shape_str() + " but " + why +
                        " needs shape " + dims_string(shape));
}

void require_same_shape(const std::string& op, const char* name_a, const DeviceArray& a,
                        const char* name_b, const DeviceArray& b) {
  if (a.shape == b.shape) return;
  throw py::value_error(op + ": " + name_a + " has shape " + a.shape_str() + " but " + name_b +
                        " has shape " + b.shape_str() + "; they must match");
}

}  // namespace fastdl::cuda::bindings
