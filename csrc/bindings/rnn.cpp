// _C.rnn_forward / _C.rnn_backward: a recurrent layer over whole sequences (fastdl/rnn.h).
#include <optional>
#include <string>

#include "common/checks.h"
#include "common/rnn_args.h"
#include "contiguous.h"
#include "fastdl/rnn.h"

namespace fastdl::bindings {
namespace {

// What both directions share: the sequence's description, its arrays held alive.
template <class T>
struct SequenceArgs {
  py::array_t<T, py::array::c_style> kernel;
  OptionalArray<T> bias;
  OptionalArray<uint8_t> mask;
  RnnSequence<T> seq;

  SequenceArgs(const RnnShape& shape, const py::array& recurrent_kernel,
               const py::object& recurrent_bias, const py::object& mask_arg, Activation act,
               Activation recurrent_act, bool go_backwards, bool zero_output_for_mask)
      : kernel(contiguous<T>(recurrent_kernel)),
        bias(optional_contiguous<T>(recurrent_bias)),
        mask(optional_contiguous<uint8_t>(mask_arg)) {
    seq.cell = shape.cell;
    seq.batch = shape.batch;
    seq.steps = shape.steps;
    seq.units = shape.units;
    seq.activation = act;
    seq.recurrent_activation = recurrent_act;
    seq.go_backwards = go_backwards;
    seq.zero_output_for_mask = zero_output_for_mask;
    seq.recurrent_kernel = kernel.data();
    seq.recurrent_bias = data_or_null(bias);
    seq.mask = data_or_null(mask);
  }
};

// The checks of the arguments both directions take besides the inputs.
void check_common(const std::string& op, const RnnShape& shape, const ArrayView& like,
                  const py::object& recurrent_bias, const py::object& mask) {
  if (!recurrent_bias.is_none()) {
    if (shape.cell != RnnCell::gru) {
      throw py::value_error(op + ": only the gru cell takes a recurrent_bias");
    }
    require_rnn_bias(op, ArrayView(py::reinterpret_borrow<py::array>(recurrent_bias)), shape,
                     like);
  }
  if (!mask.is_none()) {
    require_rnn_mask(op, ArrayView(py::reinterpret_borrow<py::array>(mask)), shape);
  }
}

template <class T>
py::tuple forward_typed(const RnnShape& shape, const py::array& inputs, const py::array& kernel,
                        const py::object& bias, const py::array& h0, const py::object& c0,
                        const py::object& mask, Activation act, Activation recurrent_act,
                        bool go_backwards, bool zero_output_for_mask, bool keep) {
  SequenceArgs<T> args(shape, kernel, bias, mask, act, recurrent_act, go_backwards,
                       zero_output_for_mask);
  const py::ssize_t B = shape.batch, T_ = shape.steps, H = shape.units;
  const bool lstm = shape.cell == RnnCell::lstm;
  const auto xc = contiguous<T>(inputs), h0c = contiguous<T>(h0);
  const auto c0c = optional_contiguous<T>(c0);
  auto outputs = new_array<T>({B, T_, H});
  auto h_last = new_array<T>({B, H});
  py::object c_last = py::none(), saved = py::none(), h_entering = py::none(),
             c_entering = py::none();
  RnnForwardIO<T> io;
  io.inputs = xc.data();
  io.h0 = h0c.data();
  io.c0 = data_or_null(c0c);
  io.outputs = outputs.mutable_data();
  io.h_last = h_last.mutable_data();
  const auto make = [](py::object& slot, std::initializer_list<py::ssize_t> dims) {
    auto a = new_array<T>(dims);
    T* p = a.mutable_data();
    slot = std::move(a);
    return p;
  };
  if (lstm) io.c_last = make(c_last, {B, H});
  if (keep) {
    io.saved = make(saved, {B, T_, rnn_saved_values(shape.cell) * H});
    io.h_entering = make(h_entering, {B, T_, H});
    if (lstm) io.c_entering = make(c_entering, {B, T_, H});
  }
  {
    py::gil_scoped_release release;
    rnn_forward<T>(args.seq, io);
  }
  return py::make_tuple(outputs, h_last, c_last, saved, h_entering, c_entering);
}

py::tuple forward_entry(const std::string& cell, const py::array& inputs,
                        const py::array& recurrent_kernel, const py::object& recurrent_bias,
                        const py::array& h0, const py::object& c0, const py::object& mask,
                        const std::string& activation, const std::string& recurrent_activation,
                        bool go_backwards, bool zero_output_for_mask, bool keep) {
  const std::string op = "rnn_forward";
  const ArrayView x(inputs);
  const RnnShape shape = rnn_shape(op, parse_rnn_cell(op, cell), x, ArrayView(recurrent_kernel));
  const Activation act = parse_rnn_activation(op, "activation", activation);
  const Activation recurrent_act =
      parse_rnn_activation(op, "recurrent_activation", recurrent_activation);
  require_rnn_state(op, "h0", ArrayView(h0), shape, x);
  if (shape.cell == RnnCell::lstm) {
    if (c0.is_none()) throw py::value_error(op + ": the lstm cell needs c0");
    require_rnn_state(op, "c0", ArrayView(py::reinterpret_borrow<py::array>(c0)), shape, x);
  }
  check_common(op, shape, x, recurrent_bias, mask);
  if (x.dtype == DType::float32) {
    return forward_typed<float>(shape, inputs, recurrent_kernel, recurrent_bias, h0, c0, mask, act,
                                recurrent_act, go_backwards, zero_output_for_mask, keep);
  }
  return forward_typed<double>(shape, inputs, recurrent_kernel, recurrent_bias, h0, c0, mask, act,
                               recurrent_act, go_backwards, zero_output_for_mask, keep);
}

template <class T>
py::tuple backward_typed(const RnnShape& shape, const py::array& kernel, const py::object& bias,
                         const py::object& mask, Activation act, Activation recurrent_act,
                         bool go_backwards, bool zero_output_for_mask, const py::array& saved,
                         const py::array& h_entering, const py::object& c_entering,
                         const py::object& d_outputs, const py::object& d_h_last,
                         const py::object& d_c_last) {
  SequenceArgs<T> args(shape, kernel, bias, mask, act, recurrent_act, go_backwards,
                       zero_output_for_mask);
  const py::ssize_t B = shape.batch, T_ = shape.steps, H = shape.units;
  const py::ssize_t G = rnn_gates(shape.cell);
  const bool lstm = shape.cell == RnnCell::lstm;
  const auto saved_c = contiguous<T>(saved), h_c = contiguous<T>(h_entering);
  const auto c_c = optional_contiguous<T>(c_entering), dy = optional_contiguous<T>(d_outputs),
             dh = optional_contiguous<T>(d_h_last), dc = optional_contiguous<T>(d_c_last);
  auto d_inputs = new_array<T>({B, T_, G * H});
  auto d_kernel = new_array<T>({H, G * H});
  auto d_h0 = new_array<T>({B, H});
  py::object d_bias = py::none(), d_c0 = py::none();
  RnnBackwardIO<T> io;
  io.d_outputs = data_or_null(dy);
  io.d_h_last = data_or_null(dh);
  io.d_c_last = data_or_null(dc);
  io.saved = saved_c.data();
  io.h_entering = h_c.data();
  io.c_entering = data_or_null(c_c);
  io.d_inputs = d_inputs.mutable_data();
  io.d_recurrent_kernel = d_kernel.mutable_data();
  io.d_h0 = d_h0.mutable_data();
  if (args.bias) {
    auto a = new_array<T>({G * H});
    io.d_recurrent_bias = a.mutable_data();
    d_bias = std::move(a);
  }
  if (lstm) {
    auto a = new_array<T>({B, H});
    io.d_c0 = a.mutable_data();
    d_c0 = std::move(a);
  }
  {
    py::gil_scoped_release release;
    rnn_backward<T>(args.seq, io);
  }
  return py::make_tuple(d_inputs, d_kernel, d_bias, d_h0, d_c0);
}

py::tuple backward_entry(const std::string& cell, const py::array& recurrent_kernel,
                         const py::object& recurrent_bias, const py::object& mask,
                         const std::string& activation, const std::string& recurrent_activation,
                         bool go_backwards, bool zero_output_for_mask, const py::array& saved,
                         const py::array& h_entering, const py::object& c_entering,
                         const py::object& d_outputs, const py::object& d_h_last,
                         const py::object& d_c_last) {
  const std::string op = "rnn_backward";
  const RnnCell kind = parse_rnn_cell(op, cell);
  const ArrayView h(h_entering), kernel(recurrent_kernel);
  require_float(op, "h_entering", h);
  require_same_dtype(op, "h_entering", h, "recurrent_kernel", kernel);
  if (h.ndim() != 3 || kernel.ndim() != 2 || kernel.dim(0) != h.dim(2) ||
      kernel.dim(1) != rnn_gates(kind) * kernel.dim(0)) {
    throw py::value_error(op + ": h_entering has shape " + h.shape_str() +
                          " and recurrent_kernel " + kernel.shape_str() +
                          "; expected (batch, steps, units) and (units, " +
                          std::to_string(rnn_gates(kind)) + " * units)");
  }
  const RnnShape shape{kind, h.dim(0), h.dim(1), h.dim(2)};
  const Activation act = parse_rnn_activation(op, "activation", activation);
  const Activation recurrent_act =
      parse_rnn_activation(op, "recurrent_activation", recurrent_activation);
  check_common(op, shape, h, recurrent_bias, mask);
  require_rnn_sequence(op, "saved", ArrayView(saved), shape, rnn_saved_values(kind), h);
  const auto optional_sequence = [&](const char* name, const py::object& a) {
    if (!a.is_none()) {
      require_rnn_sequence(op, name, ArrayView(py::reinterpret_borrow<py::array>(a)), shape, 1, h);
    }
  };
  const auto optional_state = [&](const char* name, const py::object& a) {
    if (!a.is_none()) {
      require_rnn_state(op, name, ArrayView(py::reinterpret_borrow<py::array>(a)), shape, h);
    }
  };
  optional_sequence("d_outputs", d_outputs);
  optional_state("d_h_last", d_h_last);
  if (kind == RnnCell::lstm) {
    if (c_entering.is_none()) throw py::value_error(op + ": the lstm cell needs c_entering");
    optional_sequence("c_entering", c_entering);
    optional_state("d_c_last", d_c_last);
  }
  if (h.dtype == DType::float32) {
    return backward_typed<float>(shape, recurrent_kernel, recurrent_bias, mask, act,
                                 recurrent_act, go_backwards, zero_output_for_mask, saved,
                                 h_entering, c_entering, d_outputs, d_h_last, d_c_last);
  }
  return backward_typed<double>(shape, recurrent_kernel, recurrent_bias, mask, act, recurrent_act,
                                go_backwards, zero_output_for_mask, saved, h_entering, c_entering,
                                d_outputs, d_h_last, d_c_last);
}

}  // namespace

void bind_rnn(py::module_& m) {
  m.def("rnn_forward", &forward_entry, py::arg("cell"), py::arg("inputs"),
        py::arg("recurrent_kernel"), py::arg("recurrent_bias"), py::arg("h0"), py::arg("c0"),
        py::arg("mask"), py::arg("activation"), py::arg("recurrent_activation"),
        py::arg("go_backwards"), py::arg("zero_output_for_mask"), py::arg("keep"),
        "A recurrent layer over whole sequences: (outputs, h_last, c_last, saved, h_entering, "
        "c_entering); inputs (B, T, G*H) are x W + b, the last three are kept for the backward "
        "pass (None unless keep).");
  m.def("rnn_backward", &backward_entry, py::arg("cell"), py::arg("recurrent_kernel"),
        py::arg("recurrent_bias"), py::arg("mask"), py::arg("activation"),
        py::arg("recurrent_activation"), py::arg("go_backwards"),
        py::arg("zero_output_for_mask"), py::arg("saved"), py::arg("h_entering"),
        py::arg("c_entering"), py::arg("d_outputs"), py::arg("d_h_last"), py::arg("d_c_last"),
        "The gradients of rnn_forward: (d_inputs, d_recurrent_kernel, d_recurrent_bias, d_h0, "
        "d_c0).");
}

}  // namespace fastdl::bindings
