// _C.attention_forward / _C.attention_backward: scaled dot-product attention in Keras's layout
// (fastdl/attention.h). The bias and the mask come as arrays of shape (B, N, T, S) that may be
// broadcast views (strides of 0): they are read in place, never expanded.
#include <string>
#include <vector>

#include "common/checks.h"
#include "contiguous.h"
#include "fastdl/attention.h"

namespace fastdl::bindings {
namespace {

// The shapes of q (B, T, N, D), k (B, S, K, D) and v (B, S, K, Dv), checked against each other.
AttentionShape attention_shape(const std::string& op, const ArrayView& q, const ArrayView& k,
                               const ArrayView& v, double scale, bool causal, double dropout,
                               uint64_t seed) {
  require_float(op, "query", q);
  require_same_dtype(op, "query", q, "key", k);
  require_same_dtype(op, "query", q, "value", v);
  auto shapes = [&] {
    return "query " + q.shape_str() + ", key " + k.shape_str() + ", value " + v.shape_str();
  };
  if (q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4) {
    throw py::value_error(op + ": expected 4-D (batch, length, heads, dim) arrays; got " +
                          shapes());
  }
  if (k.dim(0) != q.dim(0) || v.dim(0) != q.dim(0) || v.dim(1) != k.dim(1) ||
      v.dim(2) != k.dim(2) || k.dim(3) != q.dim(3)) {
    throw py::value_error(op + ": " + shapes() + " do not match: expected query (B, T, N, D), "
                          "key (B, S, K, D) and value (B, S, K, Dv)");
  }
  if (k.dim(2) == 0 || q.dim(2) % k.dim(2) != 0) {
    throw py::value_error(op + ": " + shapes() + ": the query's " + std::to_string(q.dim(2)) +
                          " heads must be a multiple of the key's " + std::to_string(k.dim(2)));
  }
  if (!(dropout >= 0.0 && dropout < 1.0)) {
    throw py::value_error(op + ": dropout must be in [0, 1); got " + std::to_string(dropout));
  }
  AttentionShape s{q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3), v.dim(3),
                   scale,    causal};
  s.dropout = dropout;
  s.seed = seed;
  return s;
}

std::vector<int64_t> scores_shape(const AttentionShape& s) {
  return {s.batch, s.heads, s.q_len, s.kv_len};
}

// An optional (B, N, T, S) operand read in place through its strides.
template <class E>
AttentionOperand<E> operand_view(const std::string& op, const char* name, const py::object& a,
                                 const AttentionShape& s) {
  AttentionOperand<E> view;
  if (a.is_none()) return view;
  const auto arr = py::reinterpret_borrow<py::array>(a);
  const ArrayView av(arr);
  require_shape(op, name, av, scores_shape(s), "(batch, heads, query length, key length)");
  for (int i = 0; i < 4; ++i) {
    if (arr.strides(i) % static_cast<py::ssize_t>(sizeof(E)) != 0) {
      throw py::value_error(op + ": " + name + " has strides that are not whole elements");
    }
    view.stride[i] = arr.strides(i) / static_cast<py::ssize_t>(sizeof(E));
  }
  view.data = static_cast<const E*>(arr.data());
  return view;
}

template <class T>
AttentionOperand<T> bias_view(const std::string& op, const py::object& bias, const ArrayView& q,
                              const AttentionShape& s) {
  if (!bias.is_none()) {
    require_same_dtype(op, "query", q, "bias", ArrayView(py::reinterpret_borrow<py::array>(bias)));
  }
  return operand_view<T>(op, "bias", bias, s);
}

AttentionOperand<uint8_t> mask_view(const std::string& op, const py::object& mask,
                                    const AttentionShape& s) {
  if (!mask.is_none()) {
    const auto arr = py::reinterpret_borrow<py::array>(mask);
    if (arr.dtype().kind() != 'b' && arr.dtype().kind() != 'u' && arr.itemsize() != 1) {
      throw py::type_error(op + ": mask has dtype " + std::string(py::str(arr.dtype())) +
                           "; expected bool");
    }
  }
  return operand_view<uint8_t>(op, "mask", mask, s);
}

template <class T>
py::tuple forward_typed(const AttentionShape& s, const py::array& q, const py::array& k,
                        const py::array& v, AttentionOperand<T> bias,
                        AttentionOperand<uint8_t> mask) {
  const auto qc = contiguous<T>(q), kc = contiguous<T>(k), vc = contiguous<T>(v);
  auto out = new_array<T>({s.batch, s.q_len, s.heads, s.value_dim});
  auto lse = new_array<T>({s.batch, s.heads, s.q_len});
  T* out_p = out.mutable_data();
  T* lse_p = lse.mutable_data();
  {
    py::gil_scoped_release release;
    attention_forward<T>(s, qc.data(), kc.data(), vc.data(), bias, mask, out_p, lse_p);
  }
  return py::make_tuple(std::move(out), std::move(lse));
}

py::tuple forward_entry(const py::array& q, const py::array& k, const py::array& v,
                        const py::object& bias, const py::object& mask, double scale,
                        bool causal, double dropout, uint64_t seed) {
  const std::string op = "dot_product_attention";
  const ArrayView qv(q);
  const AttentionShape s =
      attention_shape(op, qv, ArrayView(k), ArrayView(v), scale, causal, dropout, seed);
  const auto m = mask_view(op, mask, s);
  if (qv.dtype == DType::float32) {
    return forward_typed<float>(s, q, k, v, bias_view<float>(op, bias, qv, s), m);
  }
  return forward_typed<double>(s, q, k, v, bias_view<double>(op, bias, qv, s), m);
}

template <class T>
py::tuple backward_typed(const AttentionShape& s, const py::array& q, const py::array& k,
                         const py::array& v, AttentionOperand<T> bias,
                         AttentionOperand<uint8_t> mask, const py::array& out,
                         const py::array& lse, const py::array& dout, bool need_dscores) {
  const auto qc = contiguous<T>(q), kc = contiguous<T>(k), vc = contiguous<T>(v);
  const auto oc = contiguous<T>(out), lc = contiguous<T>(lse), dc = contiguous<T>(dout);
  auto dq = empty_like<T>(q);
  auto dk = empty_like<T>(k);
  auto dv = empty_like<T>(v);
  py::object dscores;
  T* ds_p = new_array_if<T>(need_dscores, {s.batch, s.heads, s.q_len, s.kv_len}, dscores);
  T* dq_p = dq.mutable_data();
  T* dk_p = dk.mutable_data();
  T* dv_p = dv.mutable_data();
  {
    py::gil_scoped_release release;
    attention_backward<T>(s, qc.data(), kc.data(), vc.data(), bias, mask, oc.data(), lc.data(),
                          dc.data(), dq_p, dk_p, dv_p, ds_p);
  }
  return py::make_tuple(std::move(dq), std::move(dk), std::move(dv), dscores);
}

py::tuple backward_entry(const py::array& q, const py::array& k, const py::array& v,
                         const py::object& bias, const py::object& mask, double scale,
                         bool causal, const py::array& out, const py::array& lse,
                         const py::array& dout, bool need_dscores, double dropout,
                         uint64_t seed) {
  const std::string op = "dot_product_attention_backward";
  const ArrayView qv(q), ov(out), lv(lse), dv(dout);
  const AttentionShape s =
      attention_shape(op, qv, ArrayView(k), ArrayView(v), scale, causal, dropout, seed);
  const std::vector<int64_t> out_shape{s.batch, s.q_len, s.heads, s.value_dim};
  for (const auto& [name, view] : {std::pair<const char*, const ArrayView&>{"out", ov},
                                   std::pair<const char*, const ArrayView&>{"grad", dv}}) {
    require_same_dtype(op, "query", qv, name, view);
    require_shape(op, name, view, out_shape, "the output's (batch, length, heads, value dim)");
  }
  require_same_dtype(op, "query", qv, "lse", lv);
  require_shape(op, "lse", lv, {s.batch, s.heads, s.q_len}, "(batch, heads, query length)");
  const auto m = mask_view(op, mask, s);
  if (qv.dtype == DType::float32) {
    return backward_typed<float>(s, q, k, v, bias_view<float>(op, bias, qv, s), m, out, lse,
                                 dout, need_dscores);
  }
  return backward_typed<double>(s, q, k, v, bias_view<double>(op, bias, qv, s), m, out, lse,
                                dout, need_dscores);
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("attention_forward", &forward_entry, py::arg("query"), py::arg("key"), py::arg("value"),
        py::arg("bias"), py::arg("mask"), py::arg("scale"), py::arg("causal"),
        py::arg("dropout") = 0.0, py::arg("seed") = 0,
        R"(Scaled dot-product attention: query (B, T, N, D), key (B, S, K, D), value (B, S, K, Dv),
N a multiple of K; bias (float) and mask (bool, True = attend) None or (B, N, T, S), possibly
broadcast views. Returns (out (B, T, N, Dv), lse (B, N, T)); a row with nothing to attend to
gives zeros and an lse of +inf. With dropout > 0 the probabilities are dropped out with the mask
dropout_forward(ones((B, N, T, S)), dropout, seed) would draw.)");
  m.def("attention_backward", &backward_entry, py::arg("query"), py::arg("key"),
        py::arg("value"), py::arg("bias"), py::arg("mask"), py::arg("scale"), py::arg("causal"),
        py::arg("out"), py::arg("lse"), py::arg("grad"), py::arg("need_dscores"),
        py::arg("dropout") = 0.0, py::arg("seed") = 0,
        R"(Gradients (dq, dk, dv, dscores) of attention_forward from grad (with the forward's
dropout and seed); dscores (B, N, T, S), the scores' gradient (the bias's before its broadcast
axes are summed), only when need_dscores, else None.)");
}

}  // namespace fastdl::bindings
