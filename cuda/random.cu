// Random fills on the GPU: one thread per evaluation of Philox (four words, so four float
// values or two integers), in a grid-stride loop, storing its values with one vector access
// where the array's alignment allows (decided on the host). The transforms are random.h's, with
// the GPU's own logf, sincospif and fused multiply-adds.
#include <cmath>

#include "common.cuh"
#include "fastdl/random.h"
#include "philox.cuh"
#include "random.h"

namespace fastdl::cuda {
namespace {

constexpr int kThreads = 256;

// The values one thread computes, aligned so that they move with one vector access.
template <class T, int N>
struct alignas(sizeof(T) * N) Values {
  T v[N];
};

// Uniform on [0, 1): the top 24 bits of a word, scaled exactly.
__device__ __forceinline__ float unit_float(uint32_t word) {
  return static_cast<float>(word >> 8) * 0x1p-24f;
}

// The Box-Muller pair of a radius word and an angle word: u in (0, 1], never 0, r =
// sqrt(-2 ln u), and the angle 2 pi word / 2^32 = pi (word / 2^31).
__device__ __forceinline__ float2 box_muller(uint32_t radius_word, uint32_t angle_word) {
  const float u = (static_cast<float>(radius_word >> 8) + 1.0f) * 0x1p-24f;
  const float r = sqrtf(-2.0f * logf(u));
  float s, c;
  sincospif(static_cast<float>(angle_word) * 0x1p-31f, &s, &c);
  return make_float2(r * c, r * s);
}

// The standard normals of elements 4 group ... 4 group + 3: the pairs of words (x, y), (z, w).
__device__ __forceinline__ void normals_of_group(int64_t group, uint64_t key, float (&z)[4]) {
  const uint4 w = words_of_group(group, philox_key(key));
  const float2 a = box_muller(w.x, w.y), b = box_muller(w.z, w.w);
  z[0] = a.x;
  z[1] = a.y;
  z[2] = b.x;
  z[3] = b.y;
}

struct UniformDraw {
  uint2 key;
  float low, span, below_high;

  __device__ void operator()(int64_t group, float (&v)[4]) const {
    const uint4 w = words_of_group(group, key);
    const uint32_t words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) v[j] = fminf(fmaf(unit_float(words[j]), span, low), below_high);
  }
};

struct NormalDraw {
  uint64_t key;
  float mean, stddev;
  bool truncated;

  __device__ void operator()(int64_t group, float (&v)[4]) const {
    float z[4];
    normals_of_group(group, key, z);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      // A value outside [-2, 2] is drawn again from its pair under the next redraw key (with
      // probability 4.6%, so rarely more than once).
      for (uint32_t round = 1; truncated && fabsf(z[j]) > 2.0f; ++round) {
        float again[4];
        normals_of_group(group, redraw_key(key, round), again);
        z[j] = again[j];
      }
      v[j] = fmaf(z[j], stddev, mean);
    }
  }
};

// Elements 2 group and 2 group + 1, from the 64-bit numbers of words (x, y) and (z, w).
template <class I>
struct IntegersDraw {
  uint2 key;
  int64_t low;
  uint64_t span;

  __device__ I in_range(uint32_t high_word, uint32_t low_word) const {
    const uint64_t bits = (uint64_t{high_word} << 32) | low_word;
    // In uint64, where wrapping is defined; the sum is in [low, high), which I holds.
    const uint64_t value = static_cast<uint64_t>(low) + __umul64hi(bits, span);
    return static_cast<I>(static_cast<int64_t>(value));
  }

  __device__ void operator()(int64_t group, I (&v)[2]) const {
    const uint4 w = words_of_group(group, key);
    v[0] = in_range(w.x, w.y);
    v[1] = in_range(w.z, w.w);
  }
};

template <int N, class T, class Draw>
__global__ void __launch_bounds__(kThreads)
    fill_kernel(T* out, int64_t n, bool vector_stores, Draw draw) {
  for (int64_t group = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; group * N < n;
       group += int64_t(gridDim.x) * blockDim.x) {
    Values<T, N> values;
    draw(group, values.v);
    const int64_t first = group * N;
    if (vector_stores && first + N <= n) {
      *reinterpret_cast<Values<T, N>*>(out + first) = values;
    } else {
#pragma unroll
      for (int j = 0; j < N; ++j) {
        if (first + j < n) out[first + j] = values.v[j];
      }
    }
  }
}

template <int N, class T, class Draw>
void fill(T* out, int64_t n, const Draw& draw, cudaStream_t stream) {
  if (n == 0) return;
  const bool vector_stores = reinterpret_cast<std::uintptr_t>(out) % sizeof(Values<T, N>) == 0;
  fill_kernel<N><<<grid_for(ceil_div(n, N), kThreads), kThreads, 0, stream>>>(out, n,
                                                                             vector_stores, draw);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void random_uniform(float* out, int64_t n, uint64_t key, float low, float high,
                    cudaStream_t stream) {
  // Clamped below high, which rounding could reach; high itself when low == high.
  fill<4>(out, n, UniformDraw{philox_key(key), low, high - low, std::nextafter(high, low)},
          stream);
}

void random_normal(float* out, int64_t n, uint64_t key, float mean, float stddev,
                   cudaStream_t stream) {
  fill<4>(out, n, NormalDraw{key, mean, stddev, false}, stream);
}

void random_truncated_normal(float* out, int64_t n, uint64_t key, float mean, float stddev,
                             cudaStream_t stream) {
  fill<4>(out, n, NormalDraw{key, mean, stddev, true}, stream);
}

template <class I>
void random_integers(I* out, int64_t n, uint64_t key, int64_t low, int64_t high,
                     cudaStream_t stream) {
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  fill<2>(out, n, IntegersDraw<I>{philox_key(key), low, span}, stream);
}

template void random_integers<int32_t>(int32_t*, int64_t, uint64_t, int64_t, int64_t,
                                       cudaStream_t);
template void random_integers<int64_t>(int64_t*, int64_t, uint64_t, int64_t, int64_t,
                                       cudaStream_t);

}  // namespace fastdl::cuda
