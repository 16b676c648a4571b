#include "conv_kernels_impl.h"
