// Parameter updates on the GPU: memory-bound passes, so the work is to touch each element once
// with wide accesses, and to update a whole model with few launches.
//
// A fused step sees its tensors in batches of up to kMaxTensors. A batch travels by value as a
// kernel parameter (pointers, sizes, and where each tensor's chunks start), so no descriptor
// array has to be copied to the device; each block updates one chunk of kChunk elements of one
// tensor, found by a binary search over the batch's chunk offsets. Tensors whose arrays are all
// 16-byte aligned move in float4s (checked per tensor on the host; chunks start at multiples of
// kChunk, so they stay aligned).
//
// Clipping by norm needs every norm before any update: one launch writes each chunk's sum of
// squares (and count of infinite elements) to scratch memory, a small one turns those into the
// clipping of each tensor (clipnorm) or of all (global_clipnorm), and the update reads it there.
// Every sum is taken in a fixed order, so a step gives the same bits on every run.
#include <cfloat>
#include <cmath>
#include <type_traits>

#include "common.cuh"
#include "optim.h"

namespace fastdl::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int64_t kChunk = 8192;  // elements per block: eight float4s per thread
constexpr int kMaxTensors = 64;   // per launch: a Batch then fits the 4 KB of kernel parameters

// What the update does to each gradient element before using it (see GradClip).
enum class ClipMode : int {
  none,
  clamp,     // min(a, max(-a, g)); NaN stays NaN
  scale,     // g * a
  inf_sign,  // +a where g = +inf, -a where g = -inf, 0 elsewhere
};

struct GradPrep {
  ClipMode mode;
  float a;
};

// The tensors of one launch. Block b works on chunk b - chunk_begin[t] of tensor t, where
// chunk_begin[t] <= b < chunk_begin[t + 1] (empty tensors own no chunk).
struct Batch {
  float* param[kMaxTensors];
  const float* grad[kMaxTensors];
  float* state[3][kMaxTensors];  // null where the optimizer does not use the slot
  int64_t size[kMaxTensors];
  int chunk_begin[kMaxTensors + 1];
  bool vec[kMaxTensors];  // all of tensor t's arrays are 16-byte aligned
  int count;
  int first_tensor;     // the index of tensor 0 among all the step's tensors
  int64_t first_chunk;  // the same for chunk 0 (indexes the norm partials)
};
static_assert(sizeof(Batch) <= 3584, "a Batch and the other arguments must fit 4 KB");

int blocks_of(const Batch& b) { return b.chunk_begin[b.count]; }

// ---------------------------------------------------------------- device helpers

// The elements [begin, end) of tensor `tensor` that this block handles.
struct Chunk {
  int tensor;
  int64_t begin, end;
};

__device__ __forceinline__ Chunk chunk_of_block(const Batch& b) {
  const int block = static_cast<int>(blockIdx.x);
  // The last tensor whose first chunk is at or before this block (an empty tensor shares its
  // first chunk with the next one and loses the tie).
  int lo = 0, hi = b.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (b.chunk_begin[mid] <= block) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const int64_t begin = int64_t(block - b.chunk_begin[lo]) * kChunk;
  return {lo, begin, min(begin + kChunk, b.size[lo])};
}

// Calls f(i, width) for the block's share of the chunk: f handles elements [i, i + width),
// width = 4 (a std::integral_constant) while `vec` and whole float4s remain, then 1.
template <class F>
__device__ __forceinline__ void for_each_pack(const Chunk& c, bool vec, F f) {
  int64_t scalar_begin = c.begin;
  if (vec) {
    scalar_begin = c.begin + (c.end - c.begin) / 4 * 4;
    for (int64_t i = c.begin + 4 * threadIdx.x; i < scalar_begin; i += 4 * blockDim.x) {
      f(i, std::integral_constant<int, 4>{});
    }
  }
  for (int64_t i = scalar_begin + threadIdx.x; i < c.end; i += blockDim.x) {
    f(i, std::integral_constant<int, 1>{});
  }
}

