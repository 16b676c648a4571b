// Softmax family on the GPU: memory-bound row reductions, so each element should cross the
// memory bus once each way.
//
// Rows of up to kWarpMaxCols columns live in registers: a group of lanes of one warp holds a
// row (the whole warp beyond 32 columns; below, the fewest lanes with one element each, several
// rows to a warp, so that a warp still reads contiguous memory), reduces it with shuffles and
// writes the result: one read and one write per element.
//
// Wider rows get a block each. A first pass computes the row's maximum and sum of exponentials
// together (the online softmax: the sum is rescaled whenever the maximum grows) and keeps the
// row in shared memory when it fits; the second pass writes the output from there. Rows too long
// for shared memory are read twice from global memory, the second time mostly from L2.
//
// Loads and stores are float4 wherever every row starts on a 16-byte boundary (cols % 4 == 0 and
// aligned base pointers), decided on the host.
#include <cmath>
#include <initializer_list>
#include <type_traits>

#include "common.cuh"
#include "softmax.h"

namespace fastdl::cuda {
namespace {

constexpr int kWarpMaxCols = 1024;
constexpr int kWarpKernelThreads = 128;
constexpr int kRowKernelThreads = 512;
constexpr int kMeanThreads = 256;
// Dynamic shared memory a kernel may use without opting in.
constexpr int64_t kDefaultSharedBytes = 48 * 1024;

// ---------------------------------------------------------------- vectors and reductions

// A running maximum and the sum of exp(x - max) over the elements seen so far.
struct MaxSum {
  float max;
  float sum;
};

__device__ __forceinline__ float shfl_xor(float v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}
__device__ __forceinline__ double shfl_xor(double v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}
__device__ __forceinline__ MaxSum shfl_xor(MaxSum v, int mask) {
  return {shfl_xor(v.max, mask), shfl_xor(v.sum, mask)};
}

// sum * exp(from - to): a sum of exponentials relative to `from` re-expressed relative to the
// maximum `to` >= from. Equal maxima (both -inf included, where the difference would be NaN)
// leave the sum as it is.
__device__ __forceinline__ float rescale(float sum, float from, float to) {
  return from == to ? sum : sum * expf(from - to);
}

// exp(x - max), 0 for x = -inf even when max is -inf too; a NaN x gives NaN, which then reaches
// every output of its row through the sum, as on the CPU.
__device__ __forceinline__ float shifted_exp(float x, float max) {
  return x == -INFINITY ? 0.0f : expf(x - max);
}

struct Add {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

struct Merge {
  __device__ MaxSum operator()(MaxSum a, MaxSum b) const {
    const float max = fmaxf(a.max, b.max);
    return {max, rescale(a.sum, a.max, max) + rescale(b.sum, b.max, max)};
  }
};

template <int N>
__device__ __forceinline__ MaxSum accumulate(MaxSum acc, const Pack<N>& x) {
  float max = acc.max;
#pragma unroll
  for (int k = 0; k < N; ++k) max = fmaxf(max, x.v[k]);
  float sum = rescale(acc.sum, acc.max, max);
#pragma unroll
  for (int k = 0; k < N; ++k) sum += shifted_exp(x.v[k], max);
  return {max, sum};
}

// Reduces over each group of kLanes consecutive lanes (a power of two up to 32); every lane of
// the warp takes part and gets its group's result.
template <int kLanes, class T, class Op>
__device__ __forceinline__ T group_reduce(T v, Op op) {
#pragma unroll
  for (int mask = kLanes / 2; mask > 0; mask >>= 1) v = op(v, shfl_xor(v, mask));
  return v;
}

// Reduces over the block, in an order fixed by the block size; every thread gets the result.
// All threads must call it. Back-to-back calls are safe with two barriers each: warp 0 reads
// `partial` before the second barrier, and writes `total` only after the next call's first
// barrier, which every thread reaches after reading the previous `total`.
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T identity) {
  __shared__ T partial[32];
  __shared__ T total;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = group_reduce<32>(v, op);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = group_reduce<32>(lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : identity, op);
    if (lane == 0) total = v;
  }
  __syncthreads();
  return total;
}

// ---------------------------------------------------------------- rows in registers

// A row of up to kMaxCols columns held by kLanes lanes, each with kVecs vectors of kVec floats:
// element (j, k) of lane l is column (j * kLanes + l) * kVec + k, so that the lanes of a group
// read consecutive vectors.
template <int kLanes_, int kVecs_, int kVec_>
struct WarpLayout {
  static constexpr int kLanes = kLanes_, kVecs = kVecs_, kVec = kVec_;
  static constexpr int kPerLane = kVecs * kVec;
  static constexpr int kRowsPerWarp = 32 / kLanes;
  static constexpr int kMaxCols = kLanes * kPerLane;
};

// Calls body(row, lane, valid) for every row of [0, rows), each handled by one group of lanes
// (lane: the lane's index in its group). The loop is uniform across each warp, so the body may
// shuffle; lanes past the last row get valid = false and must not touch memory.
template <class L, class Body>
__device__ __forceinline__ void for_each_warp_row(int64_t rows, Body body) {
  const int warps_per_block = blockDim.x / 32;
  const int lane = threadIdx.x % 32;
  const int64_t warp = int64_t(blockIdx.x) * warps_per_block + threadIdx.x / 32;
  const int64_t stride = int64_t(gridDim.x) * warps_per_block * L::kRowsPerWarp;
  for (int64_t first = warp * L::kRowsPerWarp; first < rows; first += stride) {
    const int64_t row = first + lane / L::kLanes;
    body(row, lane % L::kLanes, row < rows);
  }
}

// The lane's elements of a row of `cols` columns; those past the end hold `fill`.
template <class L>
__device__ __forceinline__ void load_row(const float* row, int cols, int lane,
                                         float (&v)[L::kPerLane], float fill) {
#pragma unroll
  for (int j = 0; j < L::kVecs; ++j) {
    const int c = (j * L::kLanes + lane) * L::kVec;
    Pack<L::kVec> p;
    if (c < cols) {
      p = load<L::kVec>(row + c);
    } else {
#pragma unroll
      for (int k = 0; k < L::kVec; ++k) p.v[k] = fill;
    }
#pragma unroll
    for (int k = 0; k < L::kVec; ++k) v[j * L::kVec + k] = p.v[k];
  }
}

// Writes value(i, column) for each of the lane's elements i inside the row.
template <class L, class Value>
__device__ __forceinline__ void store_row(float* row, int cols, int lane, Value value) {
#pragma unroll
  for (int j = 0; j < L::kVecs; ++j) {
    const int c = (j * L::kLanes + lane) * L::kVec;
    if (c < cols) {
      Pack<L::kVec> p;
#pragma unroll
      for (int k = 0; k < L::kVec; ++k) p.v[k] = value(j * L::kVec + k, c + k);
      store<L::kVec>(row + c, p);
    }
  }
}

template <class L>
__global__ void __launch_bounds__(kWarpKernelThreads)
    softmax_warp_kernel(const float* x, float* y, int64_t rows, int cols, bool log) {
  for_each_warp_row<L>(rows, [&](int64_t row, int lane, bool valid) {
    const int n = valid ? cols : 0;
    const int64_t offset = valid ? row * cols : 0;
    float v[L::kPerLane];
    load_row<L>(x + offset, n, lane, v, -INFINITY);
    float max = -INFINITY;
#pragma unroll
    for (int i = 0; i < L::kPerLane; ++i) max = fmaxf(max, v[i]);
    max = group_reduce<L::kLanes>(max, Max{});
    float sum = 0.0f;
    if (log) {
#pragma unroll
      for (int i = 0; i < L::kPerLane; ++i) sum += expf(v[i] - max);
      const float log_sum = logf(group_reduce<L::kLanes>(sum, Add{}));
      // (x - max) - log(sum): exact near the maximum even when the maximum is large.
      store_row<L>(y + offset, n, lane, [&](int i, int) { return (v[i] - max) - log_sum; });
    } else {
#pragma unroll
      for (int i = 0; i < L::kPerLane; ++i) sum += (v[i] = expf(v[i] - max));
      const float inverse = 1.0f / group_reduce<L::kLanes>(sum, Add{});
      store_row<L>(y + offset, n, lane, [&](int i, int) { return v[i] * inverse; });
    }
  });
}

template <class L>
__global__ void __launch_bounds__(kWarpKernelThreads)
    softmax_backward_warp_kernel(const float* dy, const float* y, float* dx, int64_t rows,
                                 int cols, bool log) {
  for_each_warp_row<L>(rows, [&](int64_t row, int lane, bool valid) {
    const int n = valid ? cols : 0;
    const int64_t offset = valid ? row * cols : 0;
    float g[L::kPerLane], s[L::kPerLane];
    load_row<L>(dy + offset, n, lane, g, 0.0f);
    load_row<L>(y + offset, n, lane, s, 0.0f);
    float acc = 0.0f;
#pragma unroll
    for (int i = 0; i < L::kPerLane; ++i) acc = log ? acc + g[i] : fmaf(g[i], s[i], acc);
    const float total = group_reduce<L::kLanes>(acc, Add{});
    store_row<L>(dx + offset, n, lane, [&](int i, int) {
      return log ? fmaf(-expf(s[i]), total, g[i]) : (g[i] - total) * s[i];
    });
  });
}

// Sum over the block of each thread's `value`, written by thread 0 to partial[blockIdx.x]: one
// term of the mean loss, reduced in a fixed order.
__device__ __forceinline__ void write_block_sum(float value, float* partial) {
  const float total = block_reduce(value, Add{}, 0.0f);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

__device__ __forceinline__ bool label_in_range(int64_t label, int64_t cols) {
  return label >= 0 && label < cols;
}

template <class L, class Label>
__global__ void __launch_bounds__(kWarpKernelThreads)
    cross_entropy_warp_kernel(const float* logits, const Label* labels, float* dlogits,
                              int64_t rows, int cols, float grad_scale, float* partial) {
  float loss = 0.0f;  // the losses of the rows whose group this lane leads
  for_each_warp_row<L>(rows, [&](int64_t row, int lane, bool valid) {
    const int n = valid ? cols : 0;
    const int64_t offset = valid ? row * cols : 0;
    float v[L::kPerLane];
    load_row<L>(logits + offset, n, lane, v, -INFINITY);
    const int64_t label = valid ? static_cast<int64_t>(labels[row]) : 0;
    const bool in_range = label_in_range(label, cols);
    const bool leader = valid && lane == 0;
    const float picked = leader && in_range ? logits[offset + label] : 0.0f;
    float max = -INFINITY;
#pragma unroll
    for (int i = 0; i < L::kPerLane; ++i) max = fmaxf(max, v[i]);
    max = group_reduce<L::kLanes>(max, Max{});
    float sum = 0.0f;
    if (dlogits) {
#pragma unroll
      for (int i = 0; i < L::kPerLane; ++i) sum += (v[i] = expf(v[i] - max));
      sum = group_reduce<L::kLanes>(sum, Add{});
      const float factor = grad_scale / sum;
      store_row<L>(dlogits + offset, n, lane, [&](int i, int c) {
        const float d = v[i] * factor;
        return in_range ? (c == label ? d - grad_scale : d) : NAN;
      });
    } else {
#pragma unroll
      for (int i = 0; i < L::kPerLane; ++i) sum += expf(v[i] - max);
      sum = group_reduce<L::kLanes>(sum, Add{});
    }
    if (leader) loss += in_range ? (max - picked) + logf(sum) : NAN;
  });
  write_block_sum(loss, partial);
}

// ---------------------------------------------------------------- one block per row

// Calls f(c) for the columns c, c + 1, ..., c + N - 1 this thread handles in a row of `cols`:
// consecutive threads take consecutive vectors. A thread visits the same columns in every pass,
// so the shared-memory copy of a row needs no barrier between passes or rows.
template <int N, class F>
__device__ __forceinline__ void for_each_column(int64_t cols, F f) {
#pragma unroll 4
  for (int64_t c = int64_t(threadIdx.x) * N; c < cols; c += int64_t(blockDim.x) * N) f(c);
}

// The row cache: dynamic shared memory, sized by the launch (0 bytes when not caching).
__device__ __forceinline__ float* row_cache() {
  extern __shared__ float4 cache_storage[];
  return reinterpret_cast<float*>(cache_storage);
}

template <int N>
__global__ void __launch_bounds__(kRowKernelThreads)
    softmax_row_kernel(const float* x, float* y, int64_t rows, int64_t cols, bool log,
                       bool cached) {
  float* cache = row_cache();
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * cols;
    float* yr = y + row * cols;
    MaxSum acc{-INFINITY, 0.0f};
    for_each_column<N>(cols, [&](int64_t c) {
      const Pack<N> p = load<N>(xr + c);
      if (cached) store<N>(cache + c, p);
      acc = accumulate(acc, p);
    });
    acc = block_reduce(acc, Merge{}, MaxSum{-INFINITY, 0.0f});
    const float inverse = 1.0f / acc.sum, log_sum = logf(acc.sum);
    for_each_column<N>(cols, [&](int64_t c) {
      Pack<N> p = load<N>(cached ? cache + c : xr + c);
#pragma unroll
      for (int k = 0; k < N; ++k) {
        p.v[k] = log ? (p.v[k] - acc.max) - log_sum : expf(p.v[k] - acc.max) * inverse;
      }
      store<N>(yr + c, p);
    });
  }
}

// Caches dy, and y too for softmax (log_softmax's first pass needs only dy).
template <int N>
__global__ void __launch_bounds__(kRowKernelThreads)
    softmax_backward_row_kernel(const float* dy, const float* y, float* dx, int64_t rows,
                                int64_t cols, bool log, bool cached) {
  float* cached_dy = row_cache();
  float* cached_y = cached_dy + cols;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t offset = row * cols;
    float acc = 0.0f;
    for_each_column<N>(cols, [&](int64_t c) {
      const Pack<N> g = load<N>(dy + offset + c);
      if (cached) store<N>(cached_dy + c, g);
      if (log) {
#pragma unroll
        for (int k = 0; k < N; ++k) acc += g.v[k];
        return;
      }
      const Pack<N> s = load<N>(y + offset + c);
      if (cached) store<N>(cached_y + c, s);
#pragma unroll
      for (int k = 0; k < N; ++k) acc = fmaf(g.v[k], s.v[k], acc);
    });
    const float total = block_reduce(acc, Add{}, 0.0f);
    for_each_column<N>(cols, [&](int64_t c) {
      Pack<N> g = load<N>(cached ? cached_dy + c : dy + offset + c);
      const Pack<N> s = load<N>(cached && !log ? cached_y + c : y + offset + c);
#pragma unroll
      for (int k = 0; k < N; ++k) {
        g.v[k] = log ? fmaf(-expf(s.v[k]), total, g.v[k]) : (g.v[k] - total) * s.v[k];
      }
      store<N>(dx + offset + c, g);
    });
  }
}

