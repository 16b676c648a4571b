#include "optim_kernels_impl.h"
