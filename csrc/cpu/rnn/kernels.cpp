// Recurrent-layer kernels, written once against Vec<T>; CMake compiles this file once per ISA
// (generic, avx2, avx512), each copy in its own namespace.
//
// One step is a product of R rows of a state (or of a gate gradient) with a panel of the
// recurrent kernel, held in R x NV vector accumulators, and the cell's arithmetic applied to
// them as they leave the registers: forward, the gate activations and the state update;
// backward, the entering state's gradient and from it the previous step's gate gradients.
#include <algorithm>
#include <type_traits>

#include "activation/vector_math.h"
#include "fastdl/simd.h"
#include "rnn/kernels.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

#if FASTDL_ISA_AVX512
constexpr int kVectorRegisters = 32;
#else
constexpr int kVectorRegisters = 16;
#endif

// Rows of a tile NV vectors wide: R * NV accumulators, NV panel vectors and a broadcast in the
// registers.
constexpr int max_rows(int vectors) {
  return std::min(12, (kVectorRegisters - vectors - 2) / vectors);
}

// Calls f(cell tag) with the cell as a compile-time constant.
template <class F>
void with_cell(RnnCell cell, F&& f) {
  switch (cell) {
    case RnnCell::simple:
      return f(std::integral_constant<RnnCell, RnnCell::simple>{});
    case RnnCell::lstm:
      return f(std::integral_constant<RnnCell, RnnCell::lstm>{});
    case RnnCell::gru:
      return f(std::integral_constant<RnnCell, RnnCell::gru>{});
  }
}

// Splits `rows` into tiles of at most N rows, as even as possible (a batch of 32 over tiles of
// 6 rows gives 6, 6, 5, 5, 5, 5 rather than five of 6 and one of 2), and calls
// tile(first row, rows as a constant) for each.
template <int N, class F>
FASTDL_ALWAYS_INLINE void for_each_row_tile(int64_t row0, int64_t rows, F&& tile) {
  const int64_t tiles = (rows + N - 1) / N;
  for (int64_t i = 0, r = row0; i < tiles; ++i) {
    const int n = static_cast<int>(rows / tiles + (i < rows % tiles ? 1 : 0));
    with_count<N>(n, [&](auto rows_tag) { tile(r, rows_tag); });
    r += n;
  }
}

// acc[r][v] = sum over k < K of a[r * lda + k] * panel[k][v], the panel's rows NV vectors wide.
template <class T, int R, int NV>
FASTDL_ALWAYS_INLINE void product(const T* a, int64_t lda, int64_t K, const T* panel,
                                  Vec<T> (&acc)[R][NV]) {
  constexpr int W = Vec<T>::width;
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) acc[r][v] = Vec<T>(T(0));
  }
  for (int64_t k = 0; k < K; ++k, panel += NV * W) {
    Vec<T> p[NV];
    for (int v = 0; v < NV; ++v) p[v] = Vec<T>::load(panel + v * W);
    for (int r = 0; r < R; ++r) {
      const Vec<T> ar(a[r * lda + k]);
      for (int v = 0; v < NV; ++v) acc[r][v] = fma(ar, p[v], acc[r][v]);
    }
  }
}

// The cell's operands are rows of (B, T, ...) arrays, a step's row apart (kilobytes), which the
// hardware prefetchers do not follow: a tile asks for its rows' lines before its product, whose
// K loop then hides the misses. The input projection's rows (G vectors per row, the largest
// operand) are asked for a step ahead: asked for at the tile's start, they were evicted again by
// the panel the product streams (larger than L1) often enough that the cell waited for them
// (LSTM, 64 x 100 x 256, 2 threads: the forward 5 % faster a step ahead). `vectors` vectors
// `gap` elements apart, for reading or writing.
template <class T>
FASTDL_ALWAYS_INLINE void prefetch(const T* p, int vectors, int64_t gap, bool write) {
  for (int v = 0; v < vectors; ++v) {
    if (write) {
      __builtin_prefetch(p + v * gap, 1);
    } else {
      __builtin_prefetch(p + v * gap, 0);
    }
  }
}

// A cell's two activations (the candidate's, and the gates'), with their derivatives from
// their outputs: chosen at run time, or Keras's defaults, tanh and sigmoid, as constants, so
// that their arithmetic inlines into the tiles (the case every built-in layer starts with).
template <class T>
struct RuntimeActivations {
  Activation candidate, gate;

