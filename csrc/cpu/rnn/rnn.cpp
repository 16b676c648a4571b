// The recurrent layers' time loops: packing the recurrent kernel, splitting each step's tiles
// over the threads, and the GEMMs over all steps. The tiles themselves are per ISA
// (rnn/kernels.cpp).
//
// With enough rows for a full tile each, a share of the batch runs every step of it as one
// piece of work: a row's recurrence reads nothing of the others'. Otherwise (a small batch)
// each share is a share of the units, and every step is a job of the thread pool, whose
// product needs all the units of the step before.
#include "fastdl/rnn.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fastdl/denormals.h"
#include "fastdl/gemm.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "rnn/kernels.h"

namespace fastdl {

namespace {

// Below this many multiply-adds per step a sequence runs on one thread: a step then takes about
// as long as posting it to a thread and waiting for it.
constexpr int64_t kStepWorkPerThread = 64 * 1024;

// How a sequence's tiles are shared: thread `index` of `threads` takes rows [row0, row1) and
// blocks (forward unit blocks or backward groups) [block0, block1).
struct Share {
  int64_t row0, row1, block0, block1;
  bool by_rows;
};

struct Split {
  int threads;
  bool by_rows;

  Share share(int index, int64_t rows, int64_t blocks) const {
    auto part = [&](int64_t n, int64_t& first, int64_t& last) {
      first = n * index / threads;
      last = n * (index + 1) / threads;
    };
    Share s{0, rows, 0, blocks, by_rows};
    if (by_rows) {
      part(rows, s.row0, s.row1);
    } else {
      part(blocks, s.block0, s.block1);
    }
    return s;
  }
};

Split split_for(int64_t rows, int64_t blocks, int tile_rows, int64_t work_per_step) {
  int threads = threads_for(work_per_step, kStepWorkPerThread);
  if (rows >= int64_t{threads} * tile_rows) return {threads, true};
  threads = static_cast<int>(std::min<int64_t>(threads, blocks));
  return {std::max(threads, 1), false};
}

// Runs step(share, s) for s in [0, steps), share by share, each with subnormals flushed. Shares
// of rows are independent: each runs all its steps as one piece of work. Shares of units need
// step s of every share done before step s + 1: a job per step (whose end waits only for the
// shares still running, not for every thread to arrive).
template <class Step>
void run_split(const Split& split, int64_t rows, int64_t blocks, int64_t steps, Step&& step) {
  auto join = [](int) {};
  if (split.by_rows || split.threads == 1) {
    auto share = [&](int, int64_t t) {
      FlushDenormalsScope flush;
      const Share mine = split.share(static_cast<int>(t), rows, blocks);
      for (int64_t s = 0; s < steps; ++s) step(mine, s);
    };
    run_chunks(split.threads, split.threads, join, share);
    return;
  }
  for (int64_t s = 0; s < steps; ++s) {
    auto share = [&](int, int64_t t) {
      FlushDenormalsScope flush;
      step(split.share(static_cast<int>(t), rows, blocks), s);
    };
    run_chunks(split.threads, split.threads, join, share);
  }
}

}  // namespace

template <class T>
void rnn_forward(const RnnSequence<T>& seq, const RnnForwardIO<T>& io) {
  const int64_t B = seq.batch, T_ = seq.steps, H = seq.units;
  const int64_t G = rnn_gates(seq.cell), S = rnn_saved_values(seq.cell);
  const bool lstm = seq.cell == RnnCell::lstm;
  if (T_ == 0 || B == 0 || H == 0) {
    std::memcpy(io.h_last, io.h0, sizeof(T) * B * H);
    if (lstm) std::memcpy(io.c_last, io.c0, sizeof(T) * B * H);
    return;
  }
  std::vector<T> packed(FASTDL_DISPATCH(rnn_forward_panels_size<T>(seq)));
  FASTDL_DISPATCH(rnn_pack_forward<T>(seq, packed.data()));
  const auto input_step = [&](int64_t s) { return seq.go_backwards ? T_ - 1 - s : s; };

  // The state entering each step: kept per input step for the backward pass, else in two
  // buffers that the steps take in turn.
  const bool keep = io.saved != nullptr;
  std::vector<T> spare(keep ? 0 : (lstm ? 4 : 2) * B * H);
  const auto slot = [&](T* kept, int which, int64_t s, int64_t& stride) -> T* {
    if (keep) {
      stride = T_ * H;
      return kept + input_step(s) * H;
    }
    stride = H;
    return spare.data() + ((which * 2) + (s & 1)) * B * H;
  };
  const auto entering = [&](T* kept, int which, const T* initial, int64_t s,
                            int64_t& stride) -> const T* {
    if (!keep && s == 0) {
      stride = H;
      return initial;
    }
    return slot(kept, which, s, stride);
  };
  if (keep) {
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(io.h_entering + (b * T_ + input_step(0)) * H, io.h0 + b * H, sizeof(T) * H);
      if (lstm) {
        std::memcpy(io.c_entering + (b * T_ + input_step(0)) * H, io.c0 + b * H, sizeof(T) * H);
      }
    }
  }
  const auto step_args = [&](int64_t s) {
    const int64_t t = input_step(s);
    RnnForwardStep<T> st{};
    st.seq = &seq;
    st.packed = packed.data();
    st.x = io.inputs + t * G * H;
    st.x_stride = T_ * G * H;
    st.h = entering(io.h_entering, 0, io.h0, s, st.h_stride);
    if (lstm) st.c = entering(io.c_entering, 1, io.c0, s, st.c_stride);
    if (s + 1 < T_) {
      st.x_ahead = io.inputs + input_step(s + 1) * G * H;
      st.h_next = slot(io.h_entering, 0, s + 1, st.h_next_stride);
      if (lstm) st.c_next = slot(io.c_entering, 1, s + 1, st.c_next_stride);
    } else {
      st.h_next = io.h_last;
      st.h_next_stride = H;
      st.c_next = io.c_last;
      st.c_next_stride = H;
    }
    st.out = io.outputs + s * H;
    st.out_stride = T_ * H;
    if (keep) {
      st.saved = io.saved + t * S * H;
      st.saved_stride = T_ * S * H;
    }
    if (seq.mask) {
      st.mask = seq.mask + t;
      st.mask_stride = T_;
    }
    return st;
  };

