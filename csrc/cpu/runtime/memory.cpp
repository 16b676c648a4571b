#include "fastdl/memory.h"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fastdl {

bool keep_freed_memory() {
#if defined(__GLIBC__)
  constexpr int kLargestMmapThreshold = 32 * 1024 * 1024;  // glibc's maximum on 64-bit
  constexpr int kNeverTrim = 1 << 30;  // trim only when a gigabyte lies free at the top
  return mallopt(M_MMAP_THRESHOLD, kLargestMmapThreshold) == 1 &&
         mallopt(M_TRIM_THRESHOLD, kNeverTrim) == 1;
#else
  return false;
#endif
}

}  // namespace fastdl