  Vec<T> act(Vec<T> x) const { return activate(candidate, x, T(0)); }
  Vec<T> gate_act(Vec<T> x) const { return activate(gate, x, T(0)); }
  Vec<T> act_grad(Vec<T> dy, Vec<T> y) const { return grad(candidate, dy, y); }
  Vec<T> gate_grad(Vec<T> dy, Vec<T> y) const { return grad(gate, dy, y); }

 private:
  static Vec<T> grad(Activation a, Vec<T> dy, Vec<T> y) {
    return with_activation(a, [&](auto tag) {
      return activate_grad<decltype(tag)::value>(dy, y, T(0));
    });
  }
};

template <class T>
struct DefaultActivations {
  FASTDL_ALWAYS_INLINE Vec<T> act(Vec<T> x) const { return tanh(x); }
  FASTDL_ALWAYS_INLINE Vec<T> gate_act(Vec<T> x) const { return sigmoid(x); }
  FASTDL_ALWAYS_INLINE Vec<T> act_grad(Vec<T> dy, Vec<T> y) const {
    return activate_grad<Activation::tanh>(dy, y, T(0));
  }
  FASTDL_ALWAYS_INLINE Vec<T> gate_grad(Vec<T> dy, Vec<T> y) const {
    return activate_grad<Activation::sigmoid>(dy, y, T(0));
  }
};

// Calls f(activations) with the policy that fits the sequence's activations.
template <class T, class F>
void with_activations(const RnnSequence<T>& seq, F&& f) {
  if (seq.activation == Activation::tanh && seq.recurrent_activation == Activation::sigmoid) {
    f(DefaultActivations<T>{});
  } else {
    f(RuntimeActivations<T>{seq.activation, seq.recurrent_activation});
  }
}

// The cell's forward arithmetic for row b, units [u0, u0 + lanes), given the recurrent product
// of those units' gates in acc.
template <class T, RnnCell C, class Acts>
FASTDL_ALWAYS_INLINE void forward_cell(const RnnForwardStep<T>& st, const Acts& acts, int64_t b,
                                       int64_t u0, int lanes, const Vec<T>* acc) {
  const RnnSequence<T>& seq = *st.seq;
  const int64_t H = seq.units;
  const auto load = [lanes](const T* p) { return load_lanes(p, lanes); };
  const auto store = [lanes](Vec<T> v, T* p) { store_lanes(v, p, lanes); };
  const T* x = st.x + b * st.x_stride + u0;
  T* saved = st.saved ? st.saved + b * st.saved_stride + u0 : nullptr;
  const bool taken = !st.mask || st.mask[b * st.mask_stride];
  const Vec<T> h_in = load(st.h + b * st.h_stride + u0);
  Vec<T> h_new;
  if constexpr (C == RnnCell::simple) {
    h_new = acts.act(acc[0] + load(x));
    if (saved) store(h_new, saved);
  } else if constexpr (C == RnnCell::lstm) {
    const Vec<T> i = acts.gate_act(acc[0] + load(x));
    const Vec<T> f = acts.gate_act(acc[1] + load(x + H));
    const Vec<T> g = acts.act(acc[2] + load(x + 2 * H));
    const Vec<T> o = acts.gate_act(acc[3] + load(x + 3 * H));
    const Vec<T> c_in = load(st.c + b * st.c_stride + u0);
    const Vec<T> c_new = fma(f, c_in, i * g);
    const Vec<T> c_act = acts.act(c_new);
    h_new = o * c_act;
    store(taken ? c_new : c_in, st.c_next + b * st.c_next_stride + u0);
    if (saved) {
      store(i, saved);
      store(f, saved + H);
      store(g, saved + 2 * H);
      store(o, saved + 3 * H);
      store(c_act, saved + 4 * H);
    }
  } else {
    static_assert(C == RnnCell::gru);
    Vec<T> hz = acc[0], hr = acc[1], hh = acc[2];
    if (const T* bias = seq.recurrent_bias) {
      hz = hz + load(bias + u0);
      hr = hr + load(bias + H + u0);
      hh = hh + load(bias + 2 * H + u0);
    }
    const Vec<T> z = acts.gate_act(load(x) + hz);
    const Vec<T> r = acts.gate_act(load(x + H) + hr);
    const Vec<T> n = acts.act(fma(r, hh, load(x + 2 * H)));
    h_new = fma(z, h_in - n, n);  // z h + (1 - z) n
    if (saved) {
      store(z, saved);
      store(r, saved + H);
      store(n, saved + 2 * H);
      store(hh, saved + 3 * H);
    }
  }
  const Vec<T> out = taken ? h_new : seq.zero_output_for_mask ? Vec<T>(T(0)) : h_in;
  store(taken ? h_new : h_in, st.h_next + b * st.h_next_stride + u0);
  store(out, st.out + b * st.out_stride + u0);
}