  const int W = FASTDL_DISPATCH(rnn_vector_width<T>());
  const int64_t blocks = (H + W - 1) / W;
  const Split split = split_for(B, blocks, FASTDL_DISPATCH(rnn_tile_rows<T>(seq.cell, false)),
                                B * G * H * H);
  run_split(split, B, blocks, T_, [&](const Share& share, int64_t s) {
    const RnnForwardStep<T> st = step_args(s);
    FASTDL_DISPATCH(rnn_forward_tiles<T>(st, share.row0, share.row1 - share.row0,
                                         share.block0, share.block1));
  });
}

template <class T>
void rnn_backward(const RnnSequence<T>& seq, const RnnBackwardIO<T>& io) {
  const int64_t B = seq.batch, T_ = seq.steps, H = seq.units;
  const int64_t G = rnn_gates(seq.cell), S = rnn_saved_values(seq.cell);
  const bool lstm = seq.cell == RnnCell::lstm, gru = seq.cell == RnnCell::gru;
  // The state gradients carried from step to step, starting from the final states'.
  std::vector<T> d_h(B * H, T(0)), d_c(lstm ? B * H : 0, T(0));
  if (io.d_h_last) std::copy(io.d_h_last, io.d_h_last + B * H, d_h.begin());
  if (lstm && io.d_c_last) std::copy(io.d_c_last, io.d_c_last + B * H, d_c.begin());
  // GRU's recurrent product has its own gradient (the reset gate scales the candidate's);
  // the other cells' is the input projection's.
  std::vector<T> d_rec_buffer(gru ? B * T_ * G * H : 0);
  T* d_rec = gru ? d_rec_buffer.data() : io.d_inputs;

  if (T_ > 0 && B > 0 && H > 0) {
    std::vector<T> packed(FASTDL_DISPATCH(rnn_backward_panels_size<T>(seq)));
    FASTDL_DISPATCH(rnn_pack_backward<T>(seq, packed.data()));
    const auto input_step = [&](int64_t s) { return seq.go_backwards ? T_ - 1 - s : s; };
    const auto cell_args = [&](int64_t s) {
      const int64_t t = input_step(s);
      RnnCellGradient<T> cg{};
      cg.seq = &seq;
      if (io.d_outputs) {
        cg.d_out = io.d_outputs + s * H;
        cg.d_out_stride = T_ * H;
      }
      cg.saved = io.saved + t * S * H;
      cg.saved_stride = T_ * S * H;
      cg.h = io.h_entering + t * H;
      cg.h_stride = T_ * H;
      if (lstm) {
        cg.c = io.c_entering + t * H;
        cg.c_stride = T_ * H;
      }
      if (seq.mask) {
        cg.mask = seq.mask + t;
        cg.mask_stride = T_;
      }
      cg.d_x = io.d_inputs + t * G * H;
      cg.d_x_stride = T_ * G * H;
      cg.d_rec = d_rec + t * G * H;
      cg.d_rec_stride = T_ * G * H;
      cg.d_h = d_h.data();
      cg.d_c = lstm ? d_c.data() : nullptr;
      return cg;
    };

    const int W = FASTDL_DISPATCH(rnn_vector_width<T>());
    const int64_t group_units = int64_t{kBackwardVectors} * W;
    const int64_t groups = (H + group_units - 1) / group_units;
    const Split split = split_for(B, groups, FASTDL_DISPATCH(rnn_tile_rows<T>(seq.cell, true)),
                                  B * G * H * H);
    // Stage 0: the last step's cell gradients; stage k > 0: the product of step T - k.
    run_split(split, B, groups, T_ + 1, [&](const Share& share, int64_t stage) {
      const int64_t rows = share.row1 - share.row0;
      if (stage == 0) {
        const RnnCellGradient<T> last = cell_args(T_ - 1);
        FASTDL_DISPATCH(rnn_cell_gradients<T>(last, share.row0, rows,
                                              std::min(H, share.block0 * group_units),
                                              std::min(H, share.block1 * group_units)));
        return;
      }
      const int64_t s = T_ - stage;
      const RnnCellGradient<T> previous = s > 0 ? cell_args(s - 1) : RnnCellGradient<T>{};
      RnnBackwardStep<T> st{};
      st.seq = &seq;
      st.packed = packed.data();
      st.d_rec = d_rec + input_step(s) * G * H;
      st.d_rec_stride = T_ * G * H;
      st.cell = s > 0 ? &previous : nullptr;
      st.d_h = d_h.data();
      st.d_h0 = io.d_h0;
      FASTDL_DISPATCH(rnn_backward_tiles<T>(st, share.row0, rows, share.block0, share.block1));
    });
  } else {
    std::copy(d_h.begin(), d_h.end(), io.d_h0);
  }
  if (lstm) std::copy(d_c.begin(), d_c.end(), io.d_c0);

  // The recurrent kernel's gradient over all steps at once: the entering states, transposed,
  // times the product's gradients, (H x B*T) @ (B*T x G*H).
  const int64_t rows = B * T_;
  gemm<T>(H, G * H, rows, StridedMatrix<T>{io.h_entering, 1, H},
          StridedMatrix<T>{d_rec, G * H, 1}, io.d_recurrent_kernel, G * H, GemmEpilogue<T>{});
  if (io.d_recurrent_bias) {
    const std::vector<T> ones(rows, T(1));
    gemm<T>(1, G * H, rows, StridedMatrix<T>{ones.data(), rows, 1},
            StridedMatrix<T>{d_rec, G * H, 1}, io.d_recurrent_bias, G * H, GemmEpilogue<T>{});
  }
}

template void rnn_forward<float>(const RnnSequence<float>&, const RnnForwardIO<float>&);
template void rnn_forward<double>(const RnnSequence<double>&, const RnnForwardIO<double>&);
template void rnn_backward<float>(const RnnSequence<float>&, const RnnBackwardIO<float>&);
template void rnn_backward<double>(const RnnSequence<double>&, const RnnBackwardIO<double>&);

}  // namespace fastdl
