// Patch gathering and scattering for the im2col convolution, written once against Vec<T>; CMake
// compiles this file once per ISA (generic, avx2, avx512), each copy in its own namespace.
#include "conv/kernels.h"
#include "conv/runs.h"
#include "fastdl/simd.h"

namespace fastdl {
namespace FASTDL_ISA_NS {
namespace {

// Walks the patch rows of pixels [first_pixel, first_pixel + rows) and, for every run of taps
// that lies inside the image, calls inside(image_offset, patch_offset, length); for every run
// outside it, outside(patch_offset, length). Offsets in elements; patch offsets count from the
// first row. With unit dilation along W, the taps of one kernel row that are all inside the
// image form one contiguous run of KW * C elements.
template <class Inside, class Outside>
inline void for_each_tap_run(const ConvShape& s, int64_t first_pixel, int64_t rows,
                             Inside&& inside, Outside&& outside) {
  const int64_t C = s.C, K = s.patch(), row_run = s.KW * C;
  const int64_t image = s.H * s.W * C, plane = s.OH * s.OW;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = first_pixel + r;
    const int64_t n = p / plane, oh = (p % plane) / s.OW, ow = p % s.OW;
    const int64_t iw0 = ow * s.stride_w - s.pad_left;
    int64_t dst = r * K;
    for (int64_t kh = 0; kh < s.KH; ++kh, dst += row_run) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.H) {
        outside(dst, row_run);
        continue;
      }
      const int64_t src_row = n * image + ih * s.W * C;
      if (s.dilation_w == 1 && iw0 >= 0 && iw0 + s.KW <= s.W) {
        inside(src_row + iw0 * C, dst, row_run);
        continue;
      }
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        const int64_t iw = iw0 + kw * s.dilation_w;
        if (iw < 0 || iw >= s.W) {
          outside(dst + kw * C, C);
        } else {
          inside(src_row + iw * C, dst + kw * C, C);
        }
      }
    }
  }
}

}  // namespace

template <class T>
void conv_gather_patches(const ConvShape& s, const T* x, int64_t first_pixel, int64_t rows,
                         T* patches) {
  for_each_tap_run(
      s, first_pixel, rows,
      [&](int64_t src, int64_t dst, int64_t n) { move_run<T, false>(x + src, patches + dst, n); },
      [&](int64_t dst, int64_t n) { zero_run(patches + dst, n); });
}

template <class T>
void conv_scatter_patches(const ConvShape& s, const T* patches, int64_t first_pixel,
                          int64_t rows, T* dx) {
  for_each_tap_run(
      s, first_pixel, rows,
      [&](int64_t dst, int64_t src, int64_t n) { move_run<T, true>(patches + src, dx + dst, n); },
      [](int64_t, int64_t) {});
}

template void conv_gather_patches<float>(const ConvShape&, const float*, int64_t, int64_t,
                                         float*);
template void conv_gather_patches<double>(const ConvShape&, const double*, int64_t, int64_t,
                                          double*);
template void conv_scatter_patches<float>(const ConvShape&, const float*, int64_t, int64_t,
                                          float*);
template void conv_scatter_patches<double>(const ConvShape&, const double*, int64_t, int64_t,
                                           double*);

}  // namespace FASTDL_ISA_NS
}  // namespace fastdl