// The gate gradients of row b, units [u0, u0 + lanes), from the gradient of the state leaving
// the step (d_h_out; the cell's d_c holds the cell state's).
template <class T, RnnCell C, class Acts>
FASTDL_ALWAYS_INLINE void cell_gradient(const RnnCellGradient<T>& cg, const Acts& acts,
                                        int64_t b, int64_t u0, int lanes, Vec<T> d_h_out) {
  const RnnSequence<T>& seq = *cg.seq;
  const int64_t H = seq.units;
  constexpr int G = rnn_gates(C);
  const auto load = [lanes](const T* p) { return load_lanes(p, lanes); };
  const auto store = [lanes](Vec<T> v, T* p) { store_lanes(v, p, lanes); };
  const Vec<T> zero(T(0)), one(T(1));
  T* d_x = cg.d_x + b * cg.d_x_stride + u0;
  T* d_rec = cg.d_rec + b * cg.d_rec_stride + u0;
  T* d_h = cg.d_h + b * H + u0;
  const Vec<T> d_out = cg.d_out ? load(cg.d_out + b * cg.d_out_stride + u0) : zero;
  if (cg.mask && !cg.mask[b * cg.mask_stride]) {
    // The step was skipped: the state passed through it (and the output was the entering
    // state's unless zeros); the gates had no effect.
    store(seq.zero_output_for_mask ? d_h_out : d_h_out + d_out, d_h);
    for (int g = 0; g < G; ++g) {
      store(zero, d_x + g * H);
      if (d_rec != d_x) store(zero, d_rec + g * H);
    }
    return;
  }
  const Vec<T> dh = d_h_out + d_out;  // the new state's gradient
  const T* saved = cg.saved + b * cg.saved_stride + u0;
  if constexpr (C == RnnCell::simple) {
    store(acts.act_grad(dh, load(saved)), d_x);
    store(zero, d_h);
  } else if constexpr (C == RnnCell::lstm) {
    const Vec<T> i = load(saved), f = load(saved + H), g = load(saved + 2 * H);
    const Vec<T> o = load(saved + 3 * H), c_act = load(saved + 4 * H);
    T* d_c = cg.d_c + b * H + u0;
    const Vec<T> dc = load(d_c) + acts.act_grad(dh * o, c_act);
    const Vec<T> c_in = load(cg.c + b * cg.c_stride + u0);
    store(acts.gate_grad(dc * g, i), d_x);
    store(acts.gate_grad(dc * c_in, f), d_x + H);
    store(acts.act_grad(dc * i, g), d_x + 2 * H);
    store(acts.gate_grad(dh * c_act, o), d_x + 3 * H);
    store(dc * f, d_c);
    store(zero, d_h);
  } else {
    static_assert(C == RnnCell::gru);
    const Vec<T> z = load(saved), r = load(saved + H), n = load(saved + 2 * H);
    const Vec<T> hh = load(saved + 3 * H);
    const Vec<T> h_in = load(cg.h + b * cg.h_stride + u0);
    const Vec<T> dz = acts.gate_grad(dh * (h_in - n), z);
    const Vec<T> dn = acts.act_grad(dh * (one - z), n);
    const Vec<T> dr = acts.gate_grad(dn * hh, r);
    store(dz, d_x);
    store(dr, d_x + H);
    store(dn, d_x + 2 * H);
    store(dz, d_rec);
    store(dr, d_rec + H);
    store(dn * r, d_rec + 2 * H);
    store(dh * z, d_h);
  }
}