__device__ __forceinline__ float prepare(float g, GradPrep prep) {
  switch (prep.mode) {
    case ClipMode::clamp:
      return g < -prep.a ? -prep.a : (g > prep.a ? prep.a : g);  // comparisons with NaN fail
    case ClipMode::scale:
      return g * prep.a;
    case ClipMode::inf_sign:
      return fabsf(g) > FLT_MAX ? copysignf(prep.a, g) : 0.0f;
    case ClipMode::none:
      break;
  }
  return g;
}

// ---------------------------------------------------------------- the updates
//
// The formulas of fastdl/optim.h with the CPU kernels' roundings: fmaf where they fuse a
// multiply and an add, __fmul_rn where they do not and nvcc would otherwise contract the two.
// Each takes the parameter, the clipped gradient and the three state slots (unused ones are
// zeros that are never stored).

// p - decay * p, skipped when the decay is off so that an infinite parameter never meets inf * 0.
__device__ __forceinline__ float decayed(float p, float decay) {
  return decay != 0.0f ? fmaf(-p, decay, p) : p;
}

struct SgdUpdate {
  float lr, momentum, decay;
  bool use_momentum, nesterov;

  __device__ void operator()(float& p, float g, float& m, float&, float&) const {
    p = decayed(p, decay);
    if (!use_momentum) {
      p = fmaf(-lr, g, p);
      return;
    }
    m = fmaf(-lr, g, momentum * m);
    p = nesterov ? fmaf(-lr, g, fmaf(momentum, m, p)) : p + m;
  }
};

struct AdamUpdate {
  float alpha;  // lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
  float one_minus_beta_1, one_minus_beta_2, epsilon, decay;
  bool amsgrad;

  __device__ void operator()(float& p, float g, float& m, float& v, float& v_hat) const {
    m = fmaf(g - m, one_minus_beta_1, m);
    v = fmaf(__fmul_rn(g, g) - v, one_minus_beta_2, v);
    float denominator_v = v;
    if (amsgrad) {
      v_hat = v_hat > v ? v_hat : v;  // v when either is NaN, as the CPU's max
      denominator_v = v_hat;
    }
    p = decayed(p, decay) - (m * alpha) / (sqrtf(denominator_v) + epsilon);
  }
};

struct RmspropUpdate {
  float lr, rho, one_minus_rho, momentum, epsilon, decay;
  bool use_momentum, centered;

  __device__ void operator()(float& p, float g, float& v, float& mom, float& avg) const {
    v = fmaf(one_minus_rho, g * g, rho * v);
    float denominator;
    if (centered) {
      avg = fmaf(one_minus_rho, g, rho * avg);
      denominator = fmaf(-avg, avg, v) + epsilon;
    } else {
      denominator = v + epsilon;
    }
    float step = (lr * g) / sqrtf(denominator);
    if (use_momentum) {
      step = fmaf(momentum, mom, step);
      mom = step;
    }
    p = decayed(p, decay) - step;
  }
};

// Where each tensor's clipping comes from: one known on the host for all (none or clamp), or
// the one computed on the device, per tensor or for all.
struct PrepSource {
  GradPrep fixed;
  const GradPrep* computed;  // null: `fixed`
  bool per_tensor;

  __device__ GradPrep get(int tensor) const {
    return computed ? computed[per_tensor ? tensor : 0] : fixed;
  }
};

template <class Update>
__global__ void __launch_bounds__(kThreads)
    update_kernel(const __grid_constant__ Batch batch, const Update update,
                  const PrepSource source) {
  const Chunk c = chunk_of_block(batch);
  const int t = c.tensor;
  const GradPrep prep = source.get(batch.first_tensor + t);
  float* p = batch.param[t];
  const float* g = batch.grad[t];
  float* s0 = batch.state[0][t];
  float* s1 = batch.state[1][t];
  float* s2 = batch.state[2][t];
  for_each_pack(c, batch.vec[t], [&](int64_t i, auto width) {
    constexpr int N = decltype(width)::value;
    const Pack<N> gv = load<N>(g + i);
    Pack<N> pv = load<N>(p + i), a{}, b{}, d{};
    if (s0) a = load<N>(s0 + i);
    if (s1) b = load<N>(s1 + i);
    if (s2) d = load<N>(s2 + i);
#pragma unroll
    for (int k = 0; k < N; ++k) update(pv.v[k], prepare(gv.v[k], prep), a.v[k], b.v[k], d.v[k]);
    store<N>(p + i, pv);
    if (s0) store<N>(s0 + i, a);
    if (s1) store<N>(s1 + i, b);
    if (s2) store<N>(s2 + i, d);
  });
}

