#pragma once
// A growing, 64-byte aligned scratch buffer owned by one thread and reused across calls, so that
// kernels in steady state allocate nothing (fresh pages would cost page faults on every call).
// Internal to the CPU kernels.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace fastdl {

class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(data_); }

  // Room for `count` elements of T; the contents are not kept when it grows.
  template <class T>
  T* get(int64_t count) {
    const size_t bytes = (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64;
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

}  // namespace fastdl
