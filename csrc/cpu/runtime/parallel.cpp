#include "fastdl/parallel.h"

#ifdef _OPENMP
#include <omp.h>  // only for OpenMP's default thread count
#endif

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace fastdl {
namespace {

// FASTDL_NUM_THREADS when set to a positive number, else OpenMP's default (which honours
// OMP_NUM_THREADS and the cores the process may use).
int default_threads() {
  if (const char* value = std::getenv("FASTDL_NUM_THREADS")) {
    const int n = std::atoi(value);
    if (n >= 1) return n;
  }
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

std::atomic<int>& thread_count() {
  static std::atomic<int> n{default_threads()};
  return n;
}

}  // namespace

int get_num_threads() { return thread_count().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
#ifndef _OPENMP
  n = 1;
#endif
  thread_count().store(n, std::memory_order_relaxed);
}

bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

}  // namespace fastdl
