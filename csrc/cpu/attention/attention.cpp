// Attention by tiles: a tile of kQueryTile query rows of one head against the key tiles in turn,
// each tile's scores and their products by the GEMM (on the calling thread: the work is split
// over heads and query tiles), the masks here, the softmax arithmetic in the per-ISA kernels
// (attention/kernels.cpp). A head's key tiles are packed for the GEMM once per piece of work
// (k^T as the right operand of q k^T), and its query rows copied to consecutive rows, rather
// than once per pair of tiles.
//
// Forward, one piece of work per (batch, head, group of query tiles): scores, then the online
// softmax, which keeps per row the largest score m and the sum l of exp(score - m), and
// rescales the output accumulated so far when m grows. Backward, one piece per (batch,
// key/value head): its key and value gradients are sums over every query row of its query
// heads, so one thread owns them; per key tile and query tile, the probabilities again from the
// saved log-sum-exp, then dv += p^T dout, dp = dout v^T, ds = p (dp - delta) with
// delta = rowsum(dout * out), dq += scale ds k and dk += scale ds^T q.
//
// Dropout multiplies each tile of probabilities by its mask (drawn from the stream once per
// tile in each pass, never stored) before the product with v; backward, dv takes the dropped
// probabilities, the gradient of the probabilities is dout v^T times the mask (read off the
// dropped probabilities), and delta = rowsum(dout * out) still equals rowsum(p * dp), since
// out is the dropped probabilities times v.
#include "fastdl/attention.h"

#include <algorithm>
#include <limits>

#include "attention/kernels.h"
#include "fastdl/denormals.h"
#include "fastdl/dropout.h"
#include "fastdl/gemm.h"
#include "fastdl/isa.h"
#include "fastdl/parallel.h"
#include "runtime/scratch.h"

namespace fastdl {
namespace {

// Query rows and keys per tile: a 64 x 128 tile of scores (32 KiB in float32) and the query,
// key and value tiles beside it stay in L2 while the tile's products run. (Measured on Zen 4, 2
// threads, B8 H8 T512 D64 forward: 27.0 ms with 64 x 64 tiles, 25.3 with 64 x 128, 27.8 with
// 128 x 128.)
constexpr int64_t kQueryTile = 64, kKeyTile = 128;

// Scores per thread below which fewer threads take the work. (Four heads of 64 x 64 for each of
// 4 samples, 2^16 scores, took 0.12 ms forward on one Zen 4 core, 0.066 to 0.088 ms on two.)
constexpr int64_t kScoresPerThread = int64_t{1} << 13;

int64_t tiles(int64_t n, int64_t tile) { return (n + tile - 1) / tile; }

// The threads' tiles and packed operands, kept by the calling thread between calls.
Scratch& attention_scratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Row i and column j of the query and key tiles in the layouts of q (B, T, N, D), k and v
// (B, S, K, D): the rows of one head are N * D (or K * D) elements apart.
struct HeadView {
  const AttentionShape& s;
  int64_t b, n;

  int64_t kv_head() const { return n / (s.heads / s.kv_heads); }
  int64_t q_offset(int64_t i, int64_t d) const { return ((b * s.q_len + i) * s.heads + n) * d; }
  int64_t kv_offset(int64_t j, int64_t d) const {
    return ((b * s.kv_len + j) * s.kv_heads + kv_head()) * d;
  }
};

// The dropout of a tile of probabilities: its rows [i, i + rows) of one head against keys
// [j0, j0 + cols), from `in` to `out` (row r at r * kKeyTile in both, which may be one buffer).
template <class T>
struct TileDropout {
  const AttentionShape& s;
  uint32_t threshold = dropout_threshold(s.dropout);
  T scale = static_cast<T>(1.0 / (1.0 - s.dropout));

  void operator()(const HeadView& h, const T* in, T* out, int64_t i, int64_t rows, int64_t j0,
                  int64_t cols) const {
    const uint64_t first = static_cast<uint64_t>(((h.b * s.heads + h.n) * s.q_len + i) *
                                                     s.kv_len + j0);
    FASTDL_DISPATCH(attention_dropout<T>(in, out, rows, cols, kKeyTile, s.seed, first, s.kv_len,
                                         threshold, scale));
  }
};

// The key tiles of one key/value head packed for the GEMM as the right operand of q k^T (each
// tile's k^T, D x kKeyTile), once for every query tile that reads them; likewise the value
// tiles' v^T for the backward pass's dout v^T.
template <class T>
class PackedTiles {
 public:
  PackedTiles(int64_t rows_of_b, T* buffer)
      : tile_size_(gemm_packed_b_size<T>(rows_of_b, kKeyTile)), depth_(rows_of_b),
        buffer_(buffer) {}

