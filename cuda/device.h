#pragma once
// Device discovery for fastdl._cuda.
#include <string>

namespace fastdl::cuda {

// Number of visible CUDA devices; 0 when there is no GPU or no driver (never throws for that).
int device_count();
// CUDA runtime version this extension was built against, e.g. 13000.
int runtime_version();
// The name of device `index`; throws CudaError for an invalid index.
std::string device_name(int index);
void synchronize();

}  // namespace fastdl::cuda
