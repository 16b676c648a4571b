#pragma once
// How the process's allocator treats the large arrays a training step makes and frees.

namespace fastdl {

// Training allocates and frees the same large arrays at every step: a layer's outputs, what
// it keeps for the backward pass, the gradients. glibc serves blocks above its mmap threshold
// with fresh mappings, and returns the top of its heap to the system once more than its trim
// threshold is free; either way the next step's arrays land on fresh pages, which the system
// faults in and zeroes one page at a time (an LSTM's forward and backward over B64 T28 H128
// spent half its time there: 14.3 ms, 7.4 ms without). This keeps blocks up to the largest
// mmap threshold glibc allows (32 MiB) on the heap and freed memory in the process for reuse:
// the process holds on to its peak. Returns whether it applied (glibc only).
bool keep_freed_memory();

}  // namespace fastdl
