#pragma once
// The ISA-specific part of the convolutions, vectorized along the channels, by algorithm: moving
// patches between an NHWC image and the rows of an im2col block (im2col_kernels.cpp), the direct
// kernels for one input channel (direct_kernels.cpp) and Winograd's transforms
// (winograd_kernels.cpp). Once per ISA (each compiled into fastdl::generic, fastdl::avx2 and
// fastdl::avx512); the blocking and threading (im2col.cpp, direct.cpp, winograd.cpp) are shared.
#include <cstdint>

#include "fastdl/conv.h"

namespace fastdl {

// * conv_gather_patches: rows [0, rows) of `patches` (row-major, s.patch() wide) receive the
//   patches of output pixels [first_pixel, first_pixel + rows) (flat over N, OH, OW), in HWC
//   order; taps outside the image are 0.
// * conv_scatter_patches: the reverse, adding: each row of `patches` is added into dx where the
//   gather would have read it (taps outside the image are dropped).
// * conv_single_channel_rows: the whole forward for one input channel (an image's first layer),
//   output rows [first_row, last_row) (flat over N, OH), written one after another from y: a
//   pixel's taps are a few scalars, too few to be worth gathering, so each is broadcast against
//   the weights' output channels directly. The weights come packed by
//   conv_single_channel_pack_weights (blocks of output channels, each tap's contiguous and
//   zero-padded; at most direct_packed_weights_size(s) elements). `padded` is scratch of
//   KH * direct_kernel_span(s).
// * conv_single_channel_weight_grad_row: its weight gradient, the contributions of output row
//   `row` (flat over N, OH), whose gradient is dy_row (OW x CO), added into dw (KH x KW x 1 x
//   CO) and, unless nullptr, db. `padded` as above.
// * conv_winograd4_input / conv_winograd4_output: the transforms of Winograd's F(4x4, 3x3) for
//   a 3x3 kernel with unit strides and dilation, over tiles [first_tile, first_tile + tiles)
//   of 4x4 output pixels (flat over N, ceil(OH / 4), ceil(OW / 4)). The input transform writes
//   36 matrices of tiles x C (B^T d B of each tile's 6x6 patch, one matrix per position of the
//   transform, `tiles` * C elements apart); the output transform reads 36 such matrices of
//   tiles x CO (their products with the transformed kernel) and writes act(A^T m A + b).
// * conv_winograd4_output_gradient: for the weight gradient by F(3x3, 4x4), each 4x4 tile g of
//   the output gradient (same tiles; 0 past the edge of the output) as A g A^T, A being A^T's
//   transpose, into 36 matrices of tiles x CO.
// * conv_winograd4_input_gradient: the transpose of conv_winograd4_input, for the input
//   gradient by F(4x4, 3x3) transposed: each tile's 36 matrices of tiles x C (the output
//   gradient's A g A^T times the transformed kernel's transpose) as B p B^T, a 6x6 patch added
//   into dx where the tile's input patch lies (patches overlap: the caller owns the images).
// The direct kernel's zero-padded input row under one kernel row: the columns the taps of a
// whole output row reach.
inline int64_t direct_kernel_span(const ConvShape& s) {
  return (s.OW - 1) * s.stride_w + (s.KW - 1) * s.dilation_w + 1;
}

// Room for conv_single_channel_pack_weights's output on any ISA (blocks of at most 16 output
// channels).
inline int64_t direct_packed_weights_size(const ConvShape& s) {
  return (s.CO + 15) / 16 * 16 * s.KH * s.KW;
}

#define FASTDL_DECLARE_CONV_KERNELS(isa)                                                      \
  namespace isa {                                                                             \
  template <class T>                                                                          \
  void conv_gather_patches(const ConvShape& s, const T* x, int64_t first_pixel, int64_t rows, \
                           T* patches);                                                       \
  template <class T>                                                                          \
  void conv_scatter_patches(const ConvShape& s, const T* patches, int64_t first_pixel,        \
                            int64_t rows, T* dx);                                             \
  template <class T>                                                                          \
  void conv_single_channel_pack_weights(const ConvShape& s, const T* w, T* packed);           \
  template <class T>                                                                          \
  void conv_single_channel_rows(const ConvShape& s, const T* x, const T* packed, const T* b,  \
                                Activation act, T* y, int64_t first_row, int64_t last_row,    \
                                T* padded);                                                   \
  template <class T>                                                                          \
  void conv_single_channel_weight_grad_row(const ConvShape& s, const T* x, int64_t row,       \
                                           const T* dy_row, T* dw, T* db, T* padded);         \
  template <class T>                                                                          \
  void conv_winograd4_input(const ConvShape& s, const T* x, int64_t first_tile, int64_t tiles, \
                            T* v);                                                            \
  template <class T>                                                                          \
  void conv_winograd4_output(const ConvShape& s, const T* m, const T* b, Activation act,      \
                             int64_t first_tile, int64_t tiles, T* y);                        \
  template <class T>                                                                          \
  void conv_winograd4_output_gradient(const ConvShape& s, const T* dy, int64_t first_tile,    \
                                      int64_t tiles, T* u);                                   \
  template <class T>                                                                          \
  void conv_winograd4_input_gradient(const ConvShape& s, const T* p, int64_t first_tile,      \
                                     int64_t tiles, T* dx);                                   \
  }

FASTDL_DECLARE_CONV_KERNELS(generic)
FASTDL_DECLARE_CONV_KERNELS(avx2)
FASTDL_DECLARE_CONV_KERNELS(avx512)
#undef FASTDL_DECLARE_CONV_KERNELS

}  // namespace fastdl
