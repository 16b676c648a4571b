// _cuda.axpy and the fused optimizer steps _cuda.sgd_step / adam_step / rmsprop_step on float32
// GPU arrays: the arguments of fastdl._C's, in the same order and with the same checks and
// messages where they apply, plus the stream.
#include "optim.h"

#include <string>
#include <vector>

#include "common.h"
#include "common/checks.h"
#include "common/optim_options.h"

namespace fastdl::cuda::bindings {

using namespace fastdl::bindings;  // the checks both extensions share (csrc/common/)

namespace {

void axpy_entry(double alpha, const py::handle& x, const py::handle& y, std::uintptr_t stream) {
  const std::string op = "axpy";
  const ArrayView xa = device_array(op, "x", x), ya = device_array(op, "y", y);
  require_dtype(op, "x", xa, DType::float32);
  require_dtype(op, "y", ya, DType::float32);
  require_same_shape(op, "x", xa, "y", ya);
  py::gil_scoped_release release;
  axpy(ya.size(), static_cast<float>(alpha), xa.data<float>(), ya.data<float>(),
       as_stream(stream));
}

// ---------------------------------------------------------------- fused optimizer steps

// Item i of a list: a float32 GPU array (the gradients arrive converted by the Python layer).
ArrayView float32_item(const std::string& op, const std::string& what, size_t i,
                       const py::handle& obj) {
  const std::string name = what + " " + std::to_string(i);
  ArrayView a = device_array(op, name.c_str(), obj);
  require_dtype(op, name.c_str(), a, DType::float32);
  return a;
}

std::vector<OptimTensor> gather(const std::string& op, const py::handle& params_obj,
                                const py::handle& grads_obj, const std::vector<StateArg>& states) {
  const StepLists lists = step_lists(op, params_obj, grads_obj, states);
  const py::sequence& params = lists.params;
  const py::sequence& grads = lists.grads;
  const std::vector<py::sequence>& state_lists = lists.states;
  const size_t n = lists.size;

  std::vector<OptimTensor> tensors(n);
  for (size_t i = 0; i < n; ++i) {
    const ArrayView p = float32_item(op, "parameter", i, params[i]);
    const ArrayView g = float32_item(op, "gradient", i, grads[i]);
    require_parameter_shape(op, "gradient", i, g, p);
    OptimTensor& t = tensors[i];
    t.param = p.ptr;
    t.grad = g.ptr;
    t.size = p.size();
    t.is_double = false;
    for (size_t k = 0; k < 3; ++k) {
      t.state[k] = nullptr;
      if (k >= states.size() || !state_lists[k]) continue;
      const std::string what = std::string("'") + states[k].name + "' state";
      const ArrayView s = float32_item(op, what, i, state_lists[k][i]);
      require_parameter_shape(op, what, i, s, p);
      t.state[k] = s.ptr;
    }
  }
  return tensors;
}

void sgd_entry(const py::object& params, const py::object& grads, const py::object& momentums,
               double learning_rate, double momentum, bool nesterov,
               const py::object& weight_decay, const py::object& clipvalue,
               const py::object& clipnorm, const py::object& global_clipnorm,
               std::uintptr_t stream) {
  const std::string op = "sgd";
  const SgdOptions o = sgd_options(op, learning_rate, momentum, nesterov, weight_decay, momentums);
  const GradClip clip = parse_clip(op, clipvalue, clipnorm, global_clipnorm);
  const std::vector<OptimTensor> tensors = gather(op, params, grads, {{"momentum", momentums}});
  py::gil_scoped_release release;
  sgd_step(tensors, o, clip, as_stream(stream));
}

void adam_entry(const py::object& params, const py::object& grads, const py::object& m,
                const py::object& v, const py::object& v_hat, int64_t step, double learning_rate,
                double beta_1, double beta_2, double epsilon, const py::object& weight_decay,
                const py::object& clipvalue, const py::object& clipnorm,
                const py::object& global_clipnorm, std::uintptr_t stream) {
  const std::string op = "adam";
  const AdamOptions o = adam_options(op, step, learning_rate, beta_1, beta_2, epsilon,
                                     weight_decay, m, v, v_hat);
  const GradClip clip = parse_clip(op, clipvalue, clipnorm, global_clipnorm);
  const std::vector<OptimTensor> tensors =
      gather(op, params, grads, {{"m", m}, {"v", v}, {"v_hat", v_hat}});
  py::gil_scoped_release release;
  adam_step(tensors, o, clip, as_stream(stream));
}

void rmsprop_entry(const py::object& params, const py::object& grads,
                   const py::object& velocities, const py::object& momentums,
                   const py::object& average_grads, double learning_rate, double rho,
                   double momentum, double epsilon, const py::object& weight_decay,
                   const py::object& clipvalue, const py::object& clipnorm,
                   const py::object& global_clipnorm, std::uintptr_t stream) {
  const std::string op = "rmsprop";
  const RmspropOptions o = rmsprop_options(op, learning_rate, rho, momentum, epsilon,
                                           weight_decay, velocities, momentums, average_grads);
  const GradClip clip = parse_clip(op, clipvalue, clipnorm, global_clipnorm);
  const std::vector<OptimTensor> tensors = gather(
      op, params, grads,
      {{"velocity", velocities}, {"momentum", momentums}, {"average_gradient", average_grads}});
  py::gil_scoped_release release;
  rmsprop_step(tensors, o, clip, as_stream(stream));
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("axpy", &axpy_entry, py::arg("alpha"), py::arg("x"), py::arg("y"), py::arg("stream"),
        "y += alpha * x in place on float32 GPU arrays of one shape (y C-contiguous).");

  const std::string common =
      "\n\nparams: list of float32 C-contiguous GPU arrays, updated in place; grads: float32 "
      "arrays of the same shapes, never modified. State lists hold one array per parameter of "
      "its shape, updated in place. weight_decay: None or p -= lr * weight_decay * p before the "
      "update. clipvalue, clipnorm, global_clipnorm: None/0/inf for no clipping, at most one "
      "set (Keras semantics; a gradient whose norm is infinite clips to the direction of its "
      "infinite elements, a NaN makes what its norm scales NaN). Everything is validated before "
      "anything is launched; nothing waits for the GPU.";
  m.def("sgd_step", &sgd_entry, py::arg("params"), py::arg("grads"), py::arg("momentums"),
        py::arg("learning_rate"), py::arg("momentum"), py::arg("nesterov"),
        py::arg("weight_decay"), py::arg("clipvalue"), py::arg("clipnorm"),
        py::arg("global_clipnorm"), py::arg("stream"),
        ("One SGD step over all parameters (Keras 3's formula): m = momentum * m - lr * g; "
         "p += m, or p += momentum * m - lr * g with nesterov; p -= lr * g when momentum == 0 "
         "(momentums None)." +
         common)
            .c_str());
  m.def("adam_step", &adam_entry, py::arg("params"), py::arg("grads"), py::arg("m"),
        py::arg("v"), py::arg("v_hat"), py::arg("step"), py::arg("learning_rate"),
        py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("weight_decay"),
        py::arg("clipvalue"), py::arg("clipnorm"), py::arg("global_clipnorm"), py::arg("stream"),
        ("One Adam/AdamW step over all parameters (Keras 3's formula), step t >= 1: alpha = "
         "lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); m += (g - m) * (1 - beta_1); v += (g^2 - v) "
         "* (1 - beta_2); p -= alpha * m / (sqrt(v) + epsilon). v_hat: None, or AMSGrad's "
         "running max of v, used in its place." +
         common)
            .c_str());
  m.def("rmsprop_step", &rmsprop_entry, py::arg("params"), py::arg("grads"),
        py::arg("velocities"), py::arg("momentums"), py::arg("average_grads"),
        py::arg("learning_rate"), py::arg("rho"), py::arg("momentum"), py::arg("epsilon"),
        py::arg("weight_decay"), py::arg("clipvalue"), py::arg("clipnorm"),
        py::arg("global_clipnorm"), py::arg("stream"),
        ("One RMSprop step over all parameters (Keras 3's formula): v = rho * v + (1 - rho) * "
         "g^2; centered (average_grads given): a = rho * a + (1 - rho) * g, d = v - a^2 + "
         "epsilon, else d = v + epsilon; inc = lr * g / sqrt(d); momentums given (momentum > 0): "
         "mom = momentum * mom + inc, p -= mom; else p -= inc." +
         common)
            .c_str());
}

}  // namespace fastdl::cuda::bindings
