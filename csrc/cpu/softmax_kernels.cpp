#include "softmax_kernels_impl.h"
