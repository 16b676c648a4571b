#include "activation_kernels_impl.h"
