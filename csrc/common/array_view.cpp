#include "common/array_view.h"

#include <iterator>
#include <stdexcept>

namespace fastdl::bindings {
namespace {

// A NumPy dtype as one of DType's when it is NumPy's own object for it (the dtype of an array
// of native byte order), or failing that an equivalent one: exactly what contiguous<T> reads
// without a conversion. An array rebuilt by pickle (multiprocessing, joblib) carries a dtype
// object of its own, equal to NumPy's but not it. NumPy's objects live as long as NumPy does;
// they are looked up once.
DType dtype_of(const py::dtype& d) {
  static PyObject* const known[] = {
      py::dtype::of<float>().release().ptr(), py::dtype::of<double>().release().ptr(),
      py::dtype::of<int32_t>().release().ptr(), py::dtype::of<int64_t>().release().ptr(),
      py::dtype::of<uint8_t>().release().ptr()};
  constexpr DType kinds[] = {DType::float32, DType::float64, DType::int32, DType::int64,
                             DType::uint8};
  for (size_t i = 0; i < std::size(known); ++i) {
    if (d.ptr() == known[i]) return kinds[i];
  }
  for (size_t i = 0; i < std::size(known); ++i) {
    if (d.equal(py::reinterpret_borrow<py::dtype>(known[i]))) return kinds[i];
  }
  // One byte has no byte order, but NumPy keeps the one a dtype was made with: '>u1' (read
  // from a big-endian file format) is another object than uint8's, and the same type.
  if (d.kind() == 'u' && d.itemsize() == 1) return DType::uint8;
  return DType::other;
}

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

const char* name_of(DType dtype) {
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

void Dims::push_back(int64_t d) {
  // NumPy's arrays have at most kMax dimensions, and device_array checks a GPU array's first.
  if (n_ == kMax) throw std::length_error("Dims: more than 64 dimensions");
  dims_[n_++] = d;
}

ArrayView::ArrayView(const py::array& a)
    : ptr(const_cast<void*>(a.data())), shape(a.shape(), static_cast<size_t>(a.ndim())) {
  const py::dtype d = a.dtype();
  dtype = dtype_of(d);
  if (dtype == DType::other) other_dtype = py::str(d).cast<std::string>();
}

int64_t ArrayView::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ArrayView::shape_str() const { return dims_str(shape); }

std::string dims_str(const int64_t* dims, size_t n) {
  std::string s = "(";
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (n == 1 ? ",)" : ")");
}

ArrayView device_array(const std::string& op, const char* name, const py::handle& obj) {
  if (!py::hasattr(obj, "__cuda_array_interface__")) {
    throw py::type_error(op + ": " + name + " must be an array on the GPU (CuPy or another " +
                         "__cuda_array_interface__ array); got " +
                         py::str(py::type::of(obj)).cast<std::string>());
  }
  const py::dict cai = obj.attr("__cuda_array_interface__");
  ArrayView a;
  const py::tuple dims = cai["shape"].cast<py::tuple>();
  if (dims.size() > Dims::kMax) {
    throw py::value_error(op + ": " + name + " has " + std::to_string(dims.size()) +
                          " dimensions; at most " + std::to_string(Dims::kMax) +
                          " are supported");
  }
  for (const py::handle d : dims) a.shape.push_back(d.cast<int64_t>());
  const std::string typestr = cai["typestr"].cast<std::string>();
  a.dtype = parse_dtype(typestr);
  if (a.dtype == DType::other) a.other_dtype = typestr;
  a.ptr = reinterpret_cast<void*>(cai["data"].cast<py::tuple>()[0].cast<std::uintptr_t>());
  if (cai.contains("strides") && !cai["strides"].is_none() && a.dtype != DType::other) {
    // C-contiguous: each stride is the product of the sizes after it (any stride will do for
    // an axis of size 1).
    const py::tuple strides = cai["strides"].cast<py::tuple>();
    int64_t expected = itemsize(typestr);
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

ArrayView optional_device_array(const std::string& op, const char* name, const py::handle& obj) {
  return obj.is_none() ? ArrayView{} : device_array(op, name, obj);
}

}  // namespace fastdl::bindings
