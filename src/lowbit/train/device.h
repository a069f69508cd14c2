// `device: cpu | cuda | auto` of a run: where the model, the data and every quantizer live.
#pragma once

#include <torch/types.h>

#include <string>

namespace lowbit::train {

/// The device `name` ("cpu", "cuda" or "auto") means for the process with local rank
/// `local_rank` (its GPU under a data-parallel launcher). "auto" is the GPU when LibTorch sees one,
/// else the CPU; "cuda" without a visible GPU (or in a LibTorch without CUDA) is a
/// std::invalid_argument naming the key and why.
torch::Device resolve_device(const std::string& name, int local_rank = 0);

}  // namespace lowbit::train