  // Room for a head's tiles of `length` keys with `depth` rows each.
  static int64_t size(int64_t depth, int64_t length) {
    return tiles(length, kKeyTile) * gemm_packed_b_size<T>(depth, kKeyTile);
  }

  // Packs the transposes of rows [0, length) of `rows` (row r at rows + r * stride).
  void pack(const T* rows, int64_t stride, int64_t length) {
    for (int64_t j0 = 0; j0 < length; j0 += kKeyTile) {
      gemm_pack_b<T>(depth_, std::min(kKeyTile, length - j0), {rows + j0 * stride, 1, stride},
                     buffer_ + j0 / kKeyTile * tile_size_);
    }
  }

  const T* tile(int64_t j0) const { return buffer_ + j0 / kKeyTile * tile_size_; }

 private:
  int64_t tile_size_, depth_;
  T* buffer_;
};

// The scores of query rows [i0, i0 + rows) (the tile `q_tile`, rows D apart) against keys
// [j0, j0 + cols): scale * q k^T, plus the bias, -inf where masked or (causal) where the key
// comes after the query.
template <class T>
void scores(const AttentionShape& s, const HeadView& h, const T* q_tile,
            const PackedTiles<T>& keys, const AttentionOperand<T>& bias,
            const AttentionOperand<uint8_t>& mask, int64_t i0, int64_t rows, int64_t j0,
            int64_t cols, T* out) {
  const int64_t D = s.head_dim;
  GemmEpilogue<T> ep;
  ep.alpha = static_cast<T>(s.scale);
  gemm_with_packed_b<T>(rows, cols, D, {q_tile, D, 1}, keys.tile(j0), out, kKeyTile, ep);
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

// Rows [i0, i0 + rows) of one head's query (or of any (B, T, N, D) array), D apart in `tile`:
// the GEMM then reads them in place (the head's rows are N * D apart, which for 8 heads of 64
// put them all on the same few sets of L1).
template <class T>
void copy_rows(const T* a, int64_t stride, int64_t rows, int64_t width, T* tile) {
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(a + r * stride, a + r * stride + width, tile + r * width);
  }
}

// Sets `rows` rows of `width` elements, `stride` apart, to zero.
template <class T>
void zero_rows(T* a, int64_t stride, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) std::fill(a + r * stride, a + r * stride + width, T(0));
}

// Keys a causal query tile [i0, i0 + rows) reads: those up to its last row.
int64_t keys_read(const AttentionShape& s, int64_t i0, int64_t rows) {
  return s.causal ? std::min(s.kv_len, i0 + rows) : s.kv_len;
}

// Query rows per strip of a causal tile that the diagonal crosses.
constexpr int64_t kCausalStrip = 16;

// Calls f(r0, strip_rows, strip_cols) for the parts of the tile of query rows [i0, i0 + rows)
// and keys [j0, j0 + cols) that a query may attend to: the whole tile, or, where the causal
// diagonal crosses it, strips of kCausalStrip rows, each with only the keys up to its last
// row. The masked corner above the diagonal, half of a square tile, is then mostly neither
// multiplied nor exponentiated. (Zen 4, 2 threads, B8 H8 T512 D64: causal forward+backward
// 1.47x faster than the non-causal one with whole tiles, 1.75x with strips of 16 rows, 1.74x
// with 32; forward 1.66x, 2.0x.)
template <class F>
void for_each_causal_strip(const AttentionShape& s, int64_t i0, int64_t rows, int64_t j0,
                           int64_t cols, F&& f) {
  if (!s.causal || j0 + cols <= i0 + 1) {
    f(int64_t{0}, rows, cols);
    return;
  }
  for (int64_t r0 = 0; r0 < rows; r0 += kCausalStrip) {
    const int64_t strip = std::min(kCausalStrip, rows - r0);
    const int64_t strip_cols = std::min(cols, i0 + r0 + strip - j0);
    if (strip_cols > 0) f(r0, strip, strip_cols);
  }
}

}  // namespace

