#pragma once
// Host side, shared by the CUDA sources and the bindings: error checking that throws (never
// exits) and the stream handle that Python passes (CuPy's current stream).
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace fastdl::cuda {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline void check(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess) {
    throw CudaError(std::string(what) + " failed: " + cudaGetErrorString(status) + " (" + file +
                    ":" + std::to_string(line) + ")");
  }
}

// Checks a runtime call; after a kernel launch, checks cudaGetLastError().
#define CUDA_CHECK(call) ::fastdl::cuda::check((call), #call, __FILE__, __LINE__)
#define CUDA_CHECK_LAUNCH() ::fastdl::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

constexpr __host__ __device__ inline long long ceil_div(long long a, long long b) {
  return (a + b - 1) / b;
}

// Python hands streams over as integers (cupy.cuda.Stream.ptr; 0 is the legacy default stream).
inline cudaStream_t as_stream(std::uintptr_t handle) {
  return reinterpret_cast<cudaStream_t>(handle);
}

}  // namespace fastdl::cuda
