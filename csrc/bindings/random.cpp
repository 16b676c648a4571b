// _C.random_uniform / random_normal / random_truncated_normal / random_integers: new arrays of a
// shape and dtype filled from the counter-based stream under a 64-bit key.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/random_range.h"
#include "contiguous.h"
#include "fastdl/random.h"

namespace fastdl::bindings {
namespace {

namespace py = pybind11;

std::vector<py::ssize_t> checked_shape(const char* op, const std::vector<int64_t>& shape) {
  std::string dims;
  bool negative = false;
  for (const int64_t d : shape) {
    dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    negative = negative || d < 0;
  }
  if (negative) {
    throw py::value_error(std::string(op) + ": shape (" + dims + ") has a negative size");
  }
  return {shape.begin(), shape.end()};
}

std::string dtype_str(const py::dtype& dtype) { return py::str(dtype).cast<std::string>(); }

// A new array of the shape and a floating dtype, filled by fill(T* out, n) with the GIL
// released.
template <class Fill>
py::array float_fill(const char* op, const std::vector<int64_t>& shape, const py::dtype& dtype,
                     Fill fill) {
  const auto dims = checked_shape(op, shape);
  auto run = [&](auto array) -> py::array {
    const int64_t n = static_cast<int64_t>(array.size());
    auto* out = array.mutable_data();
    {
      py::gil_scoped_release release;
      fill(out, n);
    }
    return std::move(array);
  };
  if (dtype.is(py::dtype::of<float>())) return run(new_array<float>(dims.data(), dims.size()));
  if (dtype.is(py::dtype::of<double>())) return run(new_array<double>(dims.data(), dims.size()));
  throw py::type_error(std::string(op) + ": unsupported dtype " + dtype_str(dtype) +
                       "; expected float32 or float64");
}

py::array uniform_entry(const std::vector<int64_t>& shape, const py::dtype& dtype,
                        uint64_t key, double low, double high) {
  return float_fill("random_uniform", shape, dtype, [&](auto* out, int64_t n) {
    using T = std::remove_pointer_t<decltype(out)>;
    random_uniform<T>(out, n, key, static_cast<T>(low), static_cast<T>(high));
  });
}

py::array normal_entry(const std::vector<int64_t>& shape, const py::dtype& dtype, uint64_t key,
                       double mean, double stddev) {
  return float_fill("random_normal", shape, dtype, [&](auto* out, int64_t n) {
    using T = std::remove_pointer_t<decltype(out)>;
    random_normal<T>(out, n, key, static_cast<T>(mean), static_cast<T>(stddev));
  });
}

py::array truncated_normal_entry(const std::vector<int64_t>& shape, const py::dtype& dtype,
                                 uint64_t key, double mean, double stddev) {
  return float_fill("random_truncated_normal", shape, dtype, [&](auto* out, int64_t n) {
    using T = std::remove_pointer_t<decltype(out)>;
    random_truncated_normal<T>(out, n, key, static_cast<T>(mean), static_cast<T>(stddev));
  });
}

template <class I>
py::array integers_typed(const std::vector<py::ssize_t>& dims, uint64_t key, int64_t low,
                         int64_t high) {
  require_integer_range<I>("random_integers", low, high);
  auto array = new_array<I>(dims.data(), dims.size());
  const int64_t n = static_cast<int64_t>(array.size());
  I* out = array.mutable_data();
  {
    py::gil_scoped_release release;
    random_integers<I>(out, n, key, low, high);
  }
  return array;
}

py::array integers_entry(const std::vector<int64_t>& shape, const py::dtype& dtype, uint64_t key,
                         int64_t low, int64_t high) {
  const auto dims = checked_shape("random_integers", shape);
  if (dtype.is(py::dtype::of<int32_t>())) return integers_typed<int32_t>(dims, key, low, high);
  if (dtype.is(py::dtype::of<int64_t>())) return integers_typed<int64_t>(dims, key, low, high);
  throw py::type_error("random_integers: unsupported dtype " + dtype_str(dtype) +
                       "; expected int32 or int64");
}

}  // namespace

void bind_random(py::module_& m) {
  m.def("random_uniform", &uniform_entry, py::arg("shape"), py::arg("dtype"), py::arg("key"),
        py::arg("low"), py::arg("high"),
        "A new array uniform on [low, high), value i a function of (key, i) only.");
  m.def("random_normal", &normal_entry, py::arg("shape"), py::arg("dtype"), py::arg("key"),
        py::arg("mean"), py::arg("stddev"),
        "A new array of normals (Box-Muller), value i a function of (key, i) only.");
  m.def("random_truncated_normal", &truncated_normal_entry, py::arg("shape"), py::arg("dtype"),
        py::arg("key"), py::arg("mean"), py::arg("stddev"),
        "A new array of normals within two standard deviations of the mean, value i a function "
        "of (key, i) only.");
  m.def("random_integers", &integers_entry, py::arg("shape"), py::arg("dtype"), py::arg("key"),
        py::arg("low"), py::arg("high"),
        "A new int32 or int64 array uniform on the integers [low, high), value i a function of "
        "(key, i) only.");
}

}  // namespace fastdl::bindings
