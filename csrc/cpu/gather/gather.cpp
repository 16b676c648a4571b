#include "fastdl/gather.h"

#include <cstring>

#include "fastdl/parallel.h"

namespace fastdl {
namespace {

// Below this many bytes per thread one thread is faster: waking the other costs microseconds.
constexpr int64_t kBytesPerThread = 64 * 1024;

// How many rows ahead of the copy the loads of a row's first lines are issued: a scattered row
// starts with a miss that the hardware prefetchers cannot predict.
constexpr int64_t kRowsAhead = 4;
constexpr int64_t kLinesAhead = 8;

}  // namespace

void take_rows(const char* src, int64_t row_bytes, const int64_t* index, int64_t rows,
               char* dst) {
  const int64_t grain = row_bytes > 0 ? (kBytesPerThread + row_bytes - 1) / row_bytes : rows;
  parallel_for(
      rows, grain,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          if (r + kRowsAhead < end) {
            const char* ahead = src + index[r + kRowsAhead] * row_bytes;
            for (int64_t line = 0; line < kLinesAhead && line * 64 < row_bytes; ++line)
              __builtin_prefetch(ahead + line * 64);
          }
          std::memcpy(dst + r * row_bytes, src + index[r] * row_bytes, row_bytes);
        }
      },
      1);
}

}  // namespace fastdl