template <class T, RnnCell C, int R, class Acts>
void forward_tile(const RnnForwardStep<T>& st, const Acts& acts, int64_t row0, int64_t block) {
  constexpr int W = Vec<T>::width, G = rnn_gates(C), S = rnn_saved_values(C);
  const int64_t H = st.seq->units, u0 = block * W;
  const int lanes = static_cast<int>(std::min<int64_t>(W, H - u0));
  for (int64_t b = row0; b < row0 + R; ++b) {
    if (st.x_ahead) prefetch(st.x_ahead + b * st.x_stride + u0, G, H, false);
    prefetch(st.out + b * st.out_stride + u0, 1, 0, true);
    prefetch(st.h_next + b * st.h_next_stride + u0, 1, 0, true);
    if (st.saved) prefetch(st.saved + b * st.saved_stride + u0, S, H, true);
    if constexpr (C == RnnCell::lstm) {
      prefetch(st.c + b * st.c_stride + u0, 1, 0, false);
      prefetch(st.c_next + b * st.c_next_stride + u0, 1, 0, true);
    }
  }
  Vec<T> acc[R][G];
  product<T, R, G>(st.h + row0 * st.h_stride, st.h_stride, H, st.packed + block * H * G * W, acc);
  for (int r = 0; r < R; ++r) forward_cell<T, C>(st, acts, row0 + r, u0, lanes, acc[r]);
}

template <class T, RnnCell C, int R, class Acts>
void backward_tile(const RnnBackwardStep<T>& st, const Acts& acts, int64_t row0,
                   int64_t group) {
  constexpr int W = Vec<T>::width, NV = kBackwardVectors;
  const int64_t H = st.seq->units, K = rnn_gates(C) * H;
  if (const RnnCellGradient<T>* cg = st.cell) {
    for (int64_t b = row0; b < row0 + R; ++b) {
      for (int v = 0; v < NV; ++v) {
        const int64_t u0 = std::min((group * NV + v) * W, H - 1);
        if (cg->d_out) prefetch(cg->d_out + b * cg->d_out_stride + u0, 1, 0, false);
        prefetch(cg->saved + b * cg->saved_stride + u0, rnn_saved_values(C), H, false);
        prefetch(cg->h + b * cg->h_stride + u0, 1, 0, false);
        if constexpr (C == RnnCell::lstm) prefetch(cg->c + b * cg->c_stride + u0, 1, 0, false);
        prefetch(cg->d_x + b * cg->d_x_stride + u0, rnn_gates(C), H, true);
        if (cg->d_rec != cg->d_x) {
          prefetch(cg->d_rec + b * cg->d_rec_stride + u0, rnn_gates(C), H, true);
        }
      }
    }
  }
  Vec<T> acc[R][NV];
  product<T, R, NV>(st.d_rec + row0 * st.d_rec_stride, st.d_rec_stride, K,
                    st.packed + group * K * NV * W, acc);
  for (int v = 0; v < NV; ++v) {
    const int64_t u0 = (group * NV + v) * W;
    if (u0 >= H) break;
    const int lanes = static_cast<int>(std::min<int64_t>(W, H - u0));
    for (int r = 0; r < R; ++r) {
      const int64_t b = row0 + r;
      const Vec<T> d_h_in = acc[r][v] + load_lanes(st.d_h + b * H + u0, lanes);
      if (st.cell) {
        cell_gradient<T, C>(*st.cell, acts, b, u0, lanes, d_h_in);
      } else {
        store_lanes(d_h_in, st.d_h0 + b * H + u0, lanes);
      }
    }
  }
}

}  // namespace

template <class T>
int rnn_vector_width() {
  return Vec<T>::width;
}

template <class T>
int rnn_tile_rows(RnnCell cell, bool backward) {
  return max_rows(backward ? kBackwardVectors : rnn_gates(cell));
}

template <class T>
int64_t rnn_forward_panels_size(const RnnSequence<T>& seq) {
  constexpr int W = Vec<T>::width;
  const int64_t blocks = (seq.units + W - 1) / W;
  return blocks * seq.units * rnn_gates(seq.cell) * W;
}

template <class T>
int64_t rnn_backward_panels_size(const RnnSequence<T>& seq) {
  constexpr int W = Vec<T>::width, NV = kBackwardVectors;
  const int64_t groups = (seq.units + NV * W - 1) / (NV * W);
  return groups * rnn_gates(seq.cell) * seq.units * NV * W;
}

template <class T>
void rnn_pack_forward(const RnnSequence<T>& seq, T* packed) {
  constexpr int W = Vec<T>::width;
  const int64_t H = seq.units, G = rnn_gates(seq.cell), blocks = (H + W - 1) / W;
  for (int64_t block = 0; block < blocks; ++block) {
    for (int64_t k = 0; k < H; ++k) {
      const T* row = seq.recurrent_kernel + k * G * H;
      for (int64_t g = 0; g < G; ++g) {
        for (int l = 0; l < W; ++l) {
          const int64_t u = block * W + l;
          *packed++ = u < H ? row[g * H + u] : T(0);
        }
      }
    }
  }
}

