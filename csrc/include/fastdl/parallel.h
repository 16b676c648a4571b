#pragma once
// Thread count and a parallel_for over index ranges.
//
// The count starts at OpenMP's default (which honours OMP_NUM_THREADS) and is passed explicitly
// to every parallel region, so fastdl.set_num_threads() applies whichever Python thread calls a
// kernel. Without OpenMP everything runs on the calling thread.
#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastdl {

int get_num_threads();
void set_num_threads(int n);  // n >= 1
bool openmp_enabled();

// Threads worth using for `work` units when one thread should get at least `grain` of them.
// Inside a parallel region it is 1: the kernels do not nest regions (a nested region would get
// one thread, and a kernel that split its work for more would leave part of it undone).
inline int threads_for(int64_t work, int64_t grain) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  int64_t useful = grain > 0 ? work / grain : work;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), useful)));
}

// Calls body(begin, end) on contiguous chunks of [0, n), one chunk per thread. Work below
// `grain` elements per thread stays on the calling thread: waking threads costs microseconds.
// `align` rounds chunk boundaries so SIMD loops see whole vectors except in the last chunk.
template <class Body>
void parallel_for(int64_t n, int64_t grain, Body&& body, [[maybe_unused]] int64_t align = 16) {
  if (n <= 0) return;
  const int nthreads = threads_for(n, grain);
  if (nthreads == 1) {
    body(int64_t{0}, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    int64_t chunk = (n + nt - 1) / nt;
    chunk = (chunk + align - 1) / align * align;
    const int64_t begin = std::min<int64_t>(n, t * chunk);
    const int64_t end = std::min<int64_t>(n, begin + chunk);
    if (begin < end) body(begin, end);
  }
#else
  body(int64_t{0}, n);
#endif
}

// Calls body(chunk, begin, end) for `chunks` contiguous chunks of [0, n) (chunks from
// threads_for), one per thread: for work that keeps per-thread partial results.
template <class Body>
void parallel_chunks(int chunks, int64_t n, Body&& body) {
  if (chunks <= 1 || n <= 0) {
    body(0, int64_t{0}, n);
    return;
  }
  auto run = [&](int chunk) {
    const int64_t per = n / chunks, extra = n % chunks;
    const int64_t begin = chunk * per + std::min<int64_t>(chunk, extra);
    body(chunk, begin, begin + per + (chunk < extra ? 1 : 0));
  };
#ifdef _OPENMP
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
  for (int chunk = 0; chunk < chunks; ++chunk) run(chunk);
#else
  for (int chunk = 0; chunk < chunks; ++chunk) run(chunk);
#endif
}

// Calls start(thread) once on each of `threads` threads, then body(thread, item) for every item
// of [0, n), each thread taking the next item when it is done with one (OpenMP's dynamic
// schedule): a thread that the machine slows down, or that came back last from Python, takes
// fewer items instead of holding the others up at the end. `thread` indexes per-thread scratch;
// which thread gets which item varies between calls.
template <class Start, class Body>
void parallel_items(int threads, int64_t n, Start&& start, Body&& body) {
  if (threads <= 1 || n <= 1) {
    start(0);
    for (int64_t i = 0; i < n; ++i) body(0, i);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    start(t);
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i) body(t, i);
  }
#else
  start(0);
  for (int64_t i = 0; i < n; ++i) body(0, i);
#endif
}

}  // namespace fastdl
