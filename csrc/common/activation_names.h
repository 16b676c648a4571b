#pragma once
// Activation names as Python spells them.
#include <string>

#include "fastdl/activation.h"

namespace fastdl::bindings {

// Raises ValueError naming `op` and the accepted names when `name` is unknown.
Activation parse_activation(const char* op, const std::string& name);

}  // namespace fastdl::bindings
