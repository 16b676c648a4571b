#include "common/activation_names.h"

#include <pybind11/pybind11.h>

namespace fastdl::bindings {
namespace {

struct Entry {
  const char* name;
  Activation act;
};
constexpr Entry kActivations[] = {
    {"none", Activation::none},         {"linear", Activation::none},
    {"relu", Activation::relu},         {"leaky_relu", Activation::leaky_relu},
    {"sigmoid", Activation::sigmoid},   {"tanh", Activation::tanh},
    {"step", Activation::step},         {"gelu", Activation::gelu},
    {"gelu_tanh", Activation::gelu_tanh},
};

}  // namespace

Activation parse_activation(const char* op, const std::string& name) {
  for (const Entry& e : kActivations)
    if (name == e.name) return e.act;
  std::string known;
  for (const Entry& e : kActivations) known += std::string(known.empty() ? "" : ", ") + e.name;
  throw pybind11::value_error(std::string(op) + ": unknown activation '" + name +
                              "'; expected one of " + known);
}

}  // namespace fastdl::bindings
