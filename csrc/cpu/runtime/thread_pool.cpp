// The pool behind run_chunks (fastdl/thread_pool.h).
//
// A job lives in a shared_ptr that the poster publishes and each worker copies, so a worker
// that wakes after its job is over only finds every chunk taken. A participant takes a chunk by
// incrementing one of the job's counters (see Job); it calls join and the body only while it
// holds a chunk that is not finished, and the poster returns only when every chunk is
// finished, so nothing runs on the poster's callables after the call. Slots are reserved
// before a chunk is claimed (at most `participants`), so a participant that finds no chunk
// holds a slot it never joins.
//
// Where the workers run. A sleeping worker woken by the poster is placed by the kernel, which
// likes to put a wakee on its waker's core; there it can only take turns with the poster, and
// a job posted right after a NumPy or PyTorch call then runs at the speed of one thread while
// their library's worker spins on the other core. So the poster keeps the workers off its own
// core (affinity: the cores the workers started with, less the poster's), checked at every job
// since the poster itself may move. On the other core they share fairly with whatever spins
// there, and a worker that slept gets the core as soon as it wakes.
#include "fastdl/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>
#ifdef __linux__
#include <sched.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FASTDL_PAUSE() _mm_pause()
#else
#define FASTDL_PAUSE() ((void)0)
#endif

namespace fastdl {
namespace {

thread_local bool inside_job = false;

// How long an idle worker keeps polling for the next job before it sleeps. A training step's
// kernels follow each other within microseconds (the Python between them); sleeping between
// them would add a wake-up (tens of microseconds on a virtual machine) to every call. Longer,
// it would take a core from the NumPy or PyTorch threads that run between fastdl calls.
constexpr auto kIdleSpin = std::chrono::microseconds(50);

// The chunks are dealt into one contiguous home range per slot. A participant takes the chunks
// of its own range first, in order, and then those left in the other ranges. When every
// participant runs, each gets the same chunks from call to call (the caller's core the first
// range, the worker's the next), so that data a kernel reads again in the next call (an
// optimizer's state, an activation's output in its backward pass) is still in that core's
// cache; when one is held up, the others take what it has not started.
struct Job {
  Job(int64_t n, int max_participants, FunctionRef<void(int)> join_fn,
      FunctionRef<void(int, int64_t)> body_fn)
      : chunks(n),
        participants(max_participants),
        join(join_fn),
        body(body_fn),
        ranges(new HomeRange[static_cast<size_t>(max_participants)]) {
    for (int p = 0; p < participants; ++p) ranges[p].next.store(home_begin(p));
  }

  const int64_t chunks;
  const int participants;
  const FunctionRef<void(int)> join;
  const FunctionRef<void(int, int64_t)> body;
  // The next chunk of slot p's range [home_begin(p), home_begin(p + 1)): it only grows, past
  // the range's end once the range is empty. One cache line each, as each is taken from by its
  // own participant mostly.
  struct alignas(64) HomeRange {
    std::atomic<int64_t> next{0};
  };
  const std::unique_ptr<HomeRange[]> ranges;
  std::atomic<int64_t> done{0};
  std::atomic<int> slots{1};  // slot 0 is the poster's
  std::mutex error_mutex;
  std::exception_ptr error;

  int64_t home_begin(int p) const { return chunks * p / participants; }

  // Takes and runs chunks as participant `slot` until none is left: its home range, then the
  // others' in turn.
  void work(int slot) {
    const bool was_inside = inside_job;
    inside_job = true;
    bool joined = false;
    for (int i = 0; i < participants; ++i) {
      const int owner = (slot + i) % participants;
      std::atomic<int64_t>& next = ranges[owner].next;
      const int64_t end = home_begin(owner + 1);
      for (int64_t c = next.fetch_add(1, std::memory_order_relaxed); c < end;
           c = next.fetch_add(1, std::memory_order_relaxed)) {
        try {
          if (!joined) {
            joined = true;
            join(slot);
          }
          body(slot, c);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
        }
        done.fetch_add(1, std::memory_order_release);
      }
    }
    inside_job = was_inside;
  }

  // A free slot, or -1 when `participants` have one already.
  int reserve_slot() {
    int s = slots.load(std::memory_order_relaxed);
    while (s < participants) {
      if (slots.compare_exchange_weak(s, s + 1, std::memory_order_relaxed)) return s;
    }
    return -1;
  }

  bool finished() const { return done.load(std::memory_order_acquire) == chunks; }
};

// Every chunk on the calling thread, as slot 0.
void run_here(int64_t chunks, FunctionRef<void(int)> join, FunctionRef<void(int, int64_t)> body) {
  const bool was_inside = inside_job;
  inside_job = true;
  struct Restore {
    bool value;
    ~Restore() { inside_job = value; }
  } restore{was_inside};
  join(0);
  for (int64_t c = 0; c < chunks; ++c) body(0, c);
}

// The workers' affinity: the cores they started with, less the core of the thread posting.
class WorkerPlacement {
 public:
  void add(pthread_t worker) {
#ifdef __linux__
    if (workers_.empty() && sched_getaffinity(0, sizeof(base_), &base_) != 0) return;
    workers_.push_back(worker);
    avoided_core_ = -1;  // the new worker is not placed yet: place them all at the next job
#else
    (void)worker;
#endif
  }

