// _cuda.random_uniform / random_normal / random_truncated_normal / random_integers: fill `out`
// (a C-contiguous GPU array: float32, or int32 / int64 for the integers) from the counter-based
// stream under a 64-bit key.
#include "random.h"

#include <cstdint>
#include <string>

#include "common.h"
#include "common/checks.h"
#include "common/random_range.h"

namespace fastdl::cuda::bindings {

using namespace fastdl::bindings;  // the checks both extensions share (csrc/common/)

namespace {

ArrayView float_output(const std::string& op, const py::handle& out) {
  const ArrayView o = device_array(op, "out", out);
  require_dtype(op, "out", o, DType::float32);
  return o;
}

void uniform_entry(const py::handle& out, uint64_t key, double low, double high,
                   std::uintptr_t stream) {
  const ArrayView o = float_output("random_uniform", out);
  py::gil_scoped_release release;
  random_uniform(o.data<float>(), o.size(), key, static_cast<float>(low),
                 static_cast<float>(high), as_stream(stream));
}

void normal_entry(const py::handle& out, uint64_t key, double mean, double stddev,
                  std::uintptr_t stream) {
  const ArrayView o = float_output("random_normal", out);
  py::gil_scoped_release release;
  random_normal(o.data<float>(), o.size(), key, static_cast<float>(mean),
                static_cast<float>(stddev), as_stream(stream));
}

void truncated_normal_entry(const py::handle& out, uint64_t key, double mean, double stddev,
                            std::uintptr_t stream) {
  const ArrayView o = float_output("random_truncated_normal", out);
  py::gil_scoped_release release;
  random_truncated_normal(o.data<float>(), o.size(), key, static_cast<float>(mean),
                          static_cast<float>(stddev), as_stream(stream));
}

template <class I>
void integers_typed(const ArrayView& o, uint64_t key, int64_t low, int64_t high,
                    std::uintptr_t stream) {
  require_integer_range<I>("random_integers", low, high);
  py::gil_scoped_release release;
  random_integers<I>(o.data<I>(), o.size(), key, low, high, as_stream(stream));
}

void integers_entry(const py::handle& out, uint64_t key, int64_t low, int64_t high,
                    std::uintptr_t stream) {
  const std::string op = "random_integers";
  const ArrayView o = device_array(op, "out", out);
  if (o.dtype == DType::int32) return integers_typed<int32_t>(o, key, low, high, stream);
  if (o.dtype == DType::int64) return integers_typed<int64_t>(o, key, low, high, stream);
  throw py::type_error(op + ": out must be int32 or int64, got dtype " + o.dtype_name());
}

}  // namespace

void bind_random(py::module_& m) {
  m.def("random_uniform", &uniform_entry, py::arg("out"), py::arg("key"), py::arg("low"),
        py::arg("high"), py::arg("stream"),
        "Fills out (float32) uniform on [low, high), value i a function of (key, i) only "
        "(Philox4x32-10; not the CPU's stream).");
  m.def("random_normal", &normal_entry, py::arg("out"), py::arg("key"), py::arg("mean"),
        py::arg("stddev"), py::arg("stream"),
        "Fills out (float32) with normals (Box-Muller), value i a function of (key, i) only.");
  m.def("random_truncated_normal", &truncated_normal_entry, py::arg("out"), py::arg("key"),
        py::arg("mean"), py::arg("stddev"), py::arg("stream"),
        "Fills out (float32) with normals within two standard deviations of the mean, value i "
        "a function of (key, i) only.");
  m.def("random_integers", &integers_entry, py::arg("out"), py::arg("key"), py::arg("low"),
        py::arg("high"), py::arg("stream"),
        "Fills out (int32 or int64) uniform on the integers [low, high), value i a function of "
        "(key, i) only.");
}

}  // namespace fastdl::cuda::bindings
