#pragma once
// What the drivers of every convolution algorithm (im2col.cpp, direct.cpp, winograd.cpp) and the
// fused convolution and pooling (conv_pool.cpp) share: the threading rule, the buffers a call
// takes from its thread's scratch, and the per-thread sums of a weight gradient. Internal to the
// CPU kernels.
#include <algorithm>
#include <cstdint>

#include "fastdl/conv.h"
#include "fastdl/parallel.h"
#include "runtime/scratch.h"

namespace fastdl {

constexpr int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// Threads for `blocks` blocks of `work_per_block` multiply-adds: a thread gets at least about
// 80^3 of them (less is faster on one thread).
inline int threads_for_blocks(int64_t blocks, int64_t work_per_block) {
  return threads_for(blocks, std::max<int64_t>(1, (80 * 80 * 80 + work_per_block - 1) /
                                                      std::max<int64_t>(1, work_per_block)));
}

// The buffers a call needs, taken from the calling thread's scratch before any parallel region
// (so that an allocation failure is an exception in the caller, never inside a region).
inline Scratch& conv_scratch() {
  thread_local Scratch s;
  return s;
}

// Each piece (the packed weights, each thread's block and each thread's partial sums) starts
// on a cache line.
template <class T>
struct Buffers {
  T* packed_weights;
  T* blocks;    // one block of patches per thread, block_stride apart
  T* partials;  // per-thread partial weight (and bias) gradients, when asked for
  int64_t block_stride, partial_stride;

  T* block(int thread) const { return blocks + thread * block_stride; }
  T* partial(int thread) const { return partials + thread * partial_stride; }
};

template <class T>
Buffers<T> take_buffers(int64_t packed, int64_t per_thread, int threads, int64_t partial) {
  packed = whole_lines<T>(packed);
  per_thread = whole_lines<T>(per_thread);
  partial = whole_lines<T>(partial);
  T* base = conv_scratch().get<T>(packed + per_thread * threads + partial * threads);
  return {base, base + packed, base + packed + per_thread * threads, per_thread, partial};
}

// Weight (and bias) gradients summed over `blocks` blocks of work on `threads` threads:
// body(block, sum_w, sum_b, scratch) adds one block into sum_w and sum_b (nullptr when db is),
// each thread into its own (thread 0 into dw and db themselves) with `scratch` elements of its
// own, the threads taking blocks as they finish the last (parallel_items); the partial sums
// are then added up.
template <class T, class Body>
void summed_per_thread(const ConvShape& s, int threads, int64_t blocks, int64_t scratch, T* dw,
                       T* db, Body&& body) {
  const int64_t K = s.patch(), CO = s.CO, partial = K * CO + CO;
  const Buffers<T> buf = take_buffers<T>(0, scratch, threads, partial);
  auto sum_w = [&](int t) { return t == 0 ? dw : buf.partial(t); };
  auto sum_b = [&](int t) {
    return db == nullptr ? nullptr : t == 0 ? db : buf.partial(t) + K * CO;
  };
  auto zero = [&](int t) {
    std::fill(sum_w(t), sum_w(t) + K * CO, T(0));
    if (T* b = sum_b(t)) std::fill(b, b + CO, T(0));
  };
  parallel_items(threads, blocks, zero, [&](int t, int64_t block) {
    body(block, sum_w(t), sum_b(t), buf.block(t));
  });
  for (int t = 1; t < threads; ++t) {
    const T* part = buf.partial(t);
    for (int64_t i = 0; i < K * CO; ++i) dw[i] += part[i];
    if (db)
      for (int64_t c = 0; c < CO; ++c) db[c] += part[K * CO + c];
  }
}

}  // namespace fastdl
