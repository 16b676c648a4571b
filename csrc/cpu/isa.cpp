#include "fastdl/isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace fastdl {
namespace {

bool cpu_has_avx2_fma() {
#if FASTDL_HAVE_AVX2_KERNELS && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

Isa initial_isa() {
  const char* requested = std::getenv("FASTDL_ISA");
  if (requested != nullptr && std::strcmp(requested, "generic") == 0) return Isa::generic;
  return cpu_has_avx2_fma() ? Isa::avx2 : Isa::generic;
}

std::atomic<Isa>& current() {
  static std::atomic<Isa> isa{initial_isa()};
  return isa;
}

}  // namespace

Isa active_isa() { return current().load(std::memory_order_relaxed); }

bool isa_available(Isa isa) { return isa == Isa::generic || cpu_has_avx2_fma(); }

void set_isa(Isa isa) {
  if (!isa_available(isa)) {
    throw std::invalid_argument(std::string("set_isa: '") + isa_name(isa) +
                                "' kernels are not available on this CPU or in this build");
  }
  current().store(isa, std::memory_order_relaxed);
}

const char* isa_name(Isa isa) { return isa == Isa::avx2 ? "avx2" : "generic"; }

}  // namespace fastdl
