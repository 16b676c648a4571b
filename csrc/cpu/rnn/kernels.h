#pragma once
// The ISA-specific part of the recurrent layers: the recurrent kernel packed into panels, and one
// step's register tiles, each ending in the cell's arithmetic. They exist once per ISA
// (kernels.cpp compiled into fastdl::generic, fastdl::avx2 and fastdl::avx512); the time loop,
// the threads and the GEMMs around them (rnn.cpp) are shared.
//
// A unit block is one vector of units. The forward panel of a block holds, for each k < H, the
// block's G gate columns of the recurrent kernel side by side (one vector each), so a tile of
// rows x G vectors has every gate of its units when it leaves the registers. The backward panel
// of a group of kBackwardVectors blocks holds, for each k < G*H, those units' row of the kernel:
// the transposed kernel, for the product that gives the entering state's gradient.
#include <cstdint>

#include "fastdl/rnn.h"

namespace fastdl {

// Unit blocks per backward panel.
constexpr int kBackwardVectors = 2;

// The inputs and outputs of one forward step, row b of each at pointer + b * stride.
template <class T>
struct RnnForwardStep {
  const RnnSequence<T>* seq;
  const T* packed;                  // the forward panels
  const T* x;  int64_t x_stride;    // the input projection at input step t: (B, G*H)
  const T* x_ahead;                 // the same at the next step (nullptr at the last)
  const T* h;  int64_t h_stride;    // the entering state
  const T* c;  int64_t c_stride;    // LSTM
  T* h_next;   int64_t h_next_stride;
  T* c_next;   int64_t c_next_stride;
  T* out;      int64_t out_stride;  // the step's output
  T* saved;    int64_t saved_stride;  // nullptr when nothing is kept
  const uint8_t* mask; int64_t mask_stride;  // the mask at t, or nullptr
};

// One step's gate gradients. d_h and d_c hold, per (row, unit), the gradient of the state
// leaving the step (d_h: its part that does not come through the recurrent product) and receive
// that of the entering state (d_h: again without the product, which the next tile adds).
template <class T>
struct RnnCellGradient {
  const RnnSequence<T>* seq;
  const T* d_out;  int64_t d_out_stride;  // nullptr for zeros
  const T* saved;  int64_t saved_stride;
  const T* h;      int64_t h_stride;      // the entering state (GRU)
  const T* c;      int64_t c_stride;      // LSTM
  const uint8_t* mask; int64_t mask_stride;
  T* d_x;    int64_t d_x_stride;    // the input projection's gradient at t
  T* d_rec;  int64_t d_rec_stride;  // the recurrent product's (GRU; the same as d_x otherwise)
  T* d_h;    // (B, H)
  T* d_c;    // (B, H), LSTM
};

// One backward step: the entering state's gradient is d_rec(s) times the transposed kernel plus
// d_h; it then feeds the gate gradients of step s - 1 (`cell`), or lands in d_h0 after step 0.
template <class T>
struct RnnBackwardStep {
  const RnnSequence<T>* seq;
  const T* packed;                       // the backward panels
  const T* d_rec;  int64_t d_rec_stride;  // the recurrent product's gradient at t(s)
  const RnnCellGradient<T>* cell;        // step s - 1, or nullptr after step 0
  T* d_h;                                // (B, H), see RnnCellGradient
  T* d_h0;                               // (B, H), when cell is nullptr
};

#define FASTDL_DECLARE_RNN_KERNELS(isa)                                                        \
  namespace isa {                                                                              \
  /* Units per vector, and rows per register tile forward and backward. */                     \
  template <class T>                                                                           \
  int rnn_vector_width();                                                                      \
  template <class T>                                                                           \
  int rnn_tile_rows(RnnCell cell, bool backward);                                              \
  /* The panels' sizes in elements, and the packing of the recurrent kernel into them. */      \
  template <class T>                                                                           \
  int64_t rnn_forward_panels_size(const RnnSequence<T>& seq);                                  \
  template <class T>                                                                           \
  int64_t rnn_backward_panels_size(const RnnSequence<T>& seq);                                 \
  template <class T>                                                                           \
  void rnn_pack_forward(const RnnSequence<T>& seq, T* packed);                                 \
  template <class T>                                                                           \
  void rnn_pack_backward(const RnnSequence<T>& seq, T* packed);                                \
  /* Rows [row0, row0 + rows) of unit blocks [block0, block1) of one forward step. */          \
  template <class T>                                                                           \
  void rnn_forward_tiles(const RnnForwardStep<T>& step, int64_t row0, int64_t rows,            \
                         int64_t block0, int64_t block1);                                      \
  /* The same for a backward step; its blocks are counted in backward panels. */               \
  template <class T>                                                                           \
  void rnn_backward_tiles(const RnnBackwardStep<T>& step, int64_t row0, int64_t rows,          \
                          int64_t group0, int64_t group1);                                     \
  /* The gate gradients of a step for rows and units given the state gradients in d_h and d_c  \
     (the last step, which no product precedes). */                                            \
  template <class T>                                                                           \
  void rnn_cell_gradients(const RnnCellGradient<T>& cell, int64_t row0, int64_t rows,          \
                          int64_t unit0, int64_t unit1);                                       \
  }

FASTDL_DECLARE_RNN_KERNELS(generic)
FASTDL_DECLARE_RNN_KERNELS(avx2)
FASTDL_DECLARE_RNN_KERNELS(avx512)
#undef FASTDL_DECLARE_RNN_KERNELS

}  // namespace fastdl
