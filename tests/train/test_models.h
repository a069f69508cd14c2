// Small modules shared by the train tests: layers named like lowbit's (fc1, fc2, ...) with a
// quantizer-like submodule holding a learned step, so warm starts and checkpoints see both kinds.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <memory>

namespace lowbit::train::testing {

/// Stands in for a quantizer: one learned parameter `step` and one buffer `count`.
struct FakeQuantizer : torch::nn::Module {
  /// Registers `step` (0.5) and `count` (0).
  FakeQuantizer() {
    step = register_parameter("step", torch::full({1}, 0.5));
    count = register_buffer("count", torch::zeros({1}, torch::kInt64));
  }
  torch::Tensor step;   ///< Learned step.
  torch::Tensor count;  ///< Observer-like counter.
};

/// fc1 (in -> hidden), fc2 (hidden -> out); optionally a weight_quant submodule inside fc2's
/// wrapper module so its state is named "q.weight_quant.step".
struct TwoLayer : torch::nn::Module {
  /// Layers of the given sizes; `quantized` adds the fake quantizer.
  TwoLayer(int64_t in, int64_t hidden, int64_t out, bool quantized) {
    fc1 = register_module("fc1", torch::nn::Linear(in, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, out));
    if (quantized) {
      q = register_module("q", std::make_shared<torch::nn::Module>());
      q->register_module("weight_quant", std::make_shared<FakeQuantizer>());
    }
  }
  /// fc2(relu(fc1(x))).
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }
  torch::nn::Linear fc1{nullptr};        ///< First layer.
  torch::nn::Linear fc2{nullptr};        ///< Second layer.
  std::shared_ptr<torch::nn::Module> q;  ///< Holder of the fake quantizer, when quantized.
};

}  // namespace lowbit::train::testing
