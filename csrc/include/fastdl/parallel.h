#pragma once
// Thread count and the parallel loops of the kernels, on fastdl's thread pool
// (fastdl/thread_pool.h): the calling thread always works, and threads take pieces of work as
// they come, so one that the machine keeps waiting delays no one else.
//
// The count starts at FASTDL_NUM_THREADS, else OMP_NUM_THREADS, else the cores this process may
// use, and applies to every call whichever Python thread makes it.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "fastdl/thread_pool.h"

namespace fastdl {

int get_num_threads();
void set_num_threads(int n);  // n >= 1

// Threads worth using for `work` units when one thread should get at least `grain` of them.
// Inside a pool job it is 1: the kernels do not nest jobs.
inline int threads_for(int64_t work, int64_t grain) {
  if (in_parallel_job()) return 1;
  int64_t useful = grain > 0 ? work / grain : work;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), useful)));
}

// Calls body(begin, end) on contiguous pieces of [0, n), several per thread so that a thread
// held up by the machine leaves its share to the others. Work below `grain` elements per
// thread stays on the calling thread: waking threads costs microseconds. `align` rounds piece
// boundaries so SIMD loops see whole vectors except in the last piece.
template <class Body>
void parallel_for(int64_t n, int64_t grain, Body&& body, int64_t align = 16) {
  if (n <= 0) return;
  const int nthreads = threads_for(n, grain);
  if (nthreads == 1) {
    body(int64_t{0}, n);
    return;
  }
  constexpr int kPiecesPerThread = 4;
  int64_t piece = (n + nthreads * kPiecesPerThread - 1) / (nthreads * kPiecesPerThread);
  piece = (piece + align - 1) / align * align;
  const int64_t pieces = (n + piece - 1) / piece;
  auto join = [](int) {};
  auto run = [&](int, int64_t i) { body(i * piece, std::min(n, (i + 1) * piece)); };
  run_chunks(pieces, nthreads, join, run);
}

// Calls body(chunk, begin, end) for `chunks` contiguous chunks of [0, n) (chunks from
// threads_for): for work that keeps per-chunk scratch or partial results. Any thread may run
// any chunk, and one thread several.
template <class Body>
void parallel_chunks(int chunks, int64_t n, Body&& body) {
  if (chunks <= 1 || n <= 0) {
    body(0, int64_t{0}, n);
    return;
  }
  auto join = [](int) {};
  auto run = [&](int, int64_t chunk) {
    const int64_t per = n / chunks, extra = n % chunks;
    const int64_t begin = chunk * per + std::min<int64_t>(chunk, extra);
    body(static_cast<int>(chunk), begin, begin + per + (chunk < extra ? 1 : 0));
  };
  run_chunks(chunks, chunks, join, run);
}

// Calls body(thread, item) for every item of [0, n) on at most `threads` threads, each taking
// the next item when it is done with one, after start(thread) once per thread: `thread`
// indexes per-thread scratch. start runs for every thread of [0, threads), on the caller for
// those that took no item, so that per-thread partial results all start initialized. Which
// thread gets which item varies between calls.
template <class Start, class Body>
void parallel_items(int threads, int64_t n, Start&& start, Body&& body) {
  if (threads <= 1 || n <= 1) {
    start(0);
    for (int64_t i = 0; i < n; ++i) body(0, i);
    return;
  }
  std::vector<char> started(static_cast<size_t>(threads), 0);
  auto join = [&](int t) {
    started[static_cast<size_t>(t)] = 1;
    start(t);
  };
  auto run = [&](int t, int64_t item) { body(t, item); };
  run_chunks(n, threads, join, run);
  for (int t = 0; t < threads; ++t) {
    if (!started[static_cast<size_t>(t)]) start(t);
  }
}

// Calls body(thread, begin, end) on contiguous pieces of [0, n), a few per thread, on at most
// `threads` threads, each taking the next piece when it is done with one: `thread` indexes
// per-thread scratch. A thread that the machine holds up (a core shared with another
// process's busy thread) leaves the pieces it has not started to the others, where fixed
// shares would make every call wait for its share.
template <class Body>
void parallel_pieces(int threads, int64_t n, Body&& body) {
  if (threads <= 1 || n <= 1) {
    body(0, int64_t{0}, n);
    return;
  }
  constexpr int64_t kPiecesPerThread = 4;
  const int64_t piece = std::max<int64_t>(1, (n + threads * kPiecesPerThread - 1) /
                                                 (threads * kPiecesPerThread));
  parallel_items(threads, (n + piece - 1) / piece, [](int) {}, [&](int t, int64_t i) {
    body(t, i * piece, std::min(n, (i + 1) * piece));
  });
}

}  // namespace fastdl