// Without a gradient the row is read once; with one, it is cached for the second pass.
template <int N, class Label>
__global__ void __launch_bounds__(kRowKernelThreads)
    cross_entropy_row_kernel(const float* logits, const Label* labels, float* dlogits,
                             int64_t rows, int64_t cols, float grad_scale, float* partial,
                             bool cached) {
  float* cache = row_cache();
  float loss = 0.0f;  // thread 0: the losses of this block's rows
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = logits + row * cols;
    const int64_t label = static_cast<int64_t>(labels[row]);
    const bool in_range = label_in_range(label, cols);
    // Loaded first, so that its latency hides behind the pass over the row.
    const float picked = threadIdx.x == 0 && in_range ? xr[label] : 0.0f;
    MaxSum acc{-INFINITY, 0.0f};
    for_each_column<N>(cols, [&](int64_t c) {
      const Pack<N> p = load<N>(xr + c);
      if (cached) store<N>(cache + c, p);
      acc = accumulate(acc, p);
    });
    acc = block_reduce(acc, Merge{}, MaxSum{-INFINITY, 0.0f});
    if (threadIdx.x == 0) loss += in_range ? (acc.max - picked) + logf(acc.sum) : NAN;
    if (!dlogits) continue;
    const float factor = grad_scale / acc.sum;
    float* dr = dlogits + row * cols;
    for_each_column<N>(cols, [&](int64_t c) {
      Pack<N> p = load<N>(cached ? cache + c : xr + c);
#pragma unroll
      for (int k = 0; k < N; ++k) {
        const float d = expf(p.v[k] - acc.max) * factor;
        p.v[k] = in_range ? (c + k == label ? d - grad_scale : d) : NAN;
      }
      store<N>(dr + c, p);
    });
  }
  write_block_sum(loss, partial);
}