template <class T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v,
                       AttentionOperand<T> bias, AttentionOperand<uint8_t> mask, T* out, T* lse) {
  const int64_t B = s.batch, N = s.heads, K = s.kv_heads, T_ = s.q_len, S = s.kv_len;
  const int64_t D = s.head_dim, Dv = s.value_dim;
  if (B == 0 || N == 0 || T_ == 0) return;
  const int64_t q_tiles = tiles(T_, kQueryTile), heads = B * N;
  const int threads = threads_for(heads * T_ * std::max<int64_t>(1, S), kScoresPerThread);
  // A piece of work is a group of one head's query tiles, which packs the head's keys once:
  // whole heads where there are heads enough for every thread to get several.
  const int64_t groups =
      std::min(q_tiles, std::max<int64_t>(1, (4 * int64_t{threads} + heads - 1) / heads));
  // Per thread: the tile of scores, the output accumulated, m and l per row, the query tile and
  // the packed keys.
  const int64_t packed_keys = PackedTiles<T>::size(D, S);
  const int64_t per_thread =
      kQueryTile * (kKeyTile + Dv + 2 + D) + packed_keys;
  T* scratch = attention_scratch().get<T>(threads * per_thread);
  const TileDropout<T> drop{s};
  parallel_items(threads, heads * groups, [](int) {}, [&](int t, int64_t item) {
    FlushDenormalsScope flush;
    T* tile = scratch + t * per_thread;
    T* acc = tile + kQueryTile * kKeyTile;
    T* m = acc + kQueryTile * Dv;
    T* l = m + kQueryTile;
    T* q_tile = l + kQueryTile;
    const HeadView h{s, item / groups / N, item / groups % N};
    const int64_t group = item % groups;
    const int64_t first = q_tiles * group / groups * kQueryTile;
    const int64_t last = std::min(T_, q_tiles * (group + 1) / groups * kQueryTile);
    PackedTiles<T> keys(D, q_tile + kQueryTile * D);
    keys.pack(k + h.kv_offset(0, D), K * D, keys_read(s, first, last - first));
    for (int64_t i0 = first; i0 < last; i0 += kQueryTile) {
      const int64_t rows = std::min(kQueryTile, T_ - i0);
      copy_rows(q + h.q_offset(i0, D), N * D, rows, D, q_tile);
      std::fill(acc, acc + rows * Dv, T(0));
      std::fill(m, m + rows, -std::numeric_limits<T>::infinity());
      std::fill(l, l + rows, T(0));
      const int64_t read = keys_read(s, i0, rows);
      for (int64_t j0 = 0; j0 < read; j0 += kKeyTile) {
        const int64_t cols = std::min(kKeyTile, read - j0);
        for_each_causal_strip(s, i0, rows, j0, cols, [&](int64_t r0, int64_t n, int64_t c) {
          T* strip_acc = acc + r0 * Dv;
          scores(s, h, q_tile + r0 * D, keys, bias, mask, i0 + r0, n, j0, c, tile);
          FASTDL_DISPATCH(attention_online_softmax<T>(tile, n, c, kKeyTile, m + r0, l + r0,
                                                      strip_acc, Dv, Dv));
          // l has summed the probabilities whole: dropout scales what reaches the output.
          if (s.dropout > 0) drop(h, tile, tile, i0 + r0, n, j0, c);
          GemmEpilogue<T> ep;
          ep.accumulate = true;
          gemm<T>(n, Dv, c, {tile, kKeyTile, 1}, {v + h.kv_offset(j0, Dv), K * Dv, 1},
                  strip_acc, Dv, ep);
        });
      }
      FASTDL_DISPATCH(attention_finish_rows<T>(acc, Dv, m, l, rows, Dv, out + h.q_offset(i0, Dv),
                                               N * Dv, lse + (h.b * N + h.n) * T_ + i0));
    }
  });
}

