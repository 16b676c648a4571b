// _C.axpy, the in-place parameter update on NumPy arrays, and the fused optimizer steps
// _C.sgd_step, _C.adam_step and _C.rmsprop_step: one call updates every parameter of a model.
#include <string>
#include <vector>

#include "common/checks.h"
#include "common/optim_options.h"
#include "contiguous.h"
#include "fastdl/optim.h"

namespace fastdl::bindings {
namespace {

template <class T>
void axpy_typed(double alpha, const py::array& x, py::array& y) {
  const auto xc = contiguous<T>(x);
  T* out = static_cast<T*>(y.mutable_data());
  py::gil_scoped_release release;
  axpy<T>(static_cast<int64_t>(y.size()), static_cast<T>(alpha), xc.data(), out);
}

void axpy_entry(double alpha, const py::array& x, py::array y) {
  const ArrayView xv(x), yv(y);
  require_float("axpy", "x", xv);
  require_same_dtype("axpy", "x", xv, "y", yv);
  require_same_shape("axpy", "x", xv, "y", yv);
  if (!y.writeable() || !(y.flags() & py::array::c_style)) {
    throw py::value_error("axpy: y (shape " + yv.shape_str() +
                          ") must be a writeable C-contiguous array: it is updated in place");
  }
  if (yv.dtype == DType::float32) {
    axpy_typed<float>(alpha, x, y);
  } else {
    axpy_typed<double>(alpha, x, y);
  }
}

// ---------------------------------------------------------------- fused optimizer steps

py::array array_item(const std::string& op, const char* what, size_t i, const py::handle& obj) {
  if (!py::isinstance<py::array>(obj)) {
    throw py::type_error(op + ": " + what + " " + std::to_string(i) + " is a " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>() +
                         ", not a NumPy array");
  }
  return py::reinterpret_borrow<py::array>(obj);
}

void require_updatable(const std::string& op, const std::string& what, size_t i,
                       const py::array& a) {
  if (!a.writeable() || !(a.flags() & py::array::c_style)) {
    throw py::value_error(op + ": " + what + " " + std::to_string(i) + " (shape " +
                          ArrayView(a).shape_str() +
                          ") must be a writeable C-contiguous array: it is updated in place");
  }
}

// The arrays of one step, validated, with the gradients converted where needed (kept alive
// here until the step is done).
struct StepArrays {
  std::vector<OptimTensor> tensors;
  std::vector<py::object> converted;
};

template <class T>
const void* gradient_data(const std::string& op, size_t i, const py::array& g,
                          const ArrayView& gv, std::vector<py::object>& keep) {
  using Contiguous = py::array_t<T, py::array::c_style | py::array::forcecast>;
  if (Contiguous::check_(g)) return g.data();
  // Another dtype, or strided: a contiguous copy in the parameter's dtype (Keras casts the
  // gradient to the variable's dtype too). The caller's array is not modified.
  Contiguous copy = Contiguous::ensure(g);
  if (!copy) {
    throw py::type_error(op + ": gradient " + std::to_string(i) + " (shape " + gv.shape_str() +
                         ", dtype " + gv.dtype_name() + ") cannot be converted to " +
                         py::str(py::dtype::of<T>()).cast<std::string>());
  }
  keep.push_back(copy);
  return copy.data();
}

StepArrays gather(const std::string& op, const py::handle& params_obj,
                  const py::handle& grads_obj, const std::vector<StateArg>& states) {
  const StepLists lists = step_lists(op, params_obj, grads_obj, states);
  const py::sequence& params = lists.params;
  const py::sequence& grads = lists.grads;
  const std::vector<py::sequence>& state_lists = lists.states;
  const size_t n = lists.size;

  StepArrays out;
  out.tensors.resize(n);
  for (size_t i = 0; i < n; ++i) {
    OptimTensor& t = out.tensors[i];
    const py::object p_obj = params[i], g_obj = grads[i];
    py::array p = array_item(op, "parameter", i, p_obj);
    const ArrayView pv(p);
    if (pv.dtype != DType::float32 && pv.dtype != DType::float64) {
      throw py::type_error(op + ": parameter " + std::to_string(i) + " (shape " + pv.shape_str() +
                           ") has dtype " + pv.dtype_name() + "; expected float32 or float64");
    }
    require_updatable(op, "parameter", i, p);
    t.is_double = pv.dtype == DType::float64;
    t.param = p.mutable_data();
    t.size = static_cast<int64_t>(p.size());

    const py::array g = array_item(op, "gradient", i, g_obj);
    const ArrayView gv(g);
    require_parameter_shape(op, "gradient", i, gv, pv);
    t.grad = t.is_double ? gradient_data<double>(op, i, g, gv, out.converted)
                         : gradient_data<float>(op, i, g, gv, out.converted);

    for (size_t k = 0; k < 3; ++k) {
      t.state[k] = nullptr;
      if (k >= states.size() || !state_lists[k]) continue;
      const std::string what = std::string("'") + states[k].name + "' state";
      const py::object s_obj = state_lists[k][i];
      py::array s = array_item(op, what.c_str(), i, s_obj);
      const ArrayView sv(s);
      require_parameter_shape(op, what, i, sv, pv);
      if (sv.dtype != pv.dtype) {
        throw py::type_error(op + ": " + what + " " + std::to_string(i) + " has dtype " +
                             sv.dtype_name() + " but parameter " + std::to_string(i) +
                             " has dtype " + pv.dtype_name() + "; they must match");
      }
      require_updatable(op, what, i, s);
      t.state[k] = s.mutable_data();
    }
  }
  return out;
}

void sgd_entry(const py::object& params, const py::object& grads, const py::object& momentums,
               double learning_rate, double momentum, bool nesterov,
               const py::object& weight_decay, const py::object& clipvalue,
               const py::object& clipnorm, const py::object& global_clipnorm) {
  const std::string op = "sgd";
  const SgdOptions o = sgd_options(op, learning_rate, momentum, nesterov, weight_decay, momentums);
  const GradClip clip = parse_clip(op, clipvalue, clipnorm, global_clipnorm);
  const StepArrays arrays = gather(op, params, grads, {{"momentum", momentums}});
  py::gil_scoped_release release;
  sgd_step(arrays.tensors, o, clip);
}

void adam_entry(const py::object& params, const py::object& grads, const py::object& m,
                const py::object& v, const py::object& v_hat, int64_t step, double learning_rate,
                double beta_1, double beta_2, double epsilon, const py::object& weight_decay,
                const py::object& clipvalue, const py::object& clipnorm,
                const py::object& global_clipnorm) {
  const std::string op = "adam";
  const AdamOptions o = adam_options(op, step, learning_rate, beta_1, beta_2, epsilon,
                                     weight_decay, m, v, v_hat);
  const GradClip clip = parse_clip(op, clipvalue, clipnorm, global_clipnorm);
  const StepArrays arrays = gather(op, params, grads, {{"m", m}, {"v", v}, {"v_hat", v_hat}});
  py::gil_scoped_release release;
  adam_step(arrays.tensors, o, clip);
}

void rmsprop_entry(const py::object& params, const py::object& grads,
                   const py::object& velocities, const py::object& momentums,
                   const py::object& average_grads, double learning_rate, double rho,
                   double momentum, double epsilon, const py::object& weight_decay,
                   const py::object& clipvalue, const py::object& clipnorm,
                   const py::object& global_clipnorm) {
  const std::string op = "rmsprop";
  const RmspropOptions o = rmsprop_options(op, learning_rate, rho, momentum, epsilon,
                                           weight_decay, velocities, momentums, average_grads);
  const GradClip clip = parse_clip(op, clipvalue, clipnorm, global_clipnorm);
  const StepArrays arrays = gather(
      op, params, grads,
      {{"velocity", velocities}, {"momentum", momentums}, {"average_gradient", average_grads}});
  py::gil_scoped_release release;
  rmsprop_step(arrays.tensors, o, clip);
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("axpy", &axpy_entry, py::arg("alpha"), py::arg("x"), py::arg("y"),
        "y += alpha * x in place (same shape and dtype; y C-contiguous and writeable).");

  const char* common =
      "\n\nparams: list of float32/float64 C-contiguous writeable arrays, updated in place; "
      "grads: arrays of the same shapes (converted to the parameter's dtype when needed, never "
      "modified). State lists hold one array per parameter of its shape and dtype, updated in "
      "place. weight_decay: None or p -= lr * weight_decay * p before the update. clipvalue, "
      "clipnorm, global_clipnorm: None/0/inf for no clipping, at most one set (Keras semantics; "
      "a gradient whose norm is infinite clips to the direction of its infinite elements, a NaN "
      "makes what its norm scales NaN). Everything is validated before anything is updated.";
  m.def("sgd_step", &sgd_entry, py::arg("params"), py::arg("grads"), py::arg("momentums"),
        py::arg("learning_rate"), py::arg("momentum"), py::arg("nesterov"),
        py::arg("weight_decay"), py::arg("clipvalue"), py::arg("clipnorm"),
        py::arg("global_clipnorm"),
        (std::string("One SGD step over all parameters (Keras 3's formula): m = momentum * m - "
                     "lr * g; p += m, or p += momentum * m - lr * g with nesterov; p -= lr * g "
                     "when momentum == 0 (momentums None).") +
         common)
            .c_str());
  m.def("adam_step", &adam_entry, py::arg("params"), py::arg("grads"), py::arg("m"),
        py::arg("v"), py::arg("v_hat"), py::arg("step"), py::arg("learning_rate"),
        py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("weight_decay"),
        py::arg("clipvalue"), py::arg("clipnorm"), py::arg("global_clipnorm"),
        (std::string("One Adam/AdamW step over all parameters (Keras 3's formula), step t >= 1: "
                     "alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); m += (g - m) * (1 - "
                     "beta_1); v += (g^2 - v) * (1 - beta_2); p -= alpha * m / (sqrt(v) + "
                     "epsilon). v_hat: None, or AMSGrad's running max of v, used in its place.") +
         common)
            .c_str());
  m.def("rmsprop_step", &rmsprop_entry, py::arg("params"), py::arg("grads"),
        py::arg("velocities"), py::arg("momentums"), py::arg("average_grads"),
        py::arg("learning_rate"), py::arg("rho"), py::arg("momentum"), py::arg("epsilon"),
        py::arg("weight_decay"), py::arg("clipvalue"), py::arg("clipnorm"),
        py::arg("global_clipnorm"),
        (std::string("One RMSprop step over all parameters (Keras 3's formula): v = rho * v + "
                     "(1 - rho) * g^2; centered (average_grads given): a = rho * a + (1 - rho) * "
                     "g, d = v - a^2 + epsilon, else d = v + epsilon; inc = lr * g / sqrt(d); "
                     "momentums given (momentum > 0): mom = momentum * mom + inc, p -= mom; else "
                     "p -= inc.") +
         common)
            .c_str());
}

}  // namespace fastdl::bindings