// *loss = sum(partial[0, n)) / rows, summed in double in a fixed order; NaN for no rows.
__global__ void __launch_bounds__(kMeanThreads)
    mean_loss_kernel(const float* partial, unsigned n, int64_t rows, float* loss) {
  double sum = 0.0;
  for (unsigned i = threadIdx.x; i < n; i += blockDim.x) sum += partial[i];
  sum = block_reduce(sum, Add{}, 0.0);
  if (threadIdx.x == 0) {
    *loss = rows > 0 ? static_cast<float>(sum / static_cast<double>(rows)) : NAN;
  }
}

// ---------------------------------------------------------------- launch helpers

// True when every row of every array starts on a 16-byte boundary (null pointers: absent).
bool rows_aligned16(int64_t cols, std::initializer_list<const void*> arrays) {
  if (cols % 4 != 0) return false;
  for (const void* a : arrays) {
    if (a && !aligned16(a)) return false;
  }
  return true;
}

// Calls f(L{}) and returns true when rows of `cols` columns fit layout L.
template <class L, class F>
bool try_layout(int64_t cols, F& f) {
  if (cols > L::kMaxCols) return false;
  f(L{});
  return true;
}

// Calls f(WarpLayout<...>{}) with the layout for rows of `cols` <= kWarpMaxCols columns: up to
// 32 columns, the fewest lanes that hold a row with one element each; beyond, a whole warp with
// the fewest registers, in float4s when `vec` and the row gives every lane one.
template <class F>
void with_warp_layout(int64_t cols, bool vec, F&& f) {
  static_assert(WarpLayout<32, 32, 1>::kMaxCols == kWarpMaxCols, "the widest layout");
  const bool found =
      try_layout<WarpLayout<1, 1, 1>>(cols, f) || try_layout<WarpLayout<2, 1, 1>>(cols, f) ||
      try_layout<WarpLayout<4, 1, 1>>(cols, f) || try_layout<WarpLayout<8, 1, 1>>(cols, f) ||
      try_layout<WarpLayout<16, 1, 1>>(cols, f) || try_layout<WarpLayout<32, 1, 1>>(cols, f) ||
      try_layout<WarpLayout<32, 2, 1>>(cols, f) ||
      (vec ? try_layout<WarpLayout<32, 1, 4>>(cols, f) ||
                 try_layout<WarpLayout<32, 2, 4>>(cols, f) ||
                 try_layout<WarpLayout<32, 4, 4>>(cols, f) ||
                 try_layout<WarpLayout<32, 8, 4>>(cols, f)
           : try_layout<WarpLayout<32, 4, 1>>(cols, f) ||
                 try_layout<WarpLayout<32, 8, 1>>(cols, f) ||
                 try_layout<WarpLayout<32, 16, 1>>(cols, f) ||
                 try_layout<WarpLayout<32, 32, 1>>(cols, f));
  (void)found;  // always true: the widest layout takes any cols <= kWarpMaxCols
}