template <class T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v,
                        AttentionOperand<T> bias, AttentionOperand<uint8_t> mask, const T* out,
                        const T* lse, const T* dout, T* dq, T* dk, T* dv, T* dscores) {
  const int64_t B = s.batch, N = s.heads, K = s.kv_heads, T_ = s.q_len, S = s.kv_len;
  const int64_t D = s.head_dim, Dv = s.value_dim, group = N / K;
  if (B == 0 || T_ == 0 || S == 0) {  // no query or no key: every gradient is zero
    std::fill(dq, dq + B * T_ * N * D, T(0));
    std::fill(dk, dk + B * S * K * D, T(0));
    std::fill(dv, dv + B * S * K * Dv, T(0));
    return;
  }
  const int threads = threads_for(B * N * T_ * S, kScoresPerThread);
  // Per thread: the tiles of probabilities, of their gradient and of the probabilities dropped
  // out; delta, the query and the output's gradient of one query head (rows D and Dv apart);
  // the packed key and value tiles.
  const int64_t packed_keys = PackedTiles<T>::size(D, S);
  const int64_t packed_values = PackedTiles<T>::size(Dv, S);
  const int64_t per_thread =
      3 * kQueryTile * kKeyTile + T_ * (1 + D + Dv) + packed_keys + packed_values;
  T* scratch = attention_scratch().get<T>(threads * per_thread);
  const T scale = static_cast<T>(s.scale);
  const TileDropout<T> drop{s};
  parallel_items(threads, B * K, [](int) {}, [&](int t, int64_t item) {
    FlushDenormalsScope flush;
    T* p = scratch + t * per_thread;
    T* dp = p + kQueryTile * kKeyTile;
    T* kept = dp + kQueryTile * kKeyTile;
    T* delta = kept + kQueryTile * kKeyTile;
    T* q_head = delta + T_;
    T* dout_head = q_head + T_ * D;
    const int64_t b = item / K, kv = item % K;
    const HeadView first{s, b, kv * group};
    // The gradients this piece of work owns start at zero: here rather than before the
    // parallel region, in parallel and into the caches that accumulate them.
    zero_rows(dk + first.kv_offset(0, D), K * D, S, D);
    zero_rows(dv + first.kv_offset(0, Dv), K * Dv, S, Dv);
    T* packed = dout_head + T_ * Dv;
    PackedTiles<T> keys(D, packed), values(Dv, packed + packed_keys);
    keys.pack(k + first.kv_offset(0, D), K * D, S);
    values.pack(v + first.kv_offset(0, Dv), K * Dv, S);
    for (int64_t n = kv * group; n < (kv + 1) * group; ++n) {
      const HeadView h{s, b, n};
      const T* head_lse = lse + (b * N + n) * T_;
      zero_rows(dq + h.q_offset(0, D), N * D, T_, D);
      if (dscores) zero_rows(dscores + (b * N + n) * T_ * S, S, T_, S);
      copy_rows(q + h.q_offset(0, D), N * D, T_, D, q_head);
      copy_rows(dout + h.q_offset(0, Dv), N * Dv, T_, Dv, dout_head);
      FASTDL_DISPATCH(attention_row_dots<T>(dout_head, Dv, out + h.q_offset(0, Dv), N * Dv, T_,
                                            Dv, delta));
      for (int64_t j0 = 0; j0 < S; j0 += kKeyTile) {
        const int64_t cols = std::min(kKeyTile, S - j0);
        // Causal: the query tiles from the one holding query j0 on read these keys.
        const int64_t first_row = s.causal ? j0 / kQueryTile * kQueryTile : 0;
        for (int64_t i0 = first_row; i0 < T_; i0 += kQueryTile) {
          const int64_t tile_rows = std::min(kQueryTile, T_ - i0);
          for_each_causal_strip(s, i0, tile_rows, j0, cols, [&](int64_t r0, int64_t rows,
                                                                int64_t c) {
            const int64_t i = i0 + r0;
            const T* q_tile = q_head + i * D;
            const T* dout_tile = dout_head + i * Dv;
            scores(s, h, q_tile, keys, bias, mask, i, rows, j0, c, p);
            FASTDL_DISPATCH(attention_probabilities<T>(p, rows, c, kKeyTile, head_lse + i));
            // The probabilities that weighted the values: p, or p dropped out.
            const T* weights = p;
            if (s.dropout > 0) {
              drop(h, p, kept, i, rows, j0, c);
              weights = kept;
            }
            GemmEpilogue<T> acc;
            acc.accumulate = true;
            // dv[j0:] += weights^T dout
            gemm<T>(c, Dv, rows, {weights, 1, kKeyTile}, {dout_tile, Dv, 1},
                    dv + h.kv_offset(j0, Dv), K * Dv, acc);
            // dp = dout v^T (the dropout mask applied by the score gradient)
            gemm_with_packed_b<T>(rows, c, Dv, {dout_tile, Dv, 1}, values.tile(j0), dp,
                                  kKeyTile, GemmEpilogue<T>{});
            FASTDL_DISPATCH(attention_score_gradient<T>(p, dp, rows, c, kKeyTile, delta + i,
                                                        s.dropout > 0 ? kept : nullptr,
                                                        drop.scale));
            if (dscores) {
              for (int64_t r = 0; r < rows; ++r) {
                std::copy(p + r * kKeyTile, p + r * kKeyTile + c,
                          dscores + ((b * N + n) * T_ + i + r) * S + j0);
              }
            }
            GemmEpilogue<T> scaled = acc;
            scaled.alpha = scale;
            // dq[i:] += scale ds k; dk[j0:] += scale ds^T q
            gemm<T>(rows, D, c, {p, kKeyTile, 1}, {k + h.kv_offset(j0, D), K * D, 1},
                    dq + h.q_offset(i, D), N * D, scaled);
            gemm<T>(c, D, rows, {p, 1, kKeyTile}, {q_tile, D, 1}, dk + h.kv_offset(j0, D),
                    K * D, scaled);
          });
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
