// _C.norm_forward / _C.norm_backward: layer normalization and its relatives (fastdl/norm.h)
// along the last axis of arrays of any rank >= 1.
#include <string>
#include <vector>

#include "common/checks.h"
#include "contiguous.h"
#include "fastdl/norm.h"

namespace fastdl::bindings {
namespace {

NormKind parse_kind(const std::string& op, const std::string& kind) {
  if (kind == "layer") return NormKind::layer;
  if (kind == "rms") return NormKind::rms;
  if (kind == "variance_scaling") return NormKind::variance_scaling;
  throw py::value_error(op + ": unknown kind '" + kind +
                        "'; expected 'layer', 'rms' or 'variance_scaling'");
}

// None, or a float array of x's dtype with one value per element of a row.
void check_per_column(const std::string& op, const char* name, const py::object& a,
                      const ArrayView& x, int64_t cols) {
  if (a.is_none()) return;
  const ArrayView av(py::reinterpret_borrow<py::array>(a));
  require_same_dtype(op, "x", x, name, av);
  require_shape(op, name, av, {cols}, "one value per element of the normalized axis");
}

template <class T>
py::tuple forward_typed(NormKind kind, const py::array& x, const py::object& gamma,
                        const py::object& beta, double epsilon, RowsCols rc) {
  const auto xc = contiguous<T>(x);
  const auto gc = optional_contiguous<T>(gamma), bc = optional_contiguous<T>(beta);
  auto y = empty_like<T>(x);
  const std::vector<int64_t> rows_shape(x.shape(), x.shape() + x.ndim() - 1);
  auto rstd = new_array<T>(rows_shape);
  T* y_p = y.mutable_data();
  T* rstd_p = rstd.mutable_data();
  {
    py::gil_scoped_release release;
    norm_forward<T>(kind, xc.data(), rc.rows, rc.cols, data_or_null(gc), data_or_null(bc),
                    static_cast<T>(epsilon), y_p, rstd_p);
  }
  return py::make_tuple(std::move(y), std::move(rstd));
}

py::tuple forward_entry(const py::array& x, const py::object& gamma, const py::object& beta,
                        double epsilon, const std::string& kind_name) {
  const std::string op = "norm_forward";
  const NormKind kind = parse_kind(op, kind_name);
  const ArrayView xv(x);
  require_float(op, "x", xv);
  const RowsCols rc = rows_cols(op, "x", xv);
  check_per_column(op, "gamma", gamma, xv, rc.cols);
  check_per_column(op, "beta", beta, xv, rc.cols);
  if (kind != NormKind::layer && !beta.is_none()) {
    throw py::value_error(op + ": kind '" + kind_name + "' takes no beta (it does not center)");
  }
  if (xv.dtype == DType::float32) return forward_typed<float>(kind, x, gamma, beta, epsilon, rc);
  return forward_typed<double>(kind, x, gamma, beta, epsilon, rc);
}

template <class T>
py::tuple backward_typed(NormKind kind, const py::array& grad, const py::array& x,
                         const py::object& gamma, const py::array& rstd, bool need_gamma,
                         bool need_beta, RowsCols rc) {
  const auto dyc = contiguous<T>(grad), xc = contiguous<T>(x), rc_ = contiguous<T>(rstd);
  const auto gc = optional_contiguous<T>(gamma);
  auto dx = empty_like<T>(x);
  py::object dgamma, dbeta;
  T* dgamma_p = new_array_if<T>(need_gamma, {rc.cols}, dgamma);
  T* dbeta_p = new_array_if<T>(need_beta, {rc.cols}, dbeta);
  T* dx_p = dx.mutable_data();
  {
    py::gil_scoped_release release;
    norm_backward<T>(kind, dyc.data(), xc.data(), rc.rows, rc.cols, data_or_null(gc),
                     rc_.data(), dx_p, dgamma_p, dbeta_p);
  }
  return py::make_tuple(std::move(dx), dgamma, dbeta);
}

py::tuple backward_entry(const py::array& grad, const py::array& x, const py::object& gamma,
                         const py::array& rstd, const std::string& kind_name, bool need_gamma,
                         bool need_beta) {
  const std::string op = "norm_backward";
  const NormKind kind = parse_kind(op, kind_name);
  const ArrayView dyv(grad), xv(x), rv(rstd);
  require_float(op, "grad", dyv);
  require_same_dtype(op, "grad", dyv, "x", xv);
  require_same_shape(op, "grad", dyv, "x", xv);
  const RowsCols rc = rows_cols(op, "x", xv);
  require_same_dtype(op, "x", xv, "rstd", rv);
  require_shape(op, "rstd", rv, std::vector<int64_t>(xv.shape.begin(), xv.shape.end() - 1),
                "one value per row of x (x.shape[:-1])");
  check_per_column(op, "gamma", gamma, xv, rc.cols);
  if (kind != NormKind::layer && need_beta) {
    throw py::value_error(op + ": kind '" + kind_name + "' has no beta to differentiate");
  }
  if (xv.dtype == DType::float32) {
    return backward_typed<float>(kind, grad, x, gamma, rstd, need_gamma, need_beta, rc);
  }
  return backward_typed<double>(kind, grad, x, gamma, rstd, need_gamma, need_beta, rc);
}

}  // namespace

void bind_norm(py::module_& m) {
  m.def("norm_forward", &forward_entry, py::arg("x"), py::arg("gamma"), py::arg("beta"),
        py::arg("epsilon"), py::arg("kind"),
        R"(Normalizes x along its last axis: kind 'layer' ((x - mean) / sqrt(var + epsilon)),
'rms' (x / sqrt(mean(x^2) + epsilon)) or 'variance_scaling' (x / sqrt(var + epsilon)); then
times gamma and plus beta (layer only), each None or of shape (x.shape[-1],). Returns (y, rstd),
rstd the 1 / sqrt(...) of each row, of shape x.shape[:-1].)");
  m.def("norm_backward", &backward_entry, py::arg("grad"), py::arg("x"), py::arg("gamma"),
        py::arg("rstd"), py::arg("kind"), py::arg("need_gamma"), py::arg("need_beta"),
        R"(Gradients (dx, dgamma, dbeta) of norm_forward from grad and its rstd; an unneeded
gradient is None. dgamma and dbeta are summed in an order that does not depend on the thread
count.)");
}

}  // namespace fastdl::bindings