template <class F>
void with_vec(bool vec, F&& f) {
  if (vec) {
    f(std::integral_constant<int, 4>{});
  } else {
    f(std::integral_constant<int, 1>{});
  }
}

template <class L>
unsigned warp_grid(int64_t rows) {
  return grid_for(ceil_div(rows, L::kRowsPerWarp) * 32, kWarpKernelThreads);
}

unsigned row_grid(int64_t rows) { return grid_for(rows, 1); }

// The dynamic shared memory with which `kernel` caches `bytes` of each row, or 0 when that does
// not fit in a block on this device (the kernel then reads the row twice). Beyond the default
// limit the kernel opts in to all the device allows: always the same value, so concurrent
// callers never lower each other's limit.
template <class Kernel>
size_t row_cache_bytes(Kernel* kernel, int64_t bytes) {
  int device = 0, limit = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  cudaFuncAttributes attributes;
  CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
  const int64_t fixed = static_cast<int64_t>(attributes.sharedSizeBytes);
  if (bytes + fixed > limit) return 0;
  if (bytes + fixed > kDefaultSharedBytes) {
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(limit - fixed)));
  }
  return static_cast<size_t>(bytes);
}

template <class Label>
void cross_entropy(const float* logits, const Label* labels, float* dlogits, int64_t rows,
                   int64_t cols, float* loss, float* workspace, cudaStream_t stream) {
  unsigned blocks = 0;  // partial sums in the workspace; blocks <= rows
  if (rows > 0) {
    const float grad_scale = 1.0f / static_cast<float>(rows);
    const bool vec = rows_aligned16(cols, {logits, dlogits});
    if (cols <= kWarpMaxCols) {
      with_warp_layout(cols, vec, [&](auto layout) {
        using L = decltype(layout);
        blocks = warp_grid<L>(rows);
        cross_entropy_warp_kernel<L, Label><<<blocks, kWarpKernelThreads, 0, stream>>>(
            logits, labels, dlogits, rows, static_cast<int>(cols), grad_scale, workspace);
      });
    } else {
      with_vec(vec, [&](auto width) {
        auto* kernel = cross_entropy_row_kernel<decltype(width)::value, Label>;
        const size_t cache = dlogits ? row_cache_bytes(kernel, cols * int64_t(sizeof(float))) : 0;
        blocks = row_grid(rows);
        kernel<<<blocks, kRowKernelThreads, cache, stream>>>(logits, labels, dlogits, rows, cols,
                                                              grad_scale, workspace, cache > 0);
      });
    }
    CUDA_CHECK_LAUNCH();
  }
  mean_loss_kernel<<<1, kMeanThreads, 0, stream>>>(workspace, blocks, rows, loss);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols, bool log,
                     cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  const bool vec = rows_aligned16(cols, {x, y});
  if (cols <= kWarpMaxCols) {
    with_warp_layout(cols, vec, [&](auto layout) {
      using L = decltype(layout);
      softmax_warp_kernel<L><<<warp_grid<L>(rows), kWarpKernelThreads, 0, stream>>>(
          x, y, rows, static_cast<int>(cols), log);
    });
  } else {
    with_vec(vec, [&](auto width) {
      auto* kernel = softmax_row_kernel<decltype(width)::value>;
      const size_t cache = row_cache_bytes(kernel, cols * int64_t(sizeof(float)));
      kernel<<<row_grid(rows), kRowKernelThreads, cache, stream>>>(x, y, rows, cols, log,
                                                                   cache > 0);
    });
  }
  CUDA_CHECK_LAUNCH();
}

