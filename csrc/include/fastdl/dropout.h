#pragma once
// Inverted dropout with a counter-based random stream (csrc/cpu/random/stream.h, which the
// random fills of fastdl/random.h share): whether element i is kept depends only on (seed, i),
// so the mask is the same whatever the thread count or the ISA.
#include <cstdint>

namespace fastdl {

// Element i is dropped when word(seed, i) of the stream is below this threshold: p * 2^32.
uint32_t dropout_threshold(double p);

// y[i] = keep[i] ? x[i] / (1 - p) : 0, with keep[i] = 1 with probability 1 - p (0 <= p < 1).
template <class T>
void dropout_forward(const T* x, T* y, uint8_t* keep, int64_t n, double p, uint64_t seed);

// dx[i] = keep[i] ? dy[i] / (1 - p) : 0.
template <class T>
void dropout_backward(const T* dy, const uint8_t* keep, T* dx, int64_t n, double p);

}  // namespace fastdl
