// Pooling: memory-bound, one thread per output element forward (its window's maximum or mean)
// and per input element backward (a gather: it sums what the windows covering it give it, in
// output order, and is written once, so no atomics and no zeroing pass). Threads run along the
// channels, which NHWC keeps contiguous, so that a warp's loads of one window position are
// coalesced; with a multiple of 4 channels and 16-byte aligned arrays each thread moves float4s.
//
// The comparisons, the order of the sums and the divisions are those of the CPU kernels
// (csrc/cpu/pool/kernels.cpp): maxima, argmaxes and their gradients are the CPU's exactly.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <type_traits>

#include "common.cuh"
#include "pool.h"

namespace fastdl::cuda {
namespace pool {
namespace {

constexpr int kThreads = 256;

// Pool2dShape's per-image values in 32 bits (the bindings keep every axis below 2^30, so sums
// of two stay in range); flat offsets use the kernel's index type.
struct PoolDims {
  int H, W, C, OH, OW, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left;
};

PoolDims dims_of(const Pool2dShape& s) {
  const auto i = [](int64_t v) { return static_cast<int>(v); };
  return {i(s.height),   i(s.width),    i(s.channels), i(s.out_height),
          i(s.out_width), i(s.pool_h),  i(s.pool_w),   i(s.stride_h),
          i(s.stride_w),  i(s.pad_top), i(s.pad_left)};
}

// A half-open range [begin, end) of indices along one axis.
struct Span {
  int begin, end;
};

// The input indices of output o's window along one axis, clipped to the input [0, size).
__device__ inline Span window_span(int o, int stride, int pad, int pool, int size) {
  const int start = o * stride - pad;
  return {max(start, 0), min(start + pool, size)};
}

// floor(a / b) for b > 0.
__device__ inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((b - 1 - a) / b); }

// The outputs along one axis whose windows cover input index i, clipped to [0, out).
__device__ inline Span covering_span(int i, int stride, int pad, int pool, int out) {
  return {max(floor_div(i + pad - pool, stride) + 1, 0), min(floor_div(i + pad, stride) + 1, out)};
}

// V consecutive channels of one pixel.
template <class T, int V>
struct Pack {
  T v[V];
};

template <int V, class T>
__device__ inline Pack<T, V> load(const T* p) {
  Pack<T, V> r;
  if constexpr (V == 4) {
    using Vec4 = std::conditional_t<std::is_same_v<T, float>, float4, int4>;
    const Vec4 q = *reinterpret_cast<const Vec4*>(p);
    r.v[0] = q.x;
    r.v[1] = q.y;
    r.v[2] = q.z;
    r.v[3] = q.w;
  } else {
    r.v[0] = *p;
  }
  return r;
}

template <int V, class T>
__device__ inline void store(T* p, const Pack<T, V>& r) {
  if constexpr (V == 4) {
    using Vec4 = std::conditional_t<std::is_same_v<T, float>, float4, int4>;
    *reinterpret_cast<Vec4*>(p) = {r.v[0], r.v[1], r.v[2], r.v[3]};
  } else {
    *p = r.v[0];
  }
}

// The element a thread handles: pixel (n, row, col) of an image of rows x cols pixels, and its
// first channel c.
template <class I>
struct Element {
  I n;
  int row, col, c;
};

// Element i of a rows x cols x C image batch handled V channels at a time.
template <int V, class I>
__device__ inline Element<I> element(I i, int rows, int cols, int C) {
  const I groups = C / V;
  const I pixel = i / groups;
  const I line = pixel / cols;
  return {line / rows, int(line % rows), int(pixel % cols), int(i % groups) * V};
}

template <class I>
__device__ inline I grid_start() {
  return I(blockIdx.x) * blockDim.x + threadIdx.x;
}

template <class I>
__device__ inline I grid_stride() {
  return I(gridDim.x) * blockDim.x;
}

// ---------------------------------------------------------------- forward

// A candidate v replaces the running maximum m unless v <= m or m is already NaN: the first
// maximum in scan order wins ties and the first NaN wins over everything. The running maximum
// starts at -inf with the argmax at the window's first position, which the first candidate
// takes (it is >= -inf, or NaN).
template <class I, int V>
__global__ void __launch_bounds__(kThreads)
    max_forward(const float* __restrict__ x, float* __restrict__ y, int32_t* __restrict__ argmax,
                PoolDims d, I count) {
  for (I i = grid_start<I>(); i < count; i += grid_stride<I>()) {
    const Element<I> o = element<V>(i, d.OH, d.OW, d.C);
    const Span hs = window_span(o.row, d.stride_h, d.pad_top, d.pool_h, d.H);
    const Span ws = window_span(o.col, d.stride_w, d.pad_left, d.pool_w, d.W);
    const float* image = x + o.n * d.H * d.W * d.C + o.c;
    Pack<float, V> m;
    Pack<int32_t, V> a;
#pragma unroll
    for (int e = 0; e < V; ++e) {
      m.v[e] = -std::numeric_limits<float>::infinity();
      a.v[e] = hs.begin * d.W + ws.begin;
    }
    for (int h = hs.begin; h < hs.end; ++h) {
      for (int w = ws.begin; w < ws.end; ++w) {
        const Pack<float, V> v = load<V>(image + (I(h) * d.W + w) * d.C);
#pragma unroll
        for (int e = 0; e < V; ++e) {
          if (!(v.v[e] <= m.v[e]) && m.v[e] == m.v[e]) {
            m.v[e] = v.v[e];
            a.v[e] = h * d.W + w;
          }
        }
      }
    }
    store<V>(y + i * V, m);
    if (argmax != nullptr) store<V>(argmax + i * V, a);
  }
}

template <class I, int V>
__global__ void __launch_bounds__(kThreads)
    avg_forward(const float* __restrict__ x, float* __restrict__ y, PoolDims d, I count) {
  for (I i = grid_start<I>(); i < count; i += grid_stride<I>()) {
    const Element<I> o = element<V>(i, d.OH, d.OW, d.C);
    const Span hs = window_span(o.row, d.stride_h, d.pad_top, d.pool_h, d.H);
    const Span ws = window_span(o.col, d.stride_w, d.pad_left, d.pool_w, d.W);
    const float* image = x + o.n * d.H * d.W * d.C + o.c;
    Pack<float, V> acc{};
    for (int h = hs.begin; h < hs.end; ++h) {
      for (int w = ws.begin; w < ws.end; ++w) {
        const Pack<float, V> v = load<V>(image + (I(h) * d.W + w) * d.C);
#pragma unroll
        for (int e = 0; e < V; ++e) acc.v[e] += v.v[e];
      }
    }
    const float count_in = float((hs.end - hs.begin) * (ws.end - ws.begin));
#pragma unroll
    for (int e = 0; e < V; ++e) acc.v[e] /= count_in;
    store<V>(y + i * V, acc);
  }
}

// ---------------------------------------------------------------- backward

template <class I, int V>
__global__ void __launch_bounds__(kThreads)
    max_backward(const float* __restrict__ dy, const int32_t* __restrict__ argmax,
                 float* __restrict__ dx, PoolDims d, I count) {
  for (I i = grid_start<I>(); i < count; i += grid_stride<I>()) {
    const Element<I> x = element<V>(i, d.H, d.W, d.C);
    const Span ohs = covering_span(x.row, d.stride_h, d.pad_top, d.pool_h, d.OH);
    const Span ows = covering_span(x.col, d.stride_w, d.pad_left, d.pool_w, d.OW);
    const int32_t pos = x.row * d.W + x.col;
    Pack<float, V> acc{};
    for (int oh = ohs.begin; oh < ohs.end; ++oh) {
      for (int ow = ows.begin; ow < ows.end; ++ow) {
        const I at = ((x.n * d.OH + oh) * d.OW + ow) * d.C + x.c;
        const Pack<float, V> g = load<V>(dy + at);
        const Pack<int32_t, V> a = load<V>(argmax + at);
#pragma unroll
        for (int e = 0; e < V; ++e) {
          if (a.v[e] == pos) acc.v[e] += g.v[e];
        }
      }
    }
    store<V>(dx + i * V, acc);
  }
}

template <class I, int V>
__global__ void __launch_bounds__(kThreads)
    avg_backward(const float* __restrict__ dy, float* __restrict__ dx, PoolDims d, I count) {
  for (I i = grid_start<I>(); i < count; i += grid_stride<I>()) {
    const Element<I> x = element<V>(i, d.H, d.W, d.C);
    const Span ohs = covering_span(x.row, d.stride_h, d.pad_top, d.pool_h, d.OH);
    const Span ows = covering_span(x.col, d.stride_w, d.pad_left, d.pool_w, d.OW);
    Pack<float, V> acc{};
    for (int oh = ohs.begin; oh < ohs.end; ++oh) {
      const Span hs = window_span(oh, d.stride_h, d.pad_top, d.pool_h, d.H);
      for (int ow = ows.begin; ow < ows.end; ++ow) {
        const Span ws = window_span(ow, d.stride_w, d.pad_left, d.pool_w, d.W);
        const float share = 1.0f / float((hs.end - hs.begin) * (ws.end - ws.begin));
        const Pack<float, V> g = load<V>(dy + ((x.n * d.OH + oh) * d.OW + ow) * d.C + x.c);
#pragma unroll
        for (int e = 0; e < V; ++e) acc.v[e] += g.v[e] * share;
      }
    }
    store<V>(dx + i * V, acc);
  }
}

// Calls f(std::integral_constant<int, V>{}, count) for `elements` elements handled V channels
// per thread: V = 4 when the channels and every array allow float4s, else 1; count (the
// threads' work items) an int32_t when every flat index, and a grid-stride step past the last,
// fits one, else an int64_t.
template <class F>
void for_elements(const Pool2dShape& s, int64_t elements, std::initializer_list<const void*> arrays,
                  F&& f) {
  bool vec = s.channels % 4 == 0;
  for (const void* p : arrays) vec = vec && aligned16(p);
  const bool narrow = std::max(s.input_size(), s.output_size()) < (int64_t(1) << 30);
  const auto with_index = [&](auto v) {
    constexpr int V = decltype(v)::value;
    if (narrow) return f(v, static_cast<int32_t>(elements / V));
    return f(v, elements / V);
  };
  if (vec) return with_index(std::integral_constant<int, 4>{});
  return with_index(std::integral_constant<int, 1>{});
}

}  // namespace
}  // namespace pool

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const Pool2dShape& s,
                        cudaStream_t stream) {
  if (s.output_size() == 0) return;
  pool::for_elements(s, s.output_size(), {x, y, argmax}, [&](auto v, auto count) {
    pool::max_forward<decltype(count), decltype(v)::value>
        <<<grid_for(count, pool::kThreads), pool::kThreads, 0, stream>>>(x, y, argmax,
                                                                         pool::dims_of(s), count);
  });
  CUDA_CHECK_LAUNCH();
}

