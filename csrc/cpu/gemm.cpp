// GEMM driver in the GotoBLAS/BLIS scheme, shared by every ISA:
//
//   for jc in N by NC:                 B block  (KC x NC) packed once, by all threads -> L3
//     for pc in K by KC:
//       pack B[pc:pc+KC, jc:jc+NC] into NR-wide micro-panels
//       for ic in this thread's rows by MC:   A block (MC x KC) packed per thread   -> L2
//         for jr in NC by NR:                 B micro-panel (KC x NR)                -> L1
//           for ir in MC by MR:  micro-kernel on an MR x NR tile of C (registers)
//
// Packing reads A and B through their strides, so transposed operands cost nothing extra, and
// pads the last panels with zeros so the micro-kernel never branches; edge tiles are stored with
// masks. Threads split the rows of C (each packs its own A block) or, when there are too few
// rows, the columns; products too small to amortize packing go to the unpacked kernel.
#include "fastdl/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "gemm_kernels.h"

namespace fastdl {
namespace {

template <class T>
struct Blocking;
// Tuned on Zen 3 (32 KiB L1d, 512 KiB L2 per core): the B micro-panel (KC x NR) fills half of
// L1, the A block (MC x KC) a third of L2.
template <>
struct Blocking<float> {
  static constexpr int64_t MC = 144, KC = 256, NC = 4080;
};
template <>
struct Blocking<double> {
  static constexpr int64_t MC = 72, KC = 256, NC = 2040;
};

// Below this many multiply-adds (M*N*K) a product runs on one thread.
constexpr int64_t kParallelWork = 48 * 48 * 48;

constexpr int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
constexpr int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }

// A growing, 64-byte aligned scratch buffer owned by one thread and reused across calls, so
// steady-state GEMMs allocate nothing (fresh pages would cost page faults on every call).
class Scratch {
 public:
  ~Scratch() { std::free(data_); }
  template <class T>
  T* get(int64_t count) {
    const size_t bytes = static_cast<size_t>(round_up(count * int64_t(sizeof(T)), 64));
    if (bytes > capacity_) {
      std::free(data_);
      data_ = std::aligned_alloc(64, bytes);
      if (!data_) {
        capacity_ = 0;
        throw std::bad_alloc();
      }
      capacity_ = bytes;
    }
    return static_cast<T*>(data_);
  }

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

Scratch& a_scratch() {
  thread_local Scratch s;
  return s;
}
Scratch& b_scratch() {
  thread_local Scratch s;
  return s;
}

// Packs rows [0, mc) x cols [0, kc) of A into MR-row panels: panel p holds, for each k, the MR
// values A[p*MR + r, k] contiguously. Rows past mc are zero.
template <class T>
void pack_a(int64_t mc, int64_t kc, const T* A, int64_t rs, int64_t cs, T* dst) {
  constexpr int MR = MicroTile<T>::MR;
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    for (int r = 0; r < mr; ++r) {
      const T* src = A + (i0 + r) * rs;
      if (cs == 1) {
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = src[k];
      } else {
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = src[k * cs];
      }
    }
    for (int r = mr; r < MR; ++r)
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = T(0);
  }
}

// Packs panels [p_begin, p_end) of the kc x nc block of B: panel p holds, for each k, the NR
// values B[k, p*NR + j] contiguously. Columns past nc are zero.
template <class T>
void pack_b(int64_t p_begin, int64_t p_end, int64_t kc, int64_t nc, const T* B, int64_t rs,
            int64_t cs, T* packed) {
  constexpr int NR = MicroTile<T>::NR;
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int64_t j0 = p * NR;
    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - j0));
    T* dst = packed + p * NR * kc;
    if (cs == 1 && nr == NR) {
      for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * NR, B + k * rs + j0, NR * sizeof(T));
    } else if (cs == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        std::memcpy(dst + k * NR, B + k * rs + j0, nr * sizeof(T));
        std::fill(dst + k * NR + nr, dst + (k + 1) * NR, T(0));
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        for (int j = 0; j < nr; ++j) dst[k * NR + j] = B[k * rs + (j0 + j) * cs];
        for (int j = nr; j < NR; ++j) dst[k * NR + j] = T(0);
      }
    }
  }
}

// [begin, end) of `count` items for part `part` of `parts`, in multiples of `align`.
struct Range {
  int64_t begin, end;
};
Range split(int64_t count, int parts, int part, int64_t align) {
  const int64_t units = ceil_div(count, align);
  const int64_t per = units / parts, extra = units % parts;
  const int64_t first = part * per + std::min<int64_t>(part, extra);
  const int64_t n = per + (part < extra ? 1 : 0);
  return {std::min(count, first * align), std::min(count, (first + n) * align)};
}

