#pragma once
// How the process's allocator treats the large arrays a training step makes and frees.

namespace fastdl {

// Training allocates and frees the same large arrays at every step: a layer's outputs, what
// it keeps for the backward pass, the gradients. glibc serves blocks above its mmap threshold
// with fresh mappings, and returns the top of its heap to the system once more than its trim
// threshold is free; either way the next step's arrays land on fresh pages, which the system
// faults in and zeroes one page at a time (an LSTM's forward and backward over B64 T28 H128
// spent half its time there: 14.3 ms, 7.4 ms without; tanh on 10^7 floats, 5.8 ms, 2.4 ms
// without). This serves blocks of every size from the heap (glibc's mmap threshold cannot be
// raised past 32 MiB, so mapping is turned off instead) and keeps freed memory in the process
// for reuse: the process holds on to its peak. Returns whether it applied (glibc only).
bool keep_freed_memory();

}  // namespace fastdl
