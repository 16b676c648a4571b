#pragma once
// The arguments of the recurrent kernels, parsed and checked once for both extensions: the
// cell and activation names, and every array's shape against the inputs' (B, T, G*H) and the
// recurrent kernel's (H, G*H), with the same errors on the CPU and on the GPU.
#include <cstdint>
#include <string>

#include "common/array_view.h"
#include "fastdl/rnn.h"

namespace fastdl::bindings {

// "simple", "lstm", "gru"; ValueError naming `op` otherwise.
RnnCell parse_rnn_cell(const std::string& op, const std::string& name);

// An activation a recurrent kernel can differentiate from its output (none/linear, relu,
// sigmoid, tanh); ValueError naming `op`, `argument` and the accepted names otherwise.
Activation parse_rnn_activation(const std::string& op, const char* argument,
                                const std::string& name);

struct RnnShape {
  RnnCell cell;
  int64_t batch, steps, units;
};

// The shape of a sequence from the inputs (B, T, G*H) and the recurrent kernel (H, G*H), both
// floating with the same dtype; ValueError naming `op` and the shapes otherwise.
RnnShape rnn_shape(const std::string& op, RnnCell cell, const ArrayView& inputs,
                   const ArrayView& recurrent_kernel);

// ValueError unless `a` (one of the states, or their gradients) is (B, H) of the inputs' dtype.
void require_rnn_state(const std::string& op, const char* name, const ArrayView& a,
                       const RnnShape& shape, const ArrayView& inputs);

// ValueError unless the recurrent bias is (G*H,) of the inputs' dtype.
void require_rnn_bias(const std::string& op, const ArrayView& bias, const RnnShape& shape,
                      const ArrayView& inputs);

// ValueError unless the mask is (B, T), TypeError unless it is bool or uint8.
void require_rnn_mask(const std::string& op, const ArrayView& mask, const RnnShape& shape);

// ValueError unless `a` is (B, T, values_per_unit * H) of the inputs' dtype (the outputs'
// gradient, what the forward pass kept).
void require_rnn_sequence(const std::string& op, const char* name, const ArrayView& a,
                          const RnnShape& shape, int64_t values_per_unit,
                          const ArrayView& inputs);

}  // namespace fastdl::bindings
