// _cuda.gemm / _cuda.column_sum / _cuda.gemm_versions / _cuda.gemm_default_version.
#include "gemm.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "common.h"
#include "common/activation_names.h"
#include "common/checks.h"

namespace fastdl::cuda::bindings {

using namespace fastdl::bindings;  // the checks both extensions share (csrc/common/)

namespace {

// A C-contiguous matrix, or batch of matrices, used as it is stored or transposed.
struct MatrixOperand {
  ArrayView array;
  bool trans;

  int64_t stored_rows() const { return array.dim(-2); }
  int64_t stored_cols() const { return array.dim(-1); }
  int64_t rows() const { return trans ? stored_cols() : stored_rows(); }
  int64_t cols() const { return trans ? stored_rows() : stored_cols(); }
  int64_t batch() const { return array.ndim() == 3 ? array.dim(0) : 1; }
  // One matrix (2-D, or a batch of 1) serves every product of the batch.
  int64_t batch_stride() const { return batch() == 1 ? 0 : stored_rows() * stored_cols(); }

  StridedMatrix<float> strided() const {
    const float* data = array.data<float>();
    return trans ? StridedMatrix<float>{data, 1, stored_cols()}
                 : StridedMatrix<float>{data, stored_cols(), 1};
  }

  // "a has shape (3, 4)", or "a has shape (4, 3), used transposed".
  std::string describe(const char* name) const {
    return std::string(name) + " has shape " + array.shape_str() +
           (trans ? ", used transposed" : "");
  }
};

void require_float32(const std::string& op, const char* name, const ArrayView& a) {
  require_dtype(op, name, a, DType::float32);
}

// ValueError when the output shares memory with an input: the kernels read the inputs while
// other blocks write the output.
void require_disjoint(const std::string& op, const ArrayView& out, const char* name,
                      const ArrayView& in) {
  const auto begin = [](const ArrayView& a) { return reinterpret_cast<std::uintptr_t>(a.ptr); };
  const auto end = [&](const ArrayView& a) { return begin(a) + 4 * a.size(); };
  if (out.size() == 0 || in.size() == 0 || end(out) <= begin(in) || end(in) <= begin(out)) return;
  throw py::value_error(op + ": out (shape " + out.shape_str() + ") overlaps " + name +
                        " (shape " + in.shape_str() + "); the product needs an output of its own");
}

void gemm_entry(const py::handle& a, const py::handle& b, const py::handle& out,
                const py::handle& bias, const std::string& activation, double act_alpha,
                double alpha, bool accumulate, bool trans_a, bool trans_b, int version,
                std::uintptr_t stream, const std::string& op) {
  const MatrixOperand A{device_array(op, "a", a), trans_a}, B{device_array(op, "b", b), trans_b};
  const ArrayView C = device_array(op, "out", out);
  require_float32(op, "a", A.array);
  require_float32(op, "b", B.array);
  require_float32(op, "out", C);
  const auto shapes = [&] { return A.describe("a") + " but " + B.describe("b"); };
  for (const ArrayView* x : {&A.array, &B.array}) {
    if (x->ndim() < 2 || x->ndim() > 3) {
      throw py::value_error(op + ": a and b must be 2-D or 3-D (a batch of matrices); " +
                            shapes());
    }
  }
  if (A.cols() != B.rows()) {
    throw py::value_error(op + ": " + shapes() + "; inner dimensions " + std::to_string(A.cols()) +
                          " and " + std::to_string(B.rows()) + " differ");
  }
  if (A.batch() != B.batch() && A.batch() != 1 && B.batch() != 1) {
    throw py::value_error(op + ": " + shapes() + "; batch sizes " + std::to_string(A.batch()) +
                          " and " + std::to_string(B.batch()) + " differ");
  }
  const int64_t batch = std::max(A.batch(), B.batch());
  const int64_t M = A.rows(), K = A.cols(), N = B.cols();
  std::vector<int64_t> out_shape = {M, N};
  std::string product = "a product of " + std::to_string(M) + " x " + std::to_string(K) +
                        " and " + std::to_string(K) + " x " + std::to_string(N) + " matrices";
  if (A.array.ndim() == 3 || B.array.ndim() == 3) {
    out_shape.insert(out_shape.begin(), batch);
    product = "a batch of " + std::to_string(batch) + " products of " + std::to_string(M) +
              " x " + std::to_string(K) + " and " + std::to_string(K) + " x " +
              std::to_string(N) + " matrices";
  }
  require_shape(op, "out", C, out_shape, product);
  const ArrayView bias_array = optional_device_array(op, "bias", bias);
  if (!bias.is_none()) {
    require_float32(op, "bias", bias_array);
    require_shape(op, "bias", bias_array, {N}, "a product with " + std::to_string(N) + " columns");
    require_disjoint(op, C, "bias", bias_array);
  }
  require_disjoint(op, C, "a", A.array);
  require_disjoint(op, C, "b", B.array);
  const Activation act = parse_activation(op.c_str(), activation);
  const int first = static_cast<int>(kGemmVersions[0]);
  const int last = static_cast<int>(kGemmVersions[std::size(kGemmVersions) - 1]);
  if (version < first || version > last) {
    throw py::value_error(op + ": version must be " + std::to_string(first) + " to " +
                          std::to_string(last) + " (see gemm_versions()); got " +
                          std::to_string(version));
  }

  GemmEpilogue<float> ep;
  ep.alpha = static_cast<float>(alpha);
  ep.bias = bias.is_none() ? nullptr : bias_array.data<float>();
  ep.act = act;
  ep.act_alpha = static_cast<float>(act_alpha);
  ep.accumulate = accumulate;
  py::gil_scoped_release release;
  gemm_batched(batch, M, N, K, A.strided(), A.batch_stride(), B.strided(), B.batch_stride(),
               C.data<float>(), N, ep, static_cast<GemmVersion>(version), as_stream(stream));
}

void column_sum_entry(const py::handle& x, const py::handle& out, std::uintptr_t stream) {
  const std::string op = "column_sum";
  const ArrayView xa = device_array(op, "x", x), o = device_array(op, "out", out);
  require_float32(op, "x", xa);
  require_float32(op, "out", o);
  if (xa.ndim() != 2) {
    throw py::value_error(op + ": x must be 2-D (rows, columns); got shape " + xa.shape_str());
  }
  require_shape(op, "out", o, {xa.dim(1)}, "x of shape " + xa.shape_str());
  require_disjoint(op, o, "x", xa);
  py::gil_scoped_release release;
  column_sum(xa.dim(0), xa.dim(1), xa.data<float>(), o.data<float>(), as_stream(stream));
}

py::dict versions() {
  py::dict names;
  for (const GemmVersion v : kGemmVersions) {
    names[py::int_(static_cast<int>(v))] = gemm_version_name(v);
  }
  return names;
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", &gemm_entry, py::arg("a"), py::arg("b"), py::arg("out"), py::arg("bias"),
        py::arg("activation"), py::arg("act_alpha"), py::arg("alpha"), py::arg("accumulate"),
        py::arg("trans_a"), py::arg("trans_b"), py::arg("version"), py::arg("stream"),
        py::arg("op") = "gemm",
        R"(out = act(alpha * op(a) @ op(b) + bias) (+ out first when accumulating), float32.

a, b and out are C-contiguous GPU arrays, 2-D or 3-D (a batch); a 2-D operand, or a batch of
one, is shared by every product of the batch. op(a) is a.T (the last two axes swapped) when
trans_a, likewise for b: a transposed view is passed as the array it views. bias is (N,) or
None. `version` picks the kernel (gemm_versions()); `op` names the operation in error messages.)");
  m.def("column_sum", &column_sum_entry, py::arg("x"), py::arg("out"), py::arg("stream"),
        "out[j] = sum over i of x[i, j] for a 2-D float32 GPU array x (a bias gradient).");
  m.def("gemm_versions", &versions, "The GEMM kernel versions: {number: description}.");
  m.def("gemm_default_version", [](bool allow_tf32) {
    return static_cast<int>(default_gemm_version(allow_tf32));
  }, py::arg("allow_tf32"), "The kernel version gemm uses unless told: TF32 when allowed.");
}

}  // namespace fastdl::cuda::bindings
