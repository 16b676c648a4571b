#pragma once
// When an elementwise kernel writes its output past the caches (streaming stores). Internal to
// the CPU kernels.
#include <cstdint>

namespace fastdl {

// Outputs of at least this many bytes are streamed: they would not stay in a 32 MiB L3 beside
// their inputs anyway, and a store into a line not in cache first reads it from memory.
constexpr int64_t kStreamBytes = 16 << 20;

template <class T>
constexpr bool stream_output(int64_t elements) {
  return elements * int64_t(sizeof(T)) >= kStreamBytes;
}

}  // namespace fastdl