template <class T>
void gemm_packed(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B, T* C,
                 int64_t ldc, const GemmEpilogue<T>& ep, int nthreads) {
  constexpr int MR = MicroTile<T>::MR, NR = MicroTile<T>::NR;
  constexpr int64_t MC = Blocking<T>::MC, KC = Blocking<T>::KC, NC = Blocking<T>::NC;

  // Threads along M (each packs its own A block) times threads along N.
  const int threads_m = static_cast<int>(std::min<int64_t>(nthreads, ceil_div(M, MR)));
  const int threads_n = std::max(1, nthreads / threads_m);
  const int team = threads_m * threads_n;

  const int64_t nc_max = std::min(NC, round_up(N, NR));
  T* b_packed = b_scratch().get<T>(std::min(KC, K) * nc_max);

  auto run = [&](int tid) {
    const int tm = tid % threads_m, tn = tid / threads_m;
    const Range rows = split(M, threads_m, tm, MR);
    const int64_t my_rows = rows.end - rows.begin;
    // Equal A blocks of at most MC rows.
    const int64_t mc_block =
        my_rows > 0 ? round_up(ceil_div(my_rows, ceil_div(my_rows, MC)), MR) : MR;
    T* a_packed = a_scratch().get<T>(mc_block * std::min(KC, K));

    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc);
      const int64_t panels = ceil_div(nc, NR);
      const Range my_panels = split(panels, threads_n, tn, 1);
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        const bool last_k = pc + kc == K;

        // All threads pack a share of the B block, then wait for each other.
#ifdef _OPENMP
        if (team > 1) {
#pragma omp barrier
        }
#endif
        const Range packing = split(panels, team, tid, 1);
        pack_b(packing.begin, packing.end, kc, nc, B.data + pc * B.row_stride + jc * B.col_stride,
               B.row_stride, B.col_stride, b_packed);
#ifdef _OPENMP
        if (team > 1) {
#pragma omp barrier
        }
#endif
        for (int64_t ic = rows.begin; ic < rows.end; ic += mc_block) {
          const int64_t mc = std::min(mc_block, rows.end - ic);
          pack_a(mc, kc, A.data + ic * A.row_stride + pc * A.col_stride, A.row_stride,
                 A.col_stride, a_packed);
          for (int64_t p = my_panels.begin; p < my_panels.end; ++p) {
            const int64_t j = jc + p * NR;
            const int nr = static_cast<int>(std::min<int64_t>(NR, N - j));
            const TileEpilogue<T> tile_ep{ep.alpha, pc > 0,
                                          last_k && ep.bias ? ep.bias + j : nullptr,
                                          last_k ? ep.act : Activation::none, ep.act_alpha};
            const T* b_panel = b_packed + p * NR * kc;
            for (int64_t i = 0; i < mc; i += MR) {
              const int mr = static_cast<int>(std::min<int64_t>(MR, mc - i));
              FASTDL_DISPATCH(gemm_micro_kernel<T>(kc, a_packed + i * kc, b_panel,
                                                   C + (ic + i) * ldc + j, ldc, mr, nr, tile_ep));
            }
          }
        }
      }
    }
  };

  if (team == 1) {
    run(0);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(team)
  run(omp_get_thread_num());
#endif
}

// True when packing would cost more than it saves: the whole of B fits in L1/L2 and is read in
// place by the unpacked kernel. Needs unit column stride in B (or no B at all).
template <class T>
bool use_unpacked(int64_t M, int64_t N, int64_t K, StridedMatrix<T> B) {
  if (K == 0) return true;
  if (B.col_stride != 1) return false;
  return M * N * K <= 32 * 32 * 32 || (M <= 2 * MicroTile<T>::MR && K * N * int64_t(sizeof(T)) <= (64 << 10));
}

template <class T>
void gemm_with_threads(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B,
                       T* C, int64_t ldc, const GemmEpilogue<T>& ep, int nthreads) {
  if (M == 0 || N == 0) return;
  if (use_unpacked(M, N, K, B)) {
    FASTDL_DISPATCH(gemm_unpacked<T>(M, N, K, A, B, C, ldc, ep));
    return;
  }
  gemm_packed(M, N, K, A, B, C, ldc, ep, nthreads);
}

}  // namespace

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, StridedMatrix<T> A, StridedMatrix<T> B, T* C,
          int64_t ldc, const GemmEpilogue<T>& epilogue) {
  gemm_with_threads(M, N, K, A, B, C, ldc, epilogue, threads_for(M * N * K, kParallelWork));
}

template <class T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, StridedMatrix<T> A,
                  int64_t batch_stride_a, StridedMatrix<T> B, int64_t batch_stride_b, T* C,
                  int64_t ldc, const GemmEpilogue<T>& epilogue) {
  auto item = [&](int64_t i, int nthreads) {
    StridedMatrix<T> a{A.data + i * batch_stride_a, A.row_stride, A.col_stride};
    StridedMatrix<T> b{B.data + i * batch_stride_b, B.row_stride, B.col_stride};
    gemm_with_threads(M, N, K, a, b, C + i * M * ldc, ldc, epilogue, nthreads);
  };
  // Many small products: one per thread. Few large ones: each uses every thread.
  const int64_t work = M * N * K;
  const int per_item_threads = threads_for(work, kParallelWork);
  if (per_item_threads > 1 && batch < 2 * get_num_threads()) {
    for (int64_t i = 0; i < batch; ++i) item(i, per_item_threads);
    return;
  }
  const int nthreads = threads_for(batch * work, kParallelWork);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthreads) schedule(static) if (nthreads > 1)
#endif
  for (int64_t i = 0; i < batch; ++i) item(i, 1);
}

template void gemm<float>(int64_t, int64_t, int64_t, StridedMatrix<float>, StridedMatrix<float>,
                          float*, int64_t, const GemmEpilogue<float>&);
template void gemm<double>(int64_t, int64_t, int64_t, StridedMatrix<double>,
                           StridedMatrix<double>, double*, int64_t, const GemmEpilogue<double>&);
template void gemm_batched<float>(int64_t, int64_t, int64_t, int64_t, StridedMatrix<float>,
                                  int64_t, StridedMatrix<float>, int64_t, float*, int64_t,
                                  const GemmEpilogue<float>&);
template void gemm_batched<double>(int64_t, int64_t, int64_t, int64_t, StridedMatrix<double>,
                                   int64_t, StridedMatrix<double>, int64_t, double*, int64_t,
                                   const GemmEpilogue<double>&);

}  // namespace fastdl