void softmax_backward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols,
                      bool log, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  const bool vec = rows_aligned16(cols, {dy, y, dx});
  if (cols <= kWarpMaxCols) {
    with_warp_layout(cols, vec, [&](auto layout) {
      using L = decltype(layout);
      softmax_backward_warp_kernel<L><<<warp_grid<L>(rows), kWarpKernelThreads, 0, stream>>>(
          dy, y, dx, rows, static_cast<int>(cols), log);
    });
  } else {
    with_vec(vec, [&](auto width) {
      auto* kernel = softmax_backward_row_kernel<decltype(width)::value>;
      const int64_t cached_arrays = log ? 1 : 2;  // dy, and y for softmax
      const size_t cache = row_cache_bytes(kernel, cached_arrays * cols * int64_t(sizeof(float)));
      kernel<<<row_grid(rows), kRowKernelThreads, cache, stream>>>(dy, y, dx, rows, cols, log,
                                                                   cache > 0);
    });
  }
  CUDA_CHECK_LAUNCH();
}

void softmax_cross_entropy(const float* logits, const int64_t* labels, float* dlogits,
                           int64_t rows, int64_t cols, float* loss, float* workspace,
                           cudaStream_t stream) {
  cross_entropy(logits, labels, dlogits, rows, cols, loss, workspace, stream);
}

void softmax_cross_entropy(const float* logits, const int32_t* labels, float* dlogits,
                           int64_t rows, int64_t cols, float* loss, float* workspace,
                           cudaStream_t stream) {
  cross_entropy(logits, labels, dlogits, rows, cols, loss, workspace, stream);
}

}  // namespace fastdl::cuda
