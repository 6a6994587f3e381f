// The one torch TU of device selection (kept apart so the rules compile without LibTorch).
#include <torch/torch.h>

#include <fmt/format.h>

#ifdef SIGNSWEEP_WITH_CUDA_RUNTIME
#include <cuda_runtime_api.h>  // cudaGetDeviceProperties: uuid
#endif

#include "workers/device/device.h"

namespace signsweep::workers {

int visible_gpu_count() { return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

std::vector<std::string> visible_gpu_uuids() {
  std::vector<std::string> uuids(static_cast<size_t>(visible_gpu_count()));
#ifdef SIGNSWEEP_WITH_CUDA_RUNTIME
  for (size_t i = 0; i < uuids.size(); ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, static_cast<int>(i)) != cudaSuccess) continue;
    const auto* b = reinterpret_cast<const unsigned char*>(prop.uuid.bytes);
    uuids[i] = fmt::format("GPU-{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  }
#endif
  return uuids;
}

}  // namespace signsweep::workers
