#include "lowbit/train/device.h"

#include <torch/cuda.h>

#include <stdexcept>

namespace lowbit::train {

torch::Device resolve_device(const std::string& name, int local_rank) {
  if (name == "cpu") return torch::kCPU;
  if (name != "cuda" && name != "auto") {
    throw std::invalid_argument("device: '" + name + "': expected cpu, cuda or auto");
  }
  const bool gpu = torch::cuda::is_available();
  if (!gpu) {
    if (name == "auto") return torch::kCPU;
    throw std::invalid_argument(
        "device: cuda, but LibTorch sees no CUDA device (a CPU-only LibTorch, such as Debian's, or "
        "no GPU visible): use device: cpu or auto, or build against a CUDA LibTorch "
        "(docs/distributed.md, 'CUDA')");
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (local_rank >= count) {
    throw std::invalid_argument("device: cuda for local rank " + std::to_string(local_rank) +
                                ", but only " + std::to_string(count) + " GPU(s) are visible");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
}

}  // namespace lowbit::train
