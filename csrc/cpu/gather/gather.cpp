#include "fastdl/gather.h"

#include <algorithm>
#include <cstring>

#include "fastdl/denormals.h"
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

template <class T>
void index_add_rows(T* out, int64_t width, const int64_t* index, int64_t count,
                    const T* values) {
  // Columns per thread at least: the bytes of values a thread adds make it worth waking.
  const int64_t column_bytes = std::max<int64_t>(1, count * int64_t(sizeof(T)));
  parallel_for(width, (kBytesPerThread + column_bytes - 1) / column_bytes,
               [&](int64_t c0, int64_t c1) {
                 FlushDenormalsScope flush;  // a subnormal operand slows an add many times
                 for (int64_t i = 0; i < count; ++i) {
                   T* __restrict dst = out + index[i] * width;
                   const T* __restrict src = values + i * width;
                   for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
                 }
               });
}

template void index_add_rows<float>(float*, int64_t, const int64_t*, int64_t, const float*);
template void index_add_rows<double>(double*, int64_t, const int64_t*, int64_t, const double*);

}  // namespace fastdl