void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, const Pool2dShape& s,
                         cudaStream_t stream) {
  if (s.input_size() == 0) return;
  pool::for_elements(s, s.input_size(), {dy, argmax, dx}, [&](auto v, auto count) {
    pool::max_backward<decltype(count), decltype(v)::value>
        <<<grid_for(count, pool::kThreads), pool::kThreads, 0, stream>>>(dy, argmax, dx,
                                                                         pool::dims_of(s), count);
  });
  CUDA_CHECK_LAUNCH();
}

void avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s, cudaStream_t stream) {
  if (s.output_size() == 0) return;
  pool::for_elements(s, s.output_size(), {x, y}, [&](auto v, auto count) {
    pool::avg_forward<decltype(count), decltype(v)::value>
        <<<grid_for(count, pool::kThreads), pool::kThreads, 0, stream>>>(x, y, pool::dims_of(s),
                                                                         count);
  });
  CUDA_CHECK_LAUNCH();
}

void avg_pool2d_backward(const float* dy, float* dx, const Pool2dShape& s, cudaStream_t stream) {
  if (s.input_size() == 0) return;
  pool::for_elements(s, s.input_size(), {dy, dx}, [&](auto v, auto count) {
    pool::avg_backward<decltype(count), decltype(v)::value>
        <<<grid_for(count, pool::kThreads), pool::kThreads, 0, stream>>>(dy, dx, pool::dims_of(s),
                                                                         count);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace fastdl::cuda
