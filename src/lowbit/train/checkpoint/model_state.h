// A model's state as one ordered list of named tensors: every parameter and every buffer, by the
// dotted names named_parameters()/named_buffers() give them. Checkpoints and warm starts use it.
#pragma once

#include <torch/nn/module.h>
#include <torch/ordered_dict.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace lowbit::train {

/// Named tensors in a fixed order (parameters first, then buffers).
using NamedTensors = torch::OrderedDict<std::string, torch::Tensor>;

/// Detached copies of every parameter and buffer of `module` (recursively), by name.
NamedTensors model_state(const torch::nn::Module& module);

/// Copies `state` into `module`: every parameter and buffer of the module must be in `state` with
/// the same shape, and `state` must hold nothing else; otherwise std::runtime_error lists each
/// missing, unexpected and mis-shaped name (prefixed by `what`, e.g. the checkpoint file). Empty
/// buffers (quantizer statistics shaped on the first forward pass) take the saved shape.
/// Batch norms that `state` marks folded are folded in `module` first (quantize/batch_norm_fold.h).
void load_model_state(torch::nn::Module& module, const NamedTensors& state,
                      const std::string& what);

/// "(22, 32)": a shape as the warm-start report and error messages print it.
std::string shape_text(const torch::Tensor& tensor);

/// Total number of elements of the module's parameters.
int64_t parameter_count(const torch::nn::Module& module);

}  // namespace lowbit::train
