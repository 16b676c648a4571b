#include "random_kernels_impl.h"
