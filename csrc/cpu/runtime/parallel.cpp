#include "fastdl/parallel.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#ifdef __linux__
#include <sched.h>
#endif

namespace fastdl {
namespace {

// The leading number of environment variable `name` when it is a positive integer, else 0.
// OMP_NUM_THREADS may be a list ("4,2" for nested levels): its first number is the count.
int positive_from_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return 0;
  char* end = nullptr;
  const long n = std::strtol(value, &end, 10);
  if (end == value || n < 1 || (*end != '\0' && *end != ',')) return 0;
  return static_cast<int>(std::min<long>(n, 1 << 16));
}

// The cores this process may run on (its affinity mask: taskset, a container's cpuset), else
// the machine's.
int usable_cores() {
#ifdef __linux__
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) return std::max(1, CPU_COUNT(&allowed));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

// FASTDL_NUM_THREADS, else OMP_NUM_THREADS (the variable users of OpenMP programs know), else
// the usable cores.
int default_threads() {
  for (const char* name : {"FASTDL_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const int n = positive_from_env(name)) return n;
  }
  return usable_cores();
}

std::atomic<int>& thread_count() {
  static std::atomic<int> n{default_threads()};
  return n;
}

}  // namespace

int get_num_threads() { return thread_count().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
  thread_count().store(n, std::memory_order_relaxed);
}

}  // namespace fastdl
