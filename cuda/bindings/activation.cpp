// _cuda.activation_forward / _cuda.activation_backward.
#include "activation.h"

#include "common.h"
#include "common/activation_names.h"
#include "common/checks.h"

namespace fastdl::cuda::bindings {

using namespace fastdl::bindings;  // the checks both extensions share (csrc/common/)

namespace {

void forward_entry(const std::string& name, const py::handle& x, const py::handle& y,
                   double alpha, std::uintptr_t stream) {
  const Activation act = parse_activation("activation_forward", name);
  const ArrayView xa = device_array(name, "x", x), ya = device_array(name, "out", y);
  require_dtype(name, "x", xa, DType::float32);
  require_dtype(name, "out", ya, DType::float32);
  require_same_shape(name, "x", xa, "out", ya);
  py::gil_scoped_release release;
  activation_forward(act, xa.data<float>(), ya.data<float>(), xa.size(), float(alpha),
                     as_stream(stream));
}

void backward_entry(const std::string& name, const py::handle& grad, const py::handle& saved,
                    const py::handle& out, double alpha, std::uintptr_t stream) {
  const Activation act = parse_activation("activation_backward", name);
  const std::string op = name + "_backward";
  const ArrayView g = device_array(op, "grad", grad), s = device_array(op, "saved", saved),
                  dx = device_array(op, "out", out);
  for (const auto& [what, a] : {std::pair{"grad", &g}, {"saved", &s}, {"out", &dx}})
    require_dtype(op, what, *a, DType::float32);
  require_same_shape(op, "grad", g, "saved", s);
  require_same_shape(op, "grad", g, "out", dx);
  py::gil_scoped_release release;
  activation_backward(act, g.data<float>(), s.data<float>(), dx.data<float>(), g.size(),
                      float(alpha), as_stream(stream));
}

}  // namespace

void bind_activation(py::module_& m) {
  m.def("activation_forward", &forward_entry, py::arg("name"), py::arg("x"), py::arg("out"),
        py::arg("alpha"), py::arg("stream"),
        "out = act(x) elementwise on float32 GPU arrays of one shape (out may be x).");
  m.def("activation_backward", &backward_entry, py::arg("name"), py::arg("grad"),
        py::arg("saved"), py::arg("out"), py::arg("alpha"), py::arg("stream"),
        "out = grad * act'(.) elementwise; `saved` as for the CPU kernel (out may be grad).");
}

}  // namespace fastdl::cuda::bindings