// ---------------------------------------------------------------- norms for clipping

// A sum of squares in float64 (float32 squares cannot overflow it) and the number of infinite
// elements, which decide the clipping of an infinite norm.
struct NormPartial {
  double sum_squares;
  long long infinite;
};

__device__ __forceinline__ NormPartial operator+(NormPartial a, NormPartial b) {
  return {a.sum_squares + b.sum_squares, a.infinite + b.infinite};
}

__device__ __forceinline__ NormPartial warp_total(NormPartial v) {
  for (int mask = 16; mask > 0; mask >>= 1) {
    v = v + NormPartial{__shfl_xor_sync(0xffffffffu, v.sum_squares, mask),
                        __shfl_xor_sync(0xffffffffu, v.infinite, mask)};
  }
  return v;
}

// The block's total, in thread 0 (blocks of kThreads).
__device__ __forceinline__ NormPartial block_total(NormPartial v) {
  __shared__ NormPartial warp_totals[kWarps];
  v = warp_total(v);
  if (threadIdx.x % 32 == 0) warp_totals[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kWarps; ++w) v = v + warp_totals[w];
  }
  return v;
}

// The clipping of gradients with joint sum of squares `total` to the norm `limit`.
__device__ GradPrep clip_by_norm(NormPartial total, double limit) {
  if (isnan(total.sum_squares)) return {ClipMode::scale, NAN};  // NaN throughout
  if (total.infinite > 0) {
    return {ClipMode::inf_sign, static_cast<float>(limit / sqrt(double(total.infinite)))};
  }
  const double norm = sqrt(total.sum_squares);
  if (!(norm > limit)) return {ClipMode::none, 0.0f};
  return {ClipMode::scale, static_cast<float>(limit / norm)};
}

// partials[first_chunk + b] = the sum over the gradient elements of block b's chunk.
__global__ void __launch_bounds__(kThreads)
    sum_squares_kernel(const __grid_constant__ Batch batch, NormPartial* partials) {
  const Chunk c = chunk_of_block(batch);
  const float* g = batch.grad[c.tensor];
  NormPartial acc{0.0, 0};
  for_each_pack(c, batch.vec[c.tensor], [&](int64_t i, auto width) {
    constexpr int N = decltype(width)::value;
    const Pack<N> v = load<N>(g + i);
#pragma unroll
    for (int k = 0; k < N; ++k) {
      const double x = v.v[k];
      acc.sum_squares = fma(x, x, acc.sum_squares);
      acc.infinite += isinf(v.v[k]) ? 1 : 0;
    }
  });
  acc = block_total(acc);
  if (threadIdx.x == 0) partials[batch.first_chunk + blockIdx.x] = acc;
}

// clipnorm: one warp per tensor of the batch adds up its chunks' partials.
__global__ void __launch_bounds__(kThreads)
    tensor_clip_kernel(const __grid_constant__ Batch batch, const NormPartial* partials,
                       double limit, GradPrep* preps) {
  const int t = static_cast<int>((blockIdx.x * blockDim.x + threadIdx.x) / 32);
  const int lane = threadIdx.x % 32;
  if (t >= batch.count) return;  // whole warps
  NormPartial acc{0.0, 0};
  const int64_t end = batch.first_chunk + batch.chunk_begin[t + 1];
  for (int64_t i = batch.first_chunk + batch.chunk_begin[t] + lane; i < end; i += 32) {
    acc = acc + partials[i];
  }
  acc = warp_total(acc);
  if (lane == 0) preps[batch.first_tensor + t] = clip_by_norm(acc, limit);
}

