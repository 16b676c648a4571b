#include "dropout_kernels_impl.h"
