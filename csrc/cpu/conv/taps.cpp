// The tap-products algorithm (taps.h): the product of every input pixel with every tap's
// weights as one GEMM, then per output pixel the sum of its taps' products.
#include "conv/taps.h"

#include <vector>

#include "fastdl/gemm.h"
#include "fastdl/parallel.h"

namespace fastdl {

template <class T>
void conv2d_forward_taps(const ConvShape& s, const T* x, const T* w, const T* b, Activation act,
                         T* y) {
  const int64_t taps = s.KH * s.KW, CO = s.CO, width = taps * s.CO;
  const int64_t in_pixels = s.N * s.H * s.W;
  // The weights (KH, KW, C, CO) as one (C, taps * CO) matrix, a tap's output channels side
  // by side: a small copy, which makes the products one GEMM with a useful width.
  std::vector<T> weights(static_cast<size_t>(s.C * width));
  for (int64_t t = 0; t < taps; ++t) {
    for (int64_t c = 0; c < s.C; ++c) {
      for (int64_t co = 0; co < CO; ++co) {
        weights[c * width + t * CO + co] = w[(t * s.C + c) * CO + co];
      }
    }
  }
  // products[p][t * CO + co]: input pixel p times the weights of tap t, output channel co.
  std::vector<T> products(static_cast<size_t>(in_pixels * width));
  gemm<T>(in_pixels, width, s.C, StridedMatrix<T>{x, s.C, 1},
          StridedMatrix<T>{weights.data(), width, 1}, products.data(), width,
          GemmEpilogue<T>{});
  const int64_t rows = s.N * s.OH;
  parallel_for(rows, 8, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {
      const int64_t n = r / s.OH, oh = r % s.OH;
      T* out = y + r * s.OW * CO;
      for (int64_t ow = 0; ow < s.OW; ++ow) {
        for (int64_t co = 0; co < CO; ++co) out[ow * CO + co] = b ? b[co] : T(0);
      }
      for (int64_t kh = 0; kh < s.KH; ++kh) {
        const int64_t ih = oh * s.stride_h + kh * s.dilation_h - s.pad_top;
        if (ih < 0 || ih >= s.H) continue;
        const T* row = products.data() + ((n * s.H + ih) * s.W) * width;
        for (int64_t kw = 0; kw < s.KW; ++kw) {
          const T* tap = row + (kh * s.KW + kw) * CO;
          for (int64_t ow = 0; ow < s.OW; ++ow) {
            const int64_t iw = ow * s.stride_w + kw * s.dilation_w - s.pad_left;
            if (iw < 0 || iw >= s.W) continue;
            for (int64_t co = 0; co < CO; ++co) out[ow * CO + co] += tap[iw * width + co];
          }
        }
      }
      if (act != Activation::none) activation_forward<T>(act, out, out, s.OW * CO, T(0));
    }
  });
}

template void conv2d_forward_taps<float>(const ConvShape&, const float*, const float*,
                                         const float*, Activation, float*);
template void conv2d_forward_taps<double>(const ConvShape&, const double*, const double*,
                                          const double*, Activation, double*);

}  // namespace fastdl
