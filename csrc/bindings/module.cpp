// fastdl._C: the CPU kernels. Each family binds itself (bindings/<family>.cpp), and so does the
// autograd engine (csrc/autograd/autograd.cpp); this file holds the module-wide controls:
// threads, ISA choice, the allocator's policy and build facts.
#include <pybind11/pybind11.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastdl/isa.h"
#include "fastdl/memory.h"
#include "fastdl/parallel.h"
#include "fastdl/thread_pool.h"

namespace py = pybind11;

namespace fastdl::bindings {
void bind_gemm(py::module_& m);
void bind_activation(py::module_& m);
void bind_softmax(py::module_& m);
void bind_pool(py::module_& m);
void bind_optim(py::module_& m);
void bind_dense(py::module_& m);
void bind_autograd(py::module_& m);
void bind_conv(py::module_& m);
void bind_dropout(py::module_& m);
void bind_random(py::module_& m);
void bind_gather(py::module_& m);
void bind_rnn(py::module_& m);
void bind_norm(py::module_& m);
void bind_attention(py::module_& m);
}  // namespace fastdl::bindings

PYBIND11_MODULE(_C, m) {
  using namespace fastdl;
  m.doc() =
      "fastdl CPU kernels (C++ on its own thread pool; AVX-512 and AVX2/FMA with a portable "
      "fallback)";

  // FASTDL_RETURN_FREED_MEMORY=1 leaves the allocator as it was (fastdl/memory.h says why
  // fastdl changes it).
  const char* keep_allocator = std::getenv("FASTDL_RETURN_FREED_MEMORY");
  const bool keeps_freed_memory =
      !(keep_allocator && std::strcmp(keep_allocator, "1") == 0) && keep_freed_memory();
  m.def("keeps_freed_memory", [keeps_freed_memory] { return keeps_freed_memory; },
        "Whether the process keeps freed memory for reuse (see FASTDL_RETURN_FREED_MEMORY).");

  m.def("get_num_threads", &get_num_threads, "Threads the kernels use.");
  m.def(
      "_pool_raise_in_chunk",
      [](int64_t chunks, int64_t failing) {
        std::atomic<int64_t> ran{0};
        auto join = [](int) {};
        auto body = [&](int, int64_t c) {
          ran.fetch_add(1, std::memory_order_relaxed);
          if (c == failing) throw std::runtime_error("chunk " + std::to_string(c) + " failed");
        };
        try {
          py::gil_scoped_release release;
          run_chunks(chunks, get_num_threads(), join, body);
        } catch (const std::runtime_error& e) {
          throw std::runtime_error(std::string(e.what()) + " after " +
                                   std::to_string(ran.load()) + " chunks ran");
        }
        return ran.load();
      },
      py::arg("chunks"), py::arg("failing"),
      "For the tests: runs `chunks` chunks on the thread pool, chunk `failing` raising; the "
      "RuntimeError says how many ran (all of them: the others still run).");
  m.def(
      "_pool_chunk_slots",
      [](int64_t chunks) {
        if (chunks < 0)
          throw py::value_error("_pool_chunk_slots: chunks must be >= 0, got " +
                                std::to_string(chunks));
        // Per chunk: the slot that ran it, or -2 when it ran more than once (-1: never).
        std::vector<std::atomic<int>> slot_of(static_cast<size_t>(chunks));
        for (auto& s : slot_of) s.store(-1, std::memory_order_relaxed);
        auto join = [](int) {};
        auto body = [&](int slot, int64_t c) {
          int expected = -1;
          if (!slot_of[static_cast<size_t>(c)].compare_exchange_strong(expected, slot))
            slot_of[static_cast<size_t>(c)].store(-2);
        };
        {
          py::gil_scoped_release release;
          run_chunks(chunks, get_num_threads(), join, body);
        }
        py::list slots;
        for (auto& s : slot_of) slots.append(s.load());
        return slots;
      },
      py::arg("chunks"),
      "For the tests: runs `chunks` chunks on the thread pool and returns the slot that ran "
      "each (-1: none, -2: more than one).");
  m.def("set_num_threads", &set_num_threads, py::arg("n"), "Set the threads the kernels use.");
  m.def("active_isa", [] { return std::string(isa_name(active_isa())); },
        "The kernel set in use: 'avx512', 'avx2' or 'generic'.");
  m.def("isa_built", [](const std::string& name) {
    return isa_built(isa_from_name("isa_built", name.c_str()));
  }, py::arg("name"), "Whether this build has the kernels of ISA `name`.");
  m.def("isa_available", [](const std::string& name) {
    return isa_available(isa_from_name("isa_available", name.c_str()));
  }, py::arg("name"), "Whether the kernels of ISA `name` are built and can run on this CPU.");
  m.def("set_isa", [](const std::string& name) {
    set_isa(isa_from_name("set_isa", name.c_str()));
  }, py::arg("name"), "Switches to the kernels of ISA `name` (for testing).");

  bindings::bind_gemm(m);
  bindings::bind_activation(m);
  bindings::bind_softmax(m);
  bindings::bind_pool(m);
  bindings::bind_optim(m);
  bindings::bind_dense(m);
  bindings::bind_autograd(m);
  bindings::bind_conv(m);
  bindings::bind_dropout(m);
  bindings::bind_random(m);
  bindings::bind_gather(m);
  bindings::bind_rnn(m);
  bindings::bind_norm(m);
  bindings::bind_attention(m);
}
