// Host side of the matrix products: operand layouts, the choice between the vector and scalar
// kernels, the launch of each version over the batch, and the column sums of a dense layer's
// bias gradient.
#include <climits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "gemm.h"
#include "gemm_kernels.cuh"
#include "gemm_tf32.cuh"

namespace fastdl::cuda {
namespace {

using gemm_detail::GemmArgs;
using gemm_detail::Operand;

constexpr int64_t kMaxGridZ = 65535;

// How the kernels read one input: as stored or transposed, and its leading dimension.
struct Layout {
  bool trans;
  int64_t ld;
};

// A with col_stride 1 is row-major (not transposed); with row_stride 1 it is the transpose of a
// row-major matrix. `name` and `rows`, `cols` (the logical shape) go into the error message.
Layout layout_of(const StridedMatrix<float>& m, const char* name, int64_t rows, int64_t cols) {
  if (m.col_stride == 1) return {false, m.row_stride};
  if (m.row_stride == 1) return {true, m.col_stride};
  throw std::invalid_argument("gemm: " + std::string(name) + " (" + std::to_string(rows) + " x " +
                              std::to_string(cols) + ") has strides (" +
                              std::to_string(m.row_stride) + ", " + std::to_string(m.col_stride) +
                              "); the CUDA kernels need unit stride along one dimension");
}

// float4 accesses to an operand need its contiguous extent, its leading dimension and its batch
// stride to be multiples of 4 and its first element 16-byte aligned.
bool vectorizable(const Operand& op, int64_t contiguous_extent) {
  return contiguous_extent % 4 == 0 && op.ld % 4 == 0 && op.batch_stride % 4 == 0 &&
         aligned16(op.data);
}

// The compile-time parameters of one kernel instantiation.
template <bool TA, bool TB, bool Vec>
struct Instance {
  static constexpr bool trans_a = TA, trans_b = TB, vec = Vec;
};

// Calls f(Instance<trans_a, trans_b, vec>{}).
template <class F>
void with_instance(bool trans_a, bool trans_b, bool vec, F&& f) {
  auto with_vec = [&](auto ta, auto tb) {
    constexpr bool TA = decltype(ta)::value, TB = decltype(tb)::value;
    if (vec) f(Instance<TA, TB, true>{});
    else f(Instance<TA, TB, false>{});
  };
  auto with_b = [&](auto ta) {
    if (trans_b) with_vec(ta, std::true_type{});
    else with_vec(ta, std::false_type{});
  };
  if (trans_a) with_b(std::true_type{});
  else with_b(std::false_type{});
}

// Launches `kernel`, whose blocks have the BlockShape `Shape`, over the output tiles of every
// matrix of the batch, in slices of at most 65535 matrices (the limit of gridDim.z).
template <class Shape, class Kernel>
void launch(Kernel kernel, size_t smem, GemmArgs args, int64_t batch, cudaStream_t stream) {
  const int64_t tiles_m = ceil_div(args.M, Shape::BM), tiles_n = ceil_div(args.N, Shape::BN);
  if (tiles_m * tiles_n > INT_MAX) {
    throw std::invalid_argument("gemm: " + std::to_string(args.M) + " x " +
                                std::to_string(args.N) + " is too large an output for one grid");
  }
  args.tiles_n = static_cast<int>(tiles_n);
  for (int64_t first = 0; first < batch; first += kMaxGridZ) {
    GemmArgs slice = args;
    slice.a.data += first * args.a.batch_stride;
    slice.b.data += first * args.b.batch_stride;
    slice.c += first * args.batch_stride_c;
    const dim3 grid(static_cast<unsigned>(tiles_m * tiles_n), 1,
                    static_cast<unsigned>(std::min(batch - first, kMaxGridZ)));
    kernel<<<grid, Shape::Threads, smem, stream>>>(slice);
    CUDA_CHECK_LAUNCH();
  }
}

void require_tensor_cores() {
  int device = 0, major = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (major < 8) {
    throw std::runtime_error("gemm: version 5 (TF32 tensor cores) needs a GPU of compute "
                             "capability 8.0 or newer; this one has " + std::to_string(major) +
                             ".x");
  }
}

void launch_version(GemmVersion version, const GemmArgs& args, const Layout& la,
                    const Layout& lb, bool vec, int64_t batch, cudaStream_t stream) {
  using namespace gemm_detail;
  // Versions 1 and 2 read with scalar loads whatever the alignment: they ignore I::vec.
  switch (version) {
    case GemmVersion::shared_tiling:
      return with_instance(la.trans, lb.trans, vec, [&](auto i) {
        using I = decltype(i);
        launch<SharedTilingShape>(gemm_shared_tiling<I::trans_a, I::trans_b>, 0, args, batch,
                                  stream);
      });
    case GemmVersion::register_blocking:
      return with_instance(la.trans, lb.trans, vec, [&](auto i) {
        using I = decltype(i);
        launch<RegisterBlockingShape>(gemm_register_blocking<I::trans_a, I::trans_b>, 0, args,
                                      batch, stream);
      });
    case GemmVersion::vectorized:
      return with_instance(la.trans, lb.trans, vec, [&](auto i) {
        using I = decltype(i);
        launch<VectorizedShape>(gemm_vectorized<I::trans_a, I::trans_b, I::vec>, 0, args, batch,
                                stream);
      });
    case GemmVersion::warptiling:
      return with_instance(la.trans, lb.trans, vec, [&](auto i) {
        using I = decltype(i);
        launch<WarptilingShape>(gemm_warptiling<I::trans_a, I::trans_b, I::vec>, 0, args, batch,
                                stream);
      });
    case GemmVersion::tf32:
      require_tensor_cores();
      return with_instance(la.trans, lb.trans, vec, [&](auto i) {
        using I = decltype(i);
        constexpr int smem = tf32_smem_bytes<I::trans_a, I::trans_b>();
        const auto kernel = gemm_tf32<I::trans_a, I::trans_b, I::vec>;
        // Above the default 48 KiB of shared memory per block; two blocks per multiprocessor
        // need the largest shared-memory carveout.
        CUDA_CHECK(
            cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                        cudaSharedmemCarveoutMaxShared));
        launch<Tf32Config>(kernel, smem, args, batch, stream);
      });
  }
  throw std::invalid_argument("gemm: unknown kernel version " +
                              std::to_string(static_cast<int>(version)));
}

// Column sums: a block of 32 x 32 threads covers 32 columns; thread (x, y) adds the rows
// y, y + 32, ... of column x (so a warp reads 32 consecutive floats of one row), then the 32
// partial sums of each column go through shared memory to one warp that adds them. The order of
// the additions is fixed: the result does not depend on scheduling.
constexpr int kSumWidth = 32;

__global__ void __launch_bounds__(kSumWidth * kSumWidth)
    column_sum_kernel(const float* x, float* out, int64_t rows, int64_t cols) {
  __shared__ float partial[kSumWidth][kSumWidth + 1];
  const int tx = threadIdx.x % kSumWidth, ty = threadIdx.x / kSumWidth;
  const int64_t first_col = int64_t(blockIdx.x) * kSumWidth;
  const int64_t col = first_col + tx;
  float sum = 0.0f;
  if (col < cols) {
    for (int64_t r = ty; r < rows; r += kSumWidth) sum += x[r * cols + col];
  }
  partial[ty][tx] = sum;
  __syncthreads();
  // Warp ty adds the partial sums of column first_col + ty.
  const float total = warp_sum(partial[tx][ty]);
  if (tx == 0 && first_col + ty < cols) out[first_col + ty] = total;
}

}  // namespace