  // Called by the thread posting a job; a no-op (one sched_getcpu) while it stays on the same
  // core. When it has moved, also onto a worker's core (the scheduler may wake it there), the
  // workers move off it.
  void keep_off_callers_core() {
#ifdef __linux__
    const int core = sched_getcpu();
    if (core < 0 || core == avoided_core_ || workers_.empty()) return;
    avoided_core_ = core;
    cpu_set_t allowed = base_;
    if (core < CPU_SETSIZE) CPU_CLR(core, &allowed);
    if (CPU_COUNT(&allowed) == 0) allowed = base_;  // one core only: nowhere else to go
    // Failure (a cpuset that changed since) leaves a worker where it was, which is only slower.
    for (pthread_t worker : workers_) pthread_setaffinity_np(worker, sizeof(allowed), &allowed);
#endif
  }

 private:
#ifdef __linux__
  cpu_set_t base_;
  std::vector<pthread_t> workers_;
  int avoided_core_ = -1;
#endif
};

class Pool {
 public:
  void run(int64_t chunks, int participants, FunctionRef<void(int)> join,
           FunctionRef<void(int, int64_t)> body) {
    std::unique_lock<std::mutex> posting(post_mutex_, std::try_to_lock);
    if (!posting.owns_lock()) {  // another Python thread's job has the workers
      run_here(chunks, join, body);
      return;
    }
    resize(participants - 1);
    placement_.keep_off_callers_core();
    auto job = std::make_shared<Job>(chunks, participants, join, body);
    std::atomic_store(&current_, job);
    generation_.fetch_add(1, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      if (sleepers_ > 0) wake_.notify_all();
    }
    job->work(0);
    // What is left is in the hands of workers already working on it.
    for (int spins = 0; !job->finished(); ++spins) {
      if (spins < 4096) {
        FASTDL_PAUSE();
      } else {
        std::this_thread::yield();
      }
    }
    std::atomic_store(&current_, std::shared_ptr<Job>());
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  // At least `workers` worker threads (the pool only grows: set_num_threads lowering the
  // count caps the participants instead).
  void resize(int workers) {
    for (; workers_ < workers; ++workers_) {
      std::thread worker([this] { worker_loop(); });
      placement_.add(worker.native_handle());
      worker.detach();
    }
  }

  void worker_loop() {
#ifdef __linux__
    pthread_setname_np(pthread_self(), "fastdl-worker");  // as top -H and py-spy show it
#endif
    uint64_t seen = generation_.load(std::memory_order_acquire);
    for (;;) {
      seen = wait_for_job(seen);
      const std::shared_ptr<Job> job = std::atomic_load(&current_);
      if (!job) continue;
      const int slot = job->reserve_slot();
      if (slot >= 0) job->work(slot);
    }
  }

  // Polls for a generation after `seen` for kIdleSpin, then sleeps until one is posted.
  uint64_t wait_for_job(uint64_t seen) {
    const auto until = std::chrono::steady_clock::now() + kIdleSpin;
    for (int i = 0;; ++i) {
      const uint64_t g = generation_.load(std::memory_order_acquire);
      if (g != seen) return g;
      FASTDL_PAUSE();
      if ((i & 255) == 255 && std::chrono::steady_clock::now() > until) break;
    }
    std::unique_lock<std::mutex> lock(sleep_mutex_);
    ++sleepers_;
    wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    --sleepers_;
    return generation_.load(std::memory_order_acquire);
  }

  std::mutex post_mutex_;  // one job at a time
  std::shared_ptr<Job> current_;  // read and written with std::atomic_load / atomic_store
  std::atomic<uint64_t> generation_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  int sleepers_ = 0;
  int workers_ = 0;  // started, and running for the life of the process
  WorkerPlacement placement_;
};

// The pool, never destroyed (its workers may outlive static destruction). A forked child gets
// a fresh one: it has none of the parent's workers, and may have inherited a locked mutex.
Pool* the_pool = nullptr;

Pool& pool() {
  static const bool made = [] {
    the_pool = new Pool();
    pthread_atfork(nullptr, nullptr, [] { the_pool = new Pool(); });
    return true;
  }();
  (void)made;
  return *the_pool;
}

}  // namespace

void run_chunks(int64_t chunks, int participants, FunctionRef<void(int)> join,
                FunctionRef<void(int, int64_t)> body) {
  if (chunks <= 0) return;
  if (participants <= 1 || chunks == 1 || inside_job) {
    run_here(chunks, join, body);
    return;
  }
  pool().run(chunks, participants, join, body);
}

bool in_parallel_job() { return inside_job; }

}  // namespace fastdl
