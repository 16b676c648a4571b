#pragma once
// Scaled dot-product attention in Keras's layout, float32 and float64, computed by tiles of
// queries against tiles of keys with an online softmax: the q_len x kv_len matrix of scores is
// never held whole, only one tile of it per thread. The backward pass recomputes the
// probabilities tile by tile from the log-sum-exp the forward pass keeps per query row.
//
//   query (B, T, N, D), key (B, S, K, D), value (B, S, K, Dv), output (B, T, N, Dv), all
//   C-contiguous; N a multiple of K (query head n reads key/value head n / (N / K)).
//   scores = scale * q . k + bias, where mask is false (and, when causal, for keys after the
//   query: key j > query i) -inf; output = softmax(scores) @ value, row by row.
//
// A query row that may attend to nothing (every key masked) gets an output of zeros, a
// log-sum-exp of +inf, and zero gradients.
//
// With dropout > 0 the probabilities are dropped out before they weight the values (inverted
// dropout, as a dropout layer after the softmax): probability (b, n, i, j) is kept with the mask
// dropout_forward (fastdl/dropout.h) draws for element ((b * N + n) * T + i) * S + j of a
// (B, N, T, S) array with the same seed, so the forward and backward passes agree on it
// without storing it.
#include <cstdint>

namespace fastdl {

struct AttentionShape {
  int64_t batch, q_len, kv_len, heads, kv_heads, head_dim, value_dim;
  double scale;
  bool causal;
  double dropout = 0.0;  // in [0, 1)
  uint64_t seed = 0;     // the dropout mask's key
};

// An optional operand of shape (B, N, T, S), broadcast along any axis: element (b, n, i, j) at
// data[b * stride[0] + n * stride[1] + i * stride[2] + j * stride[3]] (a stride of 0 repeats).
template <class T>
struct AttentionOperand {
  const T* data = nullptr;
  int64_t stride[4] = {0, 0, 0, 0};

  const T* at(int64_t b, int64_t n, int64_t i) const {
    return data + b * stride[0] + n * stride[1] + i * stride[2];
  }
};

// out (B, T, N, Dv) and lse (B, N, T): the log-sum-exp of each query row's scores.
template <class T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v,
                       AttentionOperand<T> bias, AttentionOperand<uint8_t> mask, T* out,
                       T* lse);

// The gradients of attention_forward from dout (B, T, N, Dv), given its out and lse: dq, dk and
// dv in the layouts of q, k and v; where dscores is not null, it receives the gradient of the
// scores before masking (B, N, T, S), which is the bias's before it is summed over its
// broadcast axes.
template <class T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v,
                        AttentionOperand<T> bias, AttentionOperand<uint8_t> mask, const T* out,
                        const T* lse, const T* dout, T* dq, T* dk, T* dv, T* dscores);

}  // namespace fastdl
