#pragma once
// fastdl's own thread pool, under every parallel kernel (fastdl/parallel.h builds on it).
//
// A job is a number of chunks. The calling thread always works: it takes chunks one after the
// other, and so does every pool worker that is free when the job is posted or soon after. The
// caller returns when every chunk is finished, so a worker that another process keeps off its
// core delays nothing but the chunk it holds, and one that never got to run delays nothing
// at all: there is no barrier that needs every thread to arrive. Idle workers spin for a
// short while (the next job of a training step usually comes within microseconds) and then
// sleep, leaving the cores to NumPy's and PyTorch's threads between fastdl calls.
#include <cstdint>
#include <type_traits>

namespace fastdl {

// A callable taken by reference, without owning it (a job's callables live for the call).
template <class Signature>
class FunctionRef;
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F& f)  // NOLINT(runtime/explicit): wraps a lambda at the call site
      : context_(&f),
        call_([](void* c, Args... args) -> R { return (*static_cast<F*>(c))(args...); }) {}
  R operator()(Args... args) const { return call_(context_, args...); }

 private:
  void* context_;
  R (*call_)(void*, Args...);
};

// Runs body(slot, chunk) for every chunk of [0, chunks), each exactly once, on the calling
// thread (slot 0) and on at most participants - 1 pool workers (slots 1 .. participants - 1),
// each participant taking the next chunk when it is done with one: first from its own
// contiguous share of [0, chunks) (slot s's is the s-th of `participants` equal ranges), then
// from the others' (so with every participant running, each gets the same chunks from call to
// call, and their data stays in its core's caches). A participant calls
// join(slot) once, before its first chunk; a slot that no participant took is never joined.
// An exception from a chunk is rethrown here once every chunk has finished. Called from
// inside a chunk, or while another thread's job holds the pool, it runs every chunk on the
// calling thread.
void run_chunks(int64_t chunks, int participants, FunctionRef<void(int)> join,
                FunctionRef<void(int, int64_t)> body);

// Whether the calling thread is running a chunk: kernels do not nest jobs.
bool in_parallel_job();

}  // namespace fastdl
