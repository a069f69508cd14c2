#include "lowbit/train/checkpoint/model_state.h"

#include <torch/autograd.h>

#include <stdexcept>

#include "lowbit/train/quantize/batch_norm_fold.h"

namespace lowbit::train {

NamedTensors model_state(const torch::nn::Module& module) {
  NamedTensors state;
  for (const auto& item : module.named_parameters(true)) {
    state.insert(item.key(), item.value().detach().clone());
  }
  for (const auto& item : module.named_buffers(true)) {
    state.insert(item.key(), item.value().detach().clone());
  }
  return state;
}

void load_model_state(torch::nn::Module& module, const NamedTensors& state,
                      const std::string& what) {
  // A state saved after fold_batchnorm has the folded layers' biases and `folded` marks.
  restore_folded_batch_norms(module, state);
  std::vector<std::string> problems;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  size_t matched = 0;
  auto visit = [&](const std::string& name, torch::Tensor& target) {
    const torch::Tensor* source = state.find(name);
    if (source == nullptr) {
      problems.push_back("missing '" + name + "' " + shape_text(target));
      return;
    }
    ++matched;
    // Quantizers shape some statistics buffers on their first forward pass (per tensor or per
    // channel, as PyTorch's lazy modules do): in a fresh model they are empty and take the saved
    // shape. Parameters and buffers that have a shape must match.
    const bool lazy = target.numel() == 0 && !target.requires_grad() && source->numel() > 0;
    if (source->sizes() != target.sizes() && !lazy) {
      problems.push_back("shape of '" + name + "' is " + shape_text(*source) + ", model has " +
                         shape_text(target));
      return;
    }
    copies.emplace_back(target, *source);
  };
  for (auto& item : module.named_parameters(true)) visit(item.key(), item.value());
  for (auto& item : module.named_buffers(true)) visit(item.key(), item.value());
  if (matched != state.size()) {
    auto params = module.named_parameters(true);
    auto buffers = module.named_buffers(true);
    for (const auto& item : state) {
      if (params.find(item.key()) == nullptr && buffers.find(item.key()) == nullptr) {
        problems.push_back("unexpected '" + item.key() + "' " + shape_text(item.value()));
      }
    }
  }
  if (!problems.empty()) {
    std::string message = what + ": the saved model state does not fit the model:";
    for (const auto& p : problems) message += "\n  " + p;
    throw std::runtime_error(message);
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) {
    if (target.sizes() != source.sizes()) target.resize_(source.sizes());
    target.copy_(source);
  }
}

std::string shape_text(const torch::Tensor& tensor) {
  std::string text = "(";
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    text += (d == 0 ? "" : ", ") + std::to_string(tensor.size(d));
  }
  return text + ")";
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters(true)) count += p.numel();
  return count;
}

}  // namespace lowbit::train
