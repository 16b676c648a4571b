#include "common/optim_options.h"

#include <cmath>

#include "common/checks.h"

namespace fastdl::bindings {
namespace {

double number(const std::string& op, const char* name, const py::handle& obj) {
  try {
    return py::cast<double>(obj);
  } catch (const py::cast_error&) {
    throw py::type_error(op + ": " + name + " must be None or a number, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
}

// An optional non-negative number: None -> 0 (off).
double optional_number(const std::string& op, const char* name, const py::handle& obj) {
  if (obj.is_none()) return 0.0;
  const double x = number(op, name, obj);
  if (std::isnan(x) || x < 0) {
    throw py::value_error(op + ": " + name + " must be None or a number >= 0, got " +
                          py::str(obj).cast<std::string>());
  }
  return x;
}

double weight_decay_of(const std::string& op, const py::handle& obj) {
  if (obj.is_none()) return 0.0;
  const double x = number(op, "weight_decay", obj);
  if (!std::isfinite(x)) {
    throw py::value_error(op + ": weight_decay must be None or a finite number, got " +
                          py::str(obj).cast<std::string>());
  }
  return x;
}

// A list or tuple, as a sequence we can index without copying; anything else is a TypeError
// (an array is a sequence too, but passing one where a list of arrays belongs is a mistake).
py::sequence items(const std::string& op, const char* what, const py::handle& obj) {
  if (!py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj)) {
    throw py::type_error(op + ": " + what + " must be a list or tuple of arrays, got " +
                         py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  return py::reinterpret_borrow<py::sequence>(obj);
}

}  // namespace

StepLists step_lists(const std::string& op, const py::handle& params, const py::handle& grads,
                     const std::vector<StateArg>& states) {
  StepLists lists;
  lists.params = items(op, "params", params);
  lists.grads = items(op, "grads", grads);
  lists.size = lists.params.size();
  const size_t n = lists.size;
  if (lists.grads.size() != n) {
    throw py::value_error(op + ": got " + std::to_string(n) + " parameters but " +
                          std::to_string(lists.grads.size()) + " gradients; they must pair up");
  }
  for (const StateArg& s : states) {
    if (s.list.is_none()) {
      lists.states.emplace_back();
      continue;
    }
    lists.states.push_back(items(op, s.name, s.list));
    if (lists.states.back().size() != n) {
      throw py::value_error(op + ": got " + std::to_string(n) + " parameters but " +
                            std::to_string(lists.states.back().size()) + " '" + s.name +
                            "' state arrays; there must be one per parameter");
    }
  }
  return lists;
}

void require_parameter_shape(const std::string& op, const std::string& what, size_t i,
                             const ArrayView& a, const ArrayView& param) {
  if (a.shape == param.shape) return;
  // The names are made only for the message: this runs for every array of every step.
  const std::string index = " " + std::to_string(i);
  require_same_shape(op, (what + index).c_str(), a, ("parameter" + index).c_str(), param);
}

GradClip parse_clip(const std::string& op, const py::handle& clipvalue, const py::handle& clipnorm,
                    const py::handle& global_clipnorm) {
  auto limit = [&](const char* name, const py::handle& obj) {
    const double x = optional_number(op, name, obj);
    return std::isinf(x) ? 0.0 : x;
  };
  GradClip clip;
  clip.value = limit("clipvalue", clipvalue);
  clip.norm = limit("clipnorm", clipnorm);
  clip.global_norm = limit("global_clipnorm", global_clipnorm);
  if ((clip.value > 0) + (clip.norm > 0) + (clip.global_norm > 0) > 1) {
    throw py::value_error(op + ": only one of clipvalue, clipnorm and global_clipnorm can be set");
  }
  return clip;
}

SgdOptions sgd_options(const std::string& op, double learning_rate, double momentum,
                       bool nesterov, const py::handle& weight_decay, const py::handle& momentums) {
  SgdOptions o;
  o.learning_rate = learning_rate;
  o.momentum = momentum;
  o.nesterov = nesterov;
  o.weight_decay = weight_decay_of(op, weight_decay);
  if ((momentum != 0) != !momentums.is_none()) {
    throw py::value_error(op + ": momentums must be a list of state arrays when momentum != 0 "
                          "and None when momentum == 0");
  }
  return o;
}

AdamOptions adam_options(const std::string& op, int64_t step, double learning_rate,
                         double beta_1, double beta_2, double epsilon,
                         const py::handle& weight_decay, const py::handle& m,
                         const py::handle& v, const py::handle& v_hat) {
  if (step < 1) throw py::value_error(op + ": step must be >= 1, got " + std::to_string(step));
  AdamOptions o;
  o.learning_rate = learning_rate;
  o.beta_1 = beta_1;
  o.beta_2 = beta_2;
  o.epsilon = epsilon;
  o.amsgrad = !v_hat.is_none();
  o.step = step;
  o.weight_decay = weight_decay_of(op, weight_decay);
  if (m.is_none() || v.is_none()) throw py::value_error(op + ": m and v are required");
  return o;
}

RmspropOptions rmsprop_options(const std::string& op, double learning_rate, double rho,
                               double momentum, double epsilon, const py::handle& weight_decay,
                               const py::handle& velocities, const py::handle& momentums,
                               const py::handle& average_grads) {
  RmspropOptions o;
  o.learning_rate = learning_rate;
  o.rho = rho;
  o.momentum = momentum;
  o.epsilon = epsilon;
  o.centered = !average_grads.is_none();
  o.weight_decay = weight_decay_of(op, weight_decay);
  if (velocities.is_none()) throw py::value_error(op + ": velocities are required");
  if ((momentum > 0) != !momentums.is_none()) {
    throw py::value_error(op + ": momentums must be a list of state arrays when momentum > 0 "
                          "and None otherwise");
  }
  return o;
}

}  // namespace fastdl::bindings
