#include "fastdl/memory.h"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fastdl {

bool keep_freed_memory() {
#if defined(__GLIBC__)
  constexpr int kNeverTrim = 1 << 30;  // trim only when a gigabyte lies free at the top
  return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, kNeverTrim) == 1;
#else
  return false;
#endif
}

}  // namespace fastdl
