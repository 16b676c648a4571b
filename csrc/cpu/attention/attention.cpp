// Attention by tiles: a tile of kQueryTile query rows of one head against the key tiles in turn,
// each tile's scores and their products by the GEMM (on the calling thread: the work is split
// over heads and query tiles), the masks here, the softmax arithmetic in the per-ISA kernels
// (attention/kernels.cpp).
//
// Forward, one piece of work per (batch, head, query tile): scores, then the online softmax,
// which keeps per row the largest score m and the sum l of exp(score - m), and rescales the
// output accumulated so far when m grows. Backward, one piece per (batch, key/value head): its
// key and value gradients are sums over every query row of its query heads, so one thread owns
// them; per key tile and query tile, the probabilities again from the saved log-sum-exp, then
// dv += p^T dout, dp = dout v^T, ds = p (dp - delta) with delta = rowsum(dout * out),
// dq += scale ds k and dk += scale ds^T q.
#include "fastdl/attention.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "attention/kernels.h"
#include "fastdl/denormals.h"
#include "fastdl/gemm.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"

namespace fastdl {
namespace {

// Query rows and keys per tile: a 64 x 64 tile of scores (16 KiB in float32) and the query,
// key and value tiles beside it stay in L1 and L2 while the tile's products run.
constexpr int64_t kQueryTile = 64, kKeyTile = 64;

int64_t tiles(int64_t n, int64_t tile) { return (n + tile - 1) / tile; }

// Row i and column j of the query and key tiles in the layouts of q (B, T, N, D), k and v
// (B, S, K, D): the rows of one head are N * D (or K * D) elements apart.
template <class T>
struct HeadView {
  const AttentionShape& s;
  int64_t b, n;

  int64_t kv_head() const { return n / (s.heads / s.kv_heads); }
  int64_t q_offset(int64_t i, int64_t d) const { return ((b * s.q_len + i) * s.heads + n) * d; }
  int64_t kv_offset(int64_t j, int64_t d) const {
    return ((b * s.kv_len + j) * s.kv_heads + kv_head()) * d;
  }
};

// The scores of query rows [i0, i0 + rows) against keys [j0, j0 + cols): scale * q k^T, plus
// the bias, -inf where masked or (causal) where the key comes after the query.
template <class T>
void scores(const AttentionShape& s, const HeadView<T>& h, const T* q, const T* k,
            const AttentionOperand<T>& bias, const AttentionOperand<uint8_t>& mask, int64_t i0,
            int64_t rows, int64_t j0, int64_t cols, T* out) {
  const int64_t D = s.head_dim;
  GemmEpilogue<T> ep;
  ep.alpha = static_cast<T>(s.scale);
  gemm<T>(rows, cols, D, {q + h.q_offset(i0, D), s.heads * D, 1},
          {k + h.kv_offset(j0, D), 1, s.kv_heads * D}, out, kKeyTile, ep);
  constexpr T kMasked = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    T* row = out + r * kKeyTile;
    const int64_t i = i0 + r;
    if (bias.data) {
      const T* b = bias.at(h.b, h.n, i) + j0 * bias.stride[3];
      for (int64_t c = 0; c < cols; ++c) row[c] += b[c * bias.stride[3]];
    }
    if (mask.data) {
      const uint8_t* m = mask.at(h.b, h.n, i) + j0 * mask.stride[3];
      for (int64_t c = 0; c < cols; ++c) {
        if (!m[c * mask.stride[3]]) row[c] = kMasked;
      }
    }
    if (s.causal) {
      for (int64_t c = std::max<int64_t>(0, i + 1 - j0); c < cols; ++c) row[c] = kMasked;
    }
  }
}

// Keys a causal query tile [i0, i0 + rows) reads: those up to its last row.
int64_t keys_read(const AttentionShape& s, int64_t i0, int64_t rows) {
  return s.causal ? std::min(s.kv_len, i0 + rows) : s.kv_len;
}

}  // namespace

template <class T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v,
                       AttentionOperand<T> bias, AttentionOperand<uint8_t> mask, T* out, T* lse) {
  const int64_t B = s.batch, N = s.heads, T_ = s.q_len, Dv = s.value_dim;
  if (B == 0 || N == 0 || T_ == 0) return;
  const int64_t q_tiles = tiles(T_, kQueryTile);
  const int threads = threads_for(B * N * q_tiles * kQueryTile * std::max<int64_t>(1, s.kv_len),
                                  int64_t{1} << 16);
  // Per thread: the tile of scores, the output accumulated in float of T, and m and l per row.
  const int64_t per_thread = kQueryTile * kKeyTile + kQueryTile * Dv + 2 * kQueryTile;
  std::vector<T> scratch(static_cast<size_t>(threads * per_thread));
  parallel_items(
      threads, B * N * q_tiles, [](int) {},
      [&](int t, int64_t item) {
        FlushDenormalsScope flush;
        T* tile = scratch.data() + t * per_thread;
        T* acc = tile + kQueryTile * kKeyTile;
        T* m = acc + kQueryTile * Dv;
        T* l = m + kQueryTile;
        const HeadView<T> h{s, item / (N * q_tiles), item / q_tiles % N};
        const int64_t i0 = item % q_tiles * kQueryTile, rows = std::min(kQueryTile, T_ - i0);
        std::fill(acc, acc + rows * Dv, T(0));
        std::fill(m, m + rows, -std::numeric_limits<T>::infinity());
        std::fill(l, l + rows, T(0));
        const int64_t keys = keys_read(s, i0, rows);
        for (int64_t j0 = 0; j0 < keys; j0 += kKeyTile) {
          const int64_t cols = std::min(kKeyTile, keys - j0);
          scores(s, h, q, k, bias, mask, i0, rows, j0, cols, tile);
          FASTDL_DISPATCH(attention_online_softmax<T>(tile, rows, cols, kKeyTile, m, l, acc, Dv,
                                                      Dv));
          GemmEpilogue<T> ep;
          ep.accumulate = true;
          gemm<T>(rows, Dv, cols, {tile, kKeyTile, 1}, {v + h.kv_offset(j0, Dv), s.kv_heads * Dv, 1},
                  acc, Dv, ep);
        }
        FASTDL_DISPATCH(attention_finish_rows<T>(acc, Dv, m, l, rows, Dv,
                                                 out + h.q_offset(i0, Dv), N * Dv,
                                                 lse + (h.b * N + h.n) * T_ + i0));
      });
}

