#include "pool_kernels_impl.h"