template <class T>
void rnn_pack_backward(const RnnSequence<T>& seq, T* packed) {
  constexpr int W = Vec<T>::width, NV = kBackwardVectors;
  const int64_t H = seq.units, K = rnn_gates(seq.cell) * H;
  const int64_t groups = (H + NV * W - 1) / (NV * W);
  for (int64_t group = 0; group < groups; ++group) {
    for (int64_t k = 0; k < K; ++k) {
      for (int l = 0; l < NV * W; ++l) {
        const int64_t u = group * NV * W + l;
        *packed++ = u < H ? seq.recurrent_kernel[u * K + k] : T(0);
      }
    }
  }
}

template <class T>
void rnn_forward_tiles(const RnnForwardStep<T>& step, int64_t row0, int64_t rows, int64_t block0,
                       int64_t block1) {
  with_cell(step.seq->cell, [&](auto cell_tag) {
    constexpr RnnCell C = decltype(cell_tag)::value;
    with_activations(*step.seq, [&](const auto& acts) {
      for (int64_t block = block0; block < block1; ++block) {
        for_each_row_tile<max_rows(rnn_gates(C))>(row0, rows, [&](int64_t r, auto rows_tag) {
          forward_tile<T, C, decltype(rows_tag)::value>(step, acts, r, block);
        });
      }
    });
  });
}

template <class T>
void rnn_backward_tiles(const RnnBackwardStep<T>& step, int64_t row0, int64_t rows,
                        int64_t group0, int64_t group1) {
  with_cell(step.seq->cell, [&](auto cell_tag) {
    constexpr RnnCell C = decltype(cell_tag)::value;
    with_activations(*step.seq, [&](const auto& acts) {
      for (int64_t group = group0; group < group1; ++group) {
        for_each_row_tile<max_rows(kBackwardVectors)>(row0, rows, [&](int64_t r, auto rows_tag) {
          backward_tile<T, C, decltype(rows_tag)::value>(step, acts, r, group);
        });
      }
    });
  });
}

template <class T>
void rnn_cell_gradients(const RnnCellGradient<T>& cell, int64_t row0, int64_t rows,
                        int64_t unit0, int64_t unit1) {
  constexpr int W = Vec<T>::width;
  with_cell(cell.seq->cell, [&](auto cell_tag) {
    constexpr RnnCell C = decltype(cell_tag)::value;
    with_activations(*cell.seq, [&](const auto& acts) {
      for (int64_t b = row0; b < row0 + rows; ++b) {
        for (int64_t u0 = unit0; u0 < unit1; u0 += W) {
          const int lanes = static_cast<int>(std::min<int64_t>(W, unit1 - u0));
          cell_gradient<T, C>(cell, acts, b, u0, lanes,
                              load_lanes(cell.d_h + b * cell.seq->units + u0, lanes));
        }
      }
    });
  });
}

#define FASTDL_INSTANTIATE_RNN_KERNELS(T)                                                       \
  template int rnn_vector_width<T>();                                                           \
  template int rnn_tile_rows<T>(RnnCell, bool);                                                 \
  template int64_t rnn_forward_panels_size<T>(const RnnSequence<T>&);                           \
  template int64_t rnn_backward_panels_size<T>(const RnnSequence<T>&);                          \
  template void rnn_pack_forward<T>(const RnnSequence<T>&, T*);                                 \
  template void rnn_pack_backward<T>(const RnnSequence<T>&, T*);                                \
  template void rnn_forward_tiles<T>(const RnnForwardStep<T>&, int64_t, int64_t, int64_t,       \
                                     int64_t);                                                  \
  template void rnn_backward_tiles<T>(const RnnBackwardStep<T>&, int64_t, int64_t, int64_t,     \
                                      int64_t);                                                 \
  template void rnn_cell_gradients<T>(const RnnCellGradient<T>&, int64_t, int64_t, int64_t,     \
                                      int64_t);
FASTDL_INSTANTIATE_RNN_KERNELS(float)
FASTDL_INSTANTIATE_RNN_KERNELS(double)
#undef FASTDL_INSTANTIATE_RNN_KERNELS

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