// global_clipnorm: one block adds up all the partials.
__global__ void __launch_bounds__(kThreads)
    global_clip_kernel(const NormPartial* partials, int64_t n, double limit, GradPrep* prep) {
  NormPartial acc{0.0, 0};
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc = acc + partials[i];
  acc = block_total(acc);
  if (threadIdx.x == 0) *prep = clip_by_norm(acc, limit);
}

// ---------------------------------------------------------------- axpy

__global__ void __launch_bounds__(kThreads)
    axpy_kernel(int64_t n, float alpha, const float* x, float* y, bool vec) {
  const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t tail = 0;
  if (vec) {
    const int64_t n4 = n / 4;
    for (int64_t i = first; i < n4; i += stride) {
      const float4 a = reinterpret_cast<const float4*>(x)[i];
      const float4 b = reinterpret_cast<const float4*>(y)[i];
      reinterpret_cast<float4*>(y)[i] = make_float4(fmaf(alpha, a.x, b.x), fmaf(alpha, a.y, b.y),
                                                    fmaf(alpha, a.z, b.z), fmaf(alpha, a.w, b.w));
    }
    tail = 4 * n4;
  }
  for (int64_t i = tail + first; i < n; i += stride) y[i] = fmaf(alpha, x[i], y[i]);
}

// ---------------------------------------------------------------- host side

bool aligned16_or_null(const void* p) { return p == nullptr || aligned16(p); }

std::vector<Batch> make_batches(const std::vector<OptimTensor>& tensors) {
  std::vector<Batch> batches;
  int64_t chunks = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (i % kMaxTensors == 0) {
      batches.emplace_back();  // zeroed
      batches.back().first_tensor = static_cast<int>(i);
      batches.back().first_chunk = chunks;
    }
    Batch& b = batches.back();
    const OptimTensor& t = tensors[i];
    const int k = b.count++;
    b.param[k] = static_cast<float*>(t.param);
    b.grad[k] = static_cast<const float*>(t.grad);
    b.vec[k] = aligned16(t.param) && aligned16(t.grad);
    for (int s = 0; s < 3; ++s) {
      b.state[s][k] = static_cast<float*>(t.state[s]);
      b.vec[k] = b.vec[k] && aligned16_or_null(t.state[s]);
    }
    b.size[k] = t.size;
    const int64_t n = ceil_div(t.size, kChunk);
    b.chunk_begin[k + 1] = b.chunk_begin[k] + static_cast<int>(n);
    chunks += n;
  }
  return batches;
}

// Device memory from CUDA's stream-ordered allocator for the work queued on `stream` until
// release(), which queues the free on the stream too: nothing waits.
class StreamScratch {
 public:
  StreamScratch(size_t bytes, cudaStream_t stream) : stream_(stream) {
    CUDA_CHECK(cudaMallocAsync(&ptr_, bytes, stream));
  }
  StreamScratch(const StreamScratch&) = delete;
  StreamScratch& operator=(const StreamScratch&) = delete;
  // Still holding the memory here means a launch failed: that error is the one to report.
  ~StreamScratch() {
    if (ptr_) (void)cudaFreeAsync(ptr_, stream_);
  }

  void* get() const { return ptr_; }
  void release() {
    void* p = ptr_;
    ptr_ = nullptr;
    CUDA_CHECK(cudaFreeAsync(p, stream_));
  }

 private:
  void* ptr_ = nullptr;
  cudaStream_t stream_;
};

template <class Update>
void launch_update(const Batch& b, const Update& update, const PrepSource& source,
                   cudaStream_t stream) {
  if (blocks_of(b) == 0) return;
  update_kernel<Update><<<blocks_of(b), kThreads, 0, stream>>>(b, update, source);
  CUDA_CHECK_LAUNCH();
}

