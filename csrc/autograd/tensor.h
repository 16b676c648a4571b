#pragma once
// Tensors made by native code outside autograd.cpp (fastdl.Tensor is registered there).
#include <pybind11/pybind11.h>

namespace fastdl::bindings {

// A fastdl.Tensor around `data` (not copied; NumPy scalars become 0-d arrays), outside the
// graph: for results computed from arrays, which carry no gradient.
pybind11::object tensor_outside_graph(pybind11::object data);

}  // namespace fastdl::bindings