template <class T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v,
                        AttentionOperand<T> bias, AttentionOperand<uint8_t> mask, const T* out,
                        const T* lse, const T* dout, T* dq, T* dk, T* dv, T* dscores) {
  const int64_t B = s.batch, N = s.heads, K = s.kv_heads, T_ = s.q_len, S = s.kv_len;
  const int64_t D = s.head_dim, Dv = s.value_dim, group = N / K;
  std::fill(dq, dq + B * T_ * N * D, T(0));
  std::fill(dk, dk + B * S * K * D, T(0));
  std::fill(dv, dv + B * S * K * Dv, T(0));
  if (dscores) std::fill(dscores, dscores + B * N * T_ * S, T(0));
  if (B == 0 || T_ == 0 || S == 0) return;
  const int threads = threads_for(B * K * group * T_ * S, int64_t{1} << 16);
  // Per thread: the tiles of probabilities and of their gradient, and delta per query row.
  const int64_t per_thread = 2 * kQueryTile * kKeyTile + T_;
  std::vector<T> scratch(static_cast<size_t>(threads * per_thread));
  const T scale = static_cast<T>(s.scale);
  parallel_items(
      threads, B * K, [](int) {},
      [&](int t, int64_t item) {
        FlushDenormalsScope flush;
        T* p = scratch.data() + t * per_thread;
        T* dp = p + kQueryTile * kKeyTile;
        T* delta = dp + kQueryTile * kKeyTile;
        const int64_t b = item / K, kv = item % K;
        for (int64_t n = kv * group; n < (kv + 1) * group; ++n) {
          const HeadView<T> h{s, b, n};
          const T* head_lse = lse + (b * N + n) * T_;
          FASTDL_DISPATCH(attention_row_dots<T>(dout + h.q_offset(0, Dv), N * Dv,
                                                out + h.q_offset(0, Dv), N * Dv, T_, Dv, delta));
          for (int64_t j0 = 0; j0 < S; j0 += kKeyTile) {
            const int64_t cols = std::min(kKeyTile, S - j0);
            // Causal: the query tiles from the one holding query j0 on read these keys.
            const int64_t first_row = s.causal ? j0 / kQueryTile * kQueryTile : 0;
            for (int64_t i0 = first_row; i0 < T_; i0 += kQueryTile) {
              const int64_t rows = std::min(kQueryTile, T_ - i0);
              scores(s, h, q, k, bias, mask, i0, rows, j0, cols, p);
              FASTDL_DISPATCH(attention_probabilities<T>(p, rows, cols, kKeyTile, head_lse + i0));
              GemmEpilogue<T> acc;
              acc.accumulate = true;
              // dv[j0:] += p^T dout
              gemm<T>(cols, Dv, rows, {p, 1, kKeyTile}, {dout + h.q_offset(i0, Dv), N * Dv, 1},
                      dv + h.kv_offset(j0, Dv), K * Dv, acc);
              // dp = dout v^T
              gemm<T>(rows, cols, Dv, {dout + h.q_offset(i0, Dv), N * Dv, 1},
                      {v + h.kv_offset(j0, Dv), 1, K * Dv}, dp, kKeyTile, GemmEpilogue<T>{});
              FASTDL_DISPATCH(attention_score_gradient<T>(p, dp, rows, cols, kKeyTile,
                                                          delta + i0));
              if (dscores) {
                for (int64_t r = 0; r < rows; ++r) {
                  std::copy(p + r * kKeyTile, p + r * kKeyTile + cols,
                            dscores + ((b * N + n) * T_ + i0 + r) * S + j0);
                }
              }
              GemmEpilogue<T> scaled = acc;
              scaled.alpha = scale;
              // dq[i0:] += scale ds k; dk[j0:] += scale ds^T q
              gemm<T>(rows, D, cols, {p, kKeyTile, 1}, {k + h.kv_offset(j0, D), K * D, 1},
                      dq + h.q_offset(i0, D), N * D, scaled);
              gemm<T>(cols, D, rows, {p, 1, kKeyTile}, {q + h.q_offset(i0, D), N * D, 1},
                      dk + h.kv_offset(j0, D), K * D, scaled);
            }
          }
        }
      });
}

#define FASTDL_INSTANTIATE_ATTENTION(T)                                                         \
  template void attention_forward<T>(const AttentionShape&, const T*, const T*, const T*,      \
                                     AttentionOperand<T>, AttentionOperand<uint8_t>, T*, T*);   \
  template void attention_backward<T>(const AttentionShape&, const T*, const T*, const T*,     \
                                      AttentionOperand<T>, AttentionOperand<uint8_t>, const T*, \
                                      const T*, const T*, T*, T*, T*, T*);
FASTDL_INSTANTIATE_ATTENTION(float)
FASTDL_INSTANTIATE_ATTENTION(double)
#undef FASTDL_INSTANTIATE_ATTENTION

}  // namespace fastdl