template <class Update>
void fused_step(const std::vector<OptimTensor>& tensors, const GradClip& clip,
                const Update& update, cudaStream_t stream) {
  const std::vector<Batch> batches = make_batches(tensors);
  if (batches.empty()) return;
  if (!(clip.norm > 0) && !(clip.global_norm > 0)) {
    const GradPrep fixed = clip.value > 0
                               ? GradPrep{ClipMode::clamp, static_cast<float>(clip.value)}
                               : GradPrep{ClipMode::none, 0.0f};
    for (const Batch& b : batches) {
      launch_update(b, update, PrepSource{fixed, nullptr, false}, stream);
    }
    return;
  }

  const int64_t chunks = batches.back().first_chunk + blocks_of(batches.back());
  StreamScratch scratch(chunks * sizeof(NormPartial) + tensors.size() * sizeof(GradPrep), stream);
  auto* partials = static_cast<NormPartial*>(scratch.get());
  auto* preps = reinterpret_cast<GradPrep*>(partials + chunks);
  for (const Batch& b : batches) {
    if (blocks_of(b) == 0) continue;
    sum_squares_kernel<<<blocks_of(b), kThreads, 0, stream>>>(b, partials);
    CUDA_CHECK_LAUNCH();
  }
  if (clip.global_norm > 0) {
    global_clip_kernel<<<1, kThreads, 0, stream>>>(partials, chunks, clip.global_norm, preps);
    CUDA_CHECK_LAUNCH();
    for (const Batch& b : batches) launch_update(b, update, PrepSource{{}, preps, false}, stream);
  } else {
    for (const Batch& b : batches) {
      const unsigned blocks = static_cast<unsigned>(ceil_div(b.count, kWarps));
      tensor_clip_kernel<<<blocks, kThreads, 0, stream>>>(b, partials, clip.norm, preps);
      CUDA_CHECK_LAUNCH();
      launch_update(b, update, PrepSource{{}, preps, true}, stream);
    }
  }
  scratch.release();
}

}  // namespace

void axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (n == 0) return;
  const bool vec = aligned16(x) && aligned16(y);
  axpy_kernel<<<grid_for(vec ? n / 4 : n, kThreads), kThreads, 0, stream>>>(n, alpha, x, y, vec);
  CUDA_CHECK_LAUNCH();
}

void sgd_step(const std::vector<OptimTensor>& tensors, const SgdOptions& o, const GradClip& clip,
              cudaStream_t stream) {
  const SgdUpdate update{static_cast<float>(o.learning_rate), static_cast<float>(o.momentum),
                         static_cast<float>(o.learning_rate * o.weight_decay), o.momentum != 0,
                         o.nesterov};
  fused_step(tensors, clip, update, stream);
}

void adam_step(const std::vector<OptimTensor>& tensors, const AdamOptions& o, const GradClip& clip,
               cudaStream_t stream) {
  // The bias corrections, once per step on the host, in double as on the CPU.
  const double t = static_cast<double>(o.step);
  const double alpha =
      o.learning_rate * std::sqrt(1 - std::pow(o.beta_2, t)) / (1 - std::pow(o.beta_1, t));
  const AdamUpdate update{static_cast<float>(alpha),
                          static_cast<float>(1 - o.beta_1),
                          static_cast<float>(1 - o.beta_2),
                          static_cast<float>(o.epsilon),
                          static_cast<float>(o.learning_rate * o.weight_decay),
                          o.amsgrad};
  fused_step(tensors, clip, update, stream);
}

void rmsprop_step(const std::vector<OptimTensor>& tensors, const RmspropOptions& o,
                  const GradClip& clip, cudaStream_t stream) {
  const RmspropUpdate update{static_cast<float>(o.learning_rate),
                             static_cast<float>(o.rho),
                             static_cast<float>(1 - o.rho),
                             static_cast<float>(o.momentum),
                             static_cast<float>(o.epsilon),
                             static_cast<float>(o.learning_rate * o.weight_decay),
                             o.momentum > 0,
                             o.centered};
  fused_step(tensors, clip, update, stream);
}

}  // namespace fastdl::cuda