const char* gemm_version_name(GemmVersion version) {
  switch (version) {
    case GemmVersion::shared_tiling: return "shared-memory tiling";
    case GemmVersion::register_blocking: return "2-D register blocking";
    case GemmVersion::vectorized: return "vectorized (float4) loads";
    case GemmVersion::warptiling: return "warptiling, double-buffered";
    case GemmVersion::tf32: return "TF32 tensor cores (mma.sync), cp.async pipeline";
  }
  return "unknown";
}

void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, StridedMatrix<float> A,
                  int64_t batch_stride_a, StridedMatrix<float> B, int64_t batch_stride_b,
                  float* C, int64_t ldc, const GemmEpilogue<float>& epilogue,
                  GemmVersion version, cudaStream_t stream) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX) {
    throw std::invalid_argument("gemm: dimensions up to 2^31 - 1 are supported; got M = " +
                                std::to_string(M) + ", N = " + std::to_string(N) +
                                ", K = " + std::to_string(K));
  }
  const Layout la = layout_of(A, "A", M, K), lb = layout_of(B, "B", K, N);
  GemmArgs args{};
  args.M = static_cast<int>(M);
  args.N = static_cast<int>(N);
  args.K = static_cast<int>(K);
  args.a = {A.data, la.ld, batch_stride_a};
  args.b = {B.data, lb.ld, batch_stride_b};
  args.c = C;
  args.ldc = ldc;
  args.batch_stride_c = M * ldc;
  args.ep = {epilogue.alpha, epilogue.bias, epilogue.act, epilogue.act_alpha,
             epilogue.accumulate};
  args.vec_store = N % 4 == 0 && ldc % 4 == 0 && aligned16(C);
  // A is M x K: K runs along its rows unless transposed. B is K x N: N runs along its rows
  // unless transposed.
  const bool vec =
      vectorizable(args.a, la.trans ? M : K) && vectorizable(args.b, lb.trans ? K : N);
  launch_version(version, args, la, lb, vec, batch, stream);
}

void gemm(int64_t M, int64_t N, int64_t K, StridedMatrix<float> A, StridedMatrix<float> B,
          float* C, int64_t ldc, const GemmEpilogue<float>& epilogue, GemmVersion version,
          cudaStream_t stream) {
  gemm_batched(1, M, N, K, A, 0, B, 0, C, ldc, epilogue, version, stream);
}

void column_sum(int64_t rows, int64_t cols, const float* x, float* out, cudaStream_t stream) {
  if (cols <= 0) return;
  const int64_t blocks = ceil_div(cols, kSumWidth);
  if (blocks > INT_MAX) throw std::invalid_argument("column_sum: too many columns");
  column_sum_kernel<<<static_cast<unsigned>(blocks), kSumWidth * kSumWidth, 0, stream>>>(
      x, out, rows, cols);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fastdl::cuda
