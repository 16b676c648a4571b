// The GEMM micro-kernel alone, against the core's FMA peak, on one thread.
//
//   cmake --build build --target fastdl_microkernel && build/fastdl_microkernel
//
// Each ISA's gemm_tile_packed runs on one MR x NR tile from packed panels of A and B that stay
// in L1 (KC = 192), accumulating into C, many times over; the FMA peak is measured by
// independent chains of vector FMAs (more than the FMA latency times the FMA ports of any x86
// core), and the clock by a chain of dependent integer adds (one per cycle).
#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "fastdl/isa.h"
#include "gemm/kernels.h"

namespace {

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double clock_hz() {
  const int64_t adds = 1'000'000'000;
  uint64_t x = 0;
  const double start = seconds();
  for (int64_t i = 0; i < adds; i += 8) {
    asm volatile(
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
        : "+r"(x));
  }
  return adds / (seconds() - start);
}

constexpr int64_t kPeakIterations = 50'000'000;

// FLOP/s of 16 independent chains of vector FMAs. Compiled for their ISA alone (the program
// runs on CPUs without AVX-512, which then skip that part).
__attribute__((target("avx512f"), noinline)) double avx512_fma_peak() {
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
  __m512 acc[16];
  for (__m512& v : acc) v = b;
  const double start = seconds();
  for (int64_t i = 0; i < kPeakIterations; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) acc[k] = _mm512_fmadd_ps(a, acc[k], b);
  }
  const double elapsed = seconds() - start;
  volatile float sink = 0;
  for (__m512& v : acc) sink = sink + _mm512_cvtss_f32(v);
  return kPeakIterations * 16.0 * 16 * 2 / elapsed;
}

// 12 chains: with a and b, all AVX2's 16 registers hold, and 12 still exceed latency x ports.
__attribute__((target("avx2,fma"), noinline)) double avx2_fma_peak() {
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
  __m256 acc[12];
  for (__m256& v : acc) v = b;
  const double start = seconds();
  for (int64_t i = 0; i < kPeakIterations; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < 12; ++k) acc[k] = _mm256_fmadd_ps(a, acc[k], b);
  }
  const double elapsed = seconds() - start;
  volatile float sink = 0;
  for (__m256& v : acc) sink = sink + _mm256_cvtss_f32(v);
  return kPeakIterations * 12.0 * 8 * 2 / elapsed;
}

template <class Tile>
double kernel_flops(Tile tile, int mr, int nr) {
  const int64_t kc = 192;
  std::vector<float> a(static_cast<size_t>(kc * mr), 1e-3f);
  std::vector<float> b(static_cast<size_t>(kc * nr), 1e-3f);
  std::vector<float> c(static_cast<size_t>(mr * nr), 0.0f);
  const fastdl::TileEpilogue<float> ep{1.0f, true, nullptr, fastdl::Activation::none, 0.0f};
  const int64_t calls = 2'000'000;
  for (int i = 0; i < 1000; ++i) tile(kc, a.data(), b.data(), c.data(), nr, mr, nr, ep);
  const double start = seconds();
  for (int64_t i = 0; i < calls; ++i) tile(kc, a.data(), b.data(), c.data(), nr, mr, nr, ep);
  return calls * 2.0 * kc * mr * nr / (seconds() - start);
}

template <class Tile>
void report(const char* isa, Tile tile, int mr, int nr, double peak, double clock) {
  const double flops = kernel_flops(tile, mr, nr);
  std::printf("%-7s %2d x %2d tile: %6.1f GFLOP/s = %5.1f FLOP/cycle, %5.1f %% of the peak\n", isa,
              mr, nr, flops / 1e9, flops / clock, 100.0 * flops / peak);
}

}  // namespace

int main() {
  using namespace fastdl;
  const double clock = clock_hz();
  std::printf("clock: %.2f GHz (a chain of dependent adds)\n", clock / 1e9);
  if (isa_available(Isa::avx512)) {
    const double peak = avx512_fma_peak();
    std::printf("AVX-512 FMA peak: %.1f GFLOP/s = %.1f FLOP/cycle\n", peak / 1e9, peak / clock);
    report("avx512", avx512::gemm_tile_packed<float>, avx512::MicroTile<float>::MR,
           avx512::MicroTile<float>::NR, peak, clock);
  }
  if (isa_available(Isa::avx2)) {
    const double peak = avx2_fma_peak();
    std::printf("AVX2 FMA peak: %.1f GFLOP/s = %.1f FLOP/cycle\n", peak / 1e9, peak / clock);
    report("avx2", avx2::gemm_tile_packed<float>, avx2::MicroTile<float>::MR,
           avx2::MicroTile<float>::NR, peak, clock);
  }
  return 0;
}
