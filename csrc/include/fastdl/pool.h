#pragma once
// 2-D max and average pooling over NHWC images (batch, height, width, channels), C-contiguous,
// float32 and float64, forward and backward.
//
// A window of pool_h x pool_w positions moves by (stride_h, stride_w); output (oh, ow) covers
// input rows [oh * stride_h - pad_top, ... + pool_h) and columns [ow * stride_w - pad_left,
// ... + pool_w). Positions outside the input are padding: they never win a max and are not
// counted in an average (TensorFlow/Keras 'same' semantics). pool2d_shape() works out the output
// size and the padding of Keras's 'valid' and 'same' modes; callers on every device use it.
#include <cstdint>

namespace fastdl {

struct Pool2dShape {
  int64_t batch = 0, height = 0, width = 0, channels = 0;  // input
  int64_t out_height = 0, out_width = 0;
  int64_t pool_h = 1, pool_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // implicit rows above / columns left of the input

  int64_t input_size() const { return batch * height * width * channels; }
  int64_t output_size() const { return batch * out_height * out_width * channels; }
};

// The geometry of Keras's padding modes for an input of (batch, height, width, channels):
//   'valid' (same == false): out = (in - pool) / stride + 1, no padding; needs in >= pool.
//   'same':  out = ceil(in / stride); total = max((out - 1) * stride + pool - in, 0) padded
//            positions, total / 2 before the input and the rest after it.
// pool and strides must be positive (the caller checks). With these modes every window overlaps
// the input, which the kernels below rely on.
Pool2dShape pool2d_shape(int64_t batch, int64_t height, int64_t width, int64_t channels,
                         int64_t pool_h, int64_t pool_w, int64_t stride_h, int64_t stride_w,
                         bool same);

// y[n, oh, ow, c] = the maximum of x over the window. When argmax is not null it receives, per
// output element, the position h * width + w of the winning element inside its image. Ties go
// to the first position in window scan order (row by row, left to right); a NaN in a window
// gives NaN, and the first NaN is the winner.
template <class T>
void max_pool2d_forward(const T* x, T* y, int32_t* argmax, const Pool2dShape& s);

// dx (input-shaped, every element written) = the sum, over the windows whose argmax names an
// input element, of their dy; zero elsewhere. Overlapping windows (stride < pool) add up, in
// output order. An argmax that does not name a position of its own window contributes nothing.
template <class T>
void max_pool2d_backward(const T* dy, const int32_t* argmax, T* dx, const Pool2dShape& s);

// y[n, oh, ow, c] = the mean of x over the positions of the window that lie inside the input
// (padding is not counted).
template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dShape& s);

// dx (every element written) = the sum, over the windows covering an input element, of
// dy / (that window's count of input positions).
template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dShape& s);

}  // namespace fastdl
