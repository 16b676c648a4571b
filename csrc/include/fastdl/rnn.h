#pragma once
// Recurrent layers over whole sequences: SimpleRNN, LSTM and GRU (Keras's reset_after form).
//
// The input projection x W + b of every step is one GEMM done by the caller; these kernels take
// its result and run the recurrence: per step one product of the state with the recurrent
// kernel, whose tiles leave the registers through the cell's gate activations and state update.
// The backward pass runs the steps in reverse, per step the gate gradients and one product for
// the entering state's gradient, then the recurrent kernel's gradient as one GEMM over all steps.
//
// Layouts are Keras's, batch first: inputs (B, T, G*H) with the gates side by side in Keras's
// order (LSTM i, f, c, o; GRU z, r, h), the recurrent kernel (H, G*H), states (B, H). Step s of
// the recurrence reads input step t(s) = s, or T-1-s with go_backwards; the outputs are written
// in the order the steps run (as Keras returns them), everything kept for the backward pass in
// input order. A step whose mask is 0 leaves the state as it was and outputs the previous
// output (or zeros with zero_output_for_mask).
#include <cstdint>

#include "fastdl/activation.h"

namespace fastdl {

enum class RnnCell {
  simple,  // h = act(x W + b + h U)
  lstm,    // gates i, f, c, o
  gru,     // gates z, r, h; reset applied after the recurrent product (reset_after=True)
};

// Gates per unit: 1, 4, 3.
constexpr int rnn_gates(RnnCell cell) {
  return cell == RnnCell::lstm ? 4 : cell == RnnCell::gru ? 3 : 1;
}
// Values per unit and step kept for the backward pass: SimpleRNN the new state; LSTM the four
// activated gates and act(c); GRU z, r, the candidate and the candidate's recurrent term.
constexpr int rnn_saved_values(RnnCell cell) {
  return cell == RnnCell::lstm ? 5 : cell == RnnCell::gru ? 4 : 1;
}

// What is fixed for a sequence. The activations are those whose derivative follows from their
// output: none, relu, sigmoid, tanh.
template <class T>
struct RnnSequence {
  RnnCell cell = RnnCell::lstm;
  int64_t batch = 0, steps = 0, units = 0;
  Activation activation = Activation::tanh;            // the candidate and, in an LSTM, the cell
  Activation recurrent_activation = Activation::sigmoid;  // the gates
  bool go_backwards = false;
  bool zero_output_for_mask = false;
  const T* recurrent_kernel = nullptr;  // (H, G*H)
  const T* recurrent_bias = nullptr;    // GRU: (G*H), added to h U inside the reset; or nullptr
  const uint8_t* mask = nullptr;        // (B, T), nonzero = step taken; or nullptr
};

template <class T>
struct RnnForwardIO {
  const T* inputs = nullptr;  // (B, T, G*H): x W + b
  const T* h0 = nullptr;      // (B, H)
  const T* c0 = nullptr;      // (B, H), LSTM
  T* outputs = nullptr;       // (B, T, H), in the order the steps run
  T* h_last = nullptr;        // (B, H)
  T* c_last = nullptr;        // (B, H), LSTM
  // Kept for rnn_backward; all nullptr when no gradient is wanted.
  T* saved = nullptr;         // (B, T, rnn_saved_values * H)
  T* h_entering = nullptr;    // (B, T, H): the state each input step met
  T* c_entering = nullptr;    // (B, T, H), LSTM
};

template <class T>
struct RnnBackwardIO {
  const T* d_outputs = nullptr;  // (B, T, H) or nullptr for zeros
  const T* d_h_last = nullptr;   // (B, H) or nullptr
  const T* d_c_last = nullptr;   // (B, H) or nullptr
  const T* saved = nullptr;      // as rnn_forward left them
  const T* h_entering = nullptr;
  const T* c_entering = nullptr;
  T* d_inputs = nullptr;          // (B, T, G*H)
  T* d_recurrent_kernel = nullptr;  // (H, G*H)
  T* d_recurrent_bias = nullptr;    // (G*H), GRU with a recurrent bias; else nullptr
  T* d_h0 = nullptr;                // (B, H)
  T* d_c0 = nullptr;                // (B, H), LSTM
};

template <class T>
void rnn_forward(const RnnSequence<T>& seq, const RnnForwardIO<T>& io);

template <class T>
void rnn_backward(const RnnSequence<T>& seq, const RnnBackwardIO<T>& io);

}  // namespace fastdl
