#include "common/rnn_args.h"

#include <vector>

#include "common/activation_names.h"
#include "common/checks.h"

namespace fastdl::bindings {

RnnCell parse_rnn_cell(const std::string& op, const std::string& name) {
  if (name == "simple") return RnnCell::simple;
  if (name == "lstm") return RnnCell::lstm;
  if (name == "gru") return RnnCell::gru;
  throw py::value_error(op + ": unknown cell '" + name + "'; expected simple, lstm or gru");
}

Activation parse_rnn_activation(const std::string& op, const char* argument,
                                const std::string& name) {
  const Activation act = parse_activation(op.c_str(), name);
  if (act == Activation::none || act == Activation::relu || act == Activation::sigmoid ||
      act == Activation::tanh) {
    return act;
  }
  throw py::value_error(op + ": " + argument + " '" + name +
                        "' is not one the recurrent kernels differentiate from their output; "
                        "expected none, relu, sigmoid or tanh");
}

RnnShape rnn_shape(const std::string& op, RnnCell cell, const ArrayView& inputs,
                   const ArrayView& recurrent_kernel) {
  require_float(op, "inputs", inputs);
  require_same_dtype(op, "inputs", inputs, "recurrent_kernel", recurrent_kernel);
  const int64_t gates = rnn_gates(cell);
  if (recurrent_kernel.ndim() != 2 || recurrent_kernel.dim(1) != gates * recurrent_kernel.dim(0)) {
    throw py::value_error(op + ": recurrent_kernel has shape " + recurrent_kernel.shape_str() +
                          "; expected (units, " + std::to_string(gates) + " * units)");
  }
  const int64_t units = recurrent_kernel.dim(0);
  if (inputs.ndim() != 3 || inputs.dim(2) != gates * units) {
    throw py::value_error(op + ": inputs have shape " + inputs.shape_str() +
                          "; expected (batch, steps, " + std::to_string(gates * units) +
                          ") for a recurrent kernel of shape " + recurrent_kernel.shape_str());
  }
  return {cell, inputs.dim(0), inputs.dim(1), units};
}

void require_rnn_state(const std::string& op, const char* name, const ArrayView& a,
                       const RnnShape& shape, const ArrayView& inputs) {
  require_same_dtype(op, "inputs", inputs, name, a);
  require_shape(op, name, a, {shape.batch, shape.units}, "(batch, units) of the inputs");
}

void require_rnn_bias(const std::string& op, const ArrayView& bias, const RnnShape& shape,
                      const ArrayView& inputs) {
  require_same_dtype(op, "inputs", inputs, "recurrent_bias", bias);
  require_shape(op, "recurrent_bias", bias, {rnn_gates(shape.cell) * shape.units},
                "(gates * units,) of the recurrent kernel");
}

void require_rnn_mask(const std::string& op, const ArrayView& mask, const RnnShape& shape) {
  if (mask.dtype != DType::uint8) {
    throw py::type_error(op + ": mask has dtype " + mask.dtype_name() + "; expected bool or uint8");
  }
  require_shape(op, "mask", mask, {shape.batch, shape.steps}, "(batch, steps) of the inputs");
}

void require_rnn_sequence(const std::string& op, const char* name, const ArrayView& a,
                          const RnnShape& shape, int64_t values_per_unit,
                          const ArrayView& inputs) {
  require_same_dtype(op, "inputs", inputs, name, a);
  require_shape(op, name, a, {shape.batch, shape.steps, values_per_unit * shape.units},
                "(batch, steps, " + std::to_string(values_per_unit) + " * units)");
}

}  // namespace fastdl::bindings
