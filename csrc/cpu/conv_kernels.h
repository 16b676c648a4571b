#pragma once
// The ISA-specific part of the convolutions: moving patches between an NHWC image and the rows
// of an im2col block, vectorized along the channels. Once per ISA (conv_kernels_impl.h compiled
// into fastdl::generic and fastdl::avx2); the blocking and threading (conv.cpp) are shared.
#include <cstdint>

#include "fastdl/conv.h"

namespace fastdl {

// * conv_gather_patches: rows [0, rows) of `patches` (row-major, s.patch() wide) receive the
//   patches of output pixels [first_pixel, first_pixel + rows) (flat over N, OH, OW), in HWC
//   order; taps outside the image are 0.
// * conv_scatter_patches: the reverse, adding: each row of `patches` is added into dx where the
//   gather would have read it (taps outside the image are dropped).
// * conv_single_channel_rows: the whole forward for one input channel (an image's first layer),
//   output rows [first_row, last_row) (flat over N, OH): a pixel's taps are a few scalars, too
//   few to be worth gathering, so each is broadcast against the weights' output channels
//   directly. `padded` is scratch of KH * ((OW - 1) * stride_w + (KW - 1) * dilation_w + 1).
// * conv_single_channel_weight_grad_rows: its weight gradient, the contributions of output
//   rows [first_row, last_row) added into dw (KH x KW x 1 x CO) and, unless nullptr, db.
#define FASTDL_DECLARE_CONV_KERNELS(isa)                                                      \
  namespace isa {                                                                             \
  template <class T>                                                                          \
  void conv_gather_patches(const ConvShape& s, const T* x, int64_t first_pixel, int64_t rows, \
                           T* patches);                                                       \
  template <class T>                                                                          \
  void conv_scatter_patches(const ConvShape& s, const T* patches, int64_t first_pixel,        \
                            int64_t rows, T* dx);                                             \
  template <class T>                                                                          \
  void conv_single_channel_rows(const ConvShape& s, const T* x, const T* w, const T* b,       \
                                Activation act, T* y, int64_t first_row, int64_t last_row,    \
                                T* padded);                                                   \
  template <class T>                                                                          \
  void conv_single_channel_weight_grad_rows(const ConvShape& s, const T* x, const T* dy,      \
                                            T* dw, T* db, int64_t first_row, int64_t last_row, \
                                            T* padded);                                       \
  }

FASTDL_DECLARE_CONV_KERNELS(generic)
FASTDL_DECLARE_CONV_KERNELS(avx2)
#undef FASTDL_DECLARE_CONV_KERNELS

}  // namespace fastdl
