#include "gemm_kernels_impl.h"
