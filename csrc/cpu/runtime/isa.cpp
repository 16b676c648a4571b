#include "fastdl/isa.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define FASTDL_X86 1
#endif

namespace fastdl {
namespace {

#if FASTDL_HAVE_AVX2_KERNELS
constexpr bool kBuiltAvx2 = true;
#else
constexpr bool kBuiltAvx2 = false;
#endif
#if FASTDL_HAVE_AVX512_KERNELS
constexpr bool kBuiltAvx512 = true;
#else
constexpr bool kBuiltAvx512 = false;
#endif

#if FASTDL_X86
// The state components the OS saves on a context switch (XCR0), or 0 when XGETBV is not
// enabled (CPUID.1:ECX.OSXSAVE).
uint64_t os_saved_state() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool cpu_supports(Isa isa) {
  constexpr uint64_t kYmm = 0x6;    // SSE and AVX state
  constexpr uint64_t kZmm = 0xe0;   // opmask, upper halves of ZMM0-15, ZMM16-31
  __builtin_cpu_init();
  const uint64_t saved = os_saved_state();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    (saved & kYmm) == kYmm;
  if (isa == Isa::avx2) return avx2;
  return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
         (saved & kZmm) == kZmm;
}
#else
bool cpu_supports(Isa) { return false; }
#endif

// The best available ISA at or below `ceiling`.
Isa best_available(Isa ceiling) {
  for (Isa isa : {Isa::avx512, Isa::avx2}) {
    if (static_cast<int>(isa) <= static_cast<int>(ceiling) && isa_available(isa)) return isa;
  }
  return Isa::generic;
}

Isa initial_isa() {
  const char* requested = std::getenv("FASTDL_ISA");
  Isa ceiling = Isa::avx512;
  if (requested != nullptr) {
    for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
      if (std::strcmp(requested, isa_name(isa)) == 0) ceiling = isa;
    }
  }
  return best_available(ceiling);
}

std::atomic<Isa>& current() {
  static std::atomic<Isa> isa{initial_isa()};
  return isa;
}

}  // namespace

Isa active_isa() { return current().load(std::memory_order_relaxed); }

bool isa_built(Isa isa) {
  switch (isa) {
    case Isa::generic:
      return true;
    case Isa::avx2:
      return kBuiltAvx2;
    case Isa::avx512:
      return kBuiltAvx512;
  }
  return false;
}

bool isa_available(Isa isa) {
  if (isa == Isa::generic) return true;
  static const bool avx2 = isa_built(Isa::avx2) && cpu_supports(Isa::avx2);
  static const bool avx512 = isa_built(Isa::avx512) && cpu_supports(Isa::avx512);
  return isa == Isa::avx2 ? avx2 : avx512;
}

void set_isa(Isa isa) {
  if (!isa_available(isa)) {
    throw std::invalid_argument(std::string("set_isa: '") + isa_name(isa) +
                                "' kernels are not available on this CPU or in this build");
  }
  current().store(isa, std::memory_order_relaxed);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    case Isa::generic:
      break;
  }
  return "generic";
}

Isa isa_from_name(const char* op, const char* name) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (std::strcmp(name, isa_name(isa)) == 0) return isa;
  }
  throw std::invalid_argument(std::string(op) + ": unknown ISA '" + name +
                              "'; expected 'avx512', 'avx2' or 'generic'");
}

}  // namespace fastdl
