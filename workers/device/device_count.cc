// The one torch TU of device selection (kept apart so the rules compile without LibTorch).
#include <torch/torch.h>

#include "workers/device/device.h"

namespace signsweep::workers {

int visible_gpu_count() { return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

}  // namespace signsweep::workers
