#pragma once
// The scalar arguments of the fused optimizer steps, parsed and checked once for both
// extensions: the options structs of fastdl/optim.h and the gradient clipping, with the same
// errors on the CPU and on the GPU. Which state lists are given is checked here too, and that
// every array has its parameter's shape; their dtypes and memory are each extension's business.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/array_view.h"
#include "fastdl/optim.h"

namespace fastdl::bindings {

namespace py = pybind11;

// clipvalue, clipnorm, global_clipnorm: None, 0 and inf all mean no clipping; at most one may
// clip. TypeError / ValueError naming `op` otherwise.
GradClip parse_clip(const std::string& op, const py::handle& clipvalue, const py::handle& clipnorm,
                    const py::handle& global_clipnorm);

SgdOptions sgd_options(const std::string& op, double learning_rate, double momentum,
                       bool nesterov, const py::handle& weight_decay, const py::handle& momentums);

AdamOptions adam_options(const std::string& op, int64_t step, double learning_rate,
                         double beta_1, double beta_2, double epsilon,
                         const py::handle& weight_decay, const py::handle& m,
                         const py::handle& v, const py::handle& v_hat);

RmspropOptions rmsprop_options(const std::string& op, double learning_rate, double rho,
                               double momentum, double epsilon, const py::handle& weight_decay,
                               const py::handle& velocities, const py::handle& momentums,
                               const py::handle& average_grads);

// A state list: a name for messages, and the list (None: the slot is unused).
struct StateArg {
  const char* name;
  py::handle list;
};

// The lists of one step, their structure checked: params and grads are lists or tuples of the
// same length, and so is every state list given (an unused one stays an empty sequence). The
// arrays in them are checked by each extension.
struct StepLists {
  py::sequence params, grads;
  std::vector<py::sequence> states;  // in the order of the StateArgs
  size_t size = 0;
};
StepLists step_lists(const std::string& op, const py::handle& params, const py::handle& grads,
                     const std::vector<StateArg>& states);

// ValueError unless `a`, item i of a list (`what`: "gradient", "'m' state", ...), has the shape
// of parameter i.
void require_parameter_shape(const std::string& op, const std::string& what, size_t i,
                             const ArrayView& a, const ArrayView& param);

}  // namespace fastdl::bindings
