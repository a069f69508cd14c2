#include "lowbit/train/quantize/batch_norm_fold.h"

#include <fnmatch.h>
#include <torch/autograd.h>

#include <memory>
#include <stdexcept>
#include <utility>

#include "lowbit/nn/foldable_batch_norm.h"
#include "lowbit/nn/quantized_layer.h"

namespace lowbit::train {
namespace {

using Leaf = std::pair<std::string, std::shared_ptr<torch::nn::Module>>;

// A layer with weights that a batch norm after it can fold into.
nn::QuantizedLayer* weight_layer(torch::nn::Module& m) {
  auto* layer = dynamic_cast<nn::QuantizedLayer*>(&m);
  return layer != nullptr && layer->weight_tensor().defined() ? layer : nullptr;
}

bool is_batch_norm(const torch::nn::Module& m) {
  return dynamic_cast<const nn::FoldableBatchNormImpl*>(&m) != nullptr;
}

// The modules in registration order, not descending into layers (their quantizers are children)
// nor batch norms, so "the module before a batch norm" is the layer that feeds it in a chain.
void leaves(const torch::nn::Module& parent, const std::string& prefix, std::vector<Leaf>& out) {
  for (const auto& child : parent.named_children()) {
    const std::string name = prefix.empty() ? child.key() : prefix + "." + child.key();
    const torch::nn::Module& m = *child.value();
    if (dynamic_cast<const nn::QuantizedLayer*>(&m) || is_batch_norm(m) || m.children().empty()) {
      out.emplace_back(name, child.value());
    } else {
      leaves(m, name, out);
    }
  }
}

void fold_pair(const Leaf& layer_leaf, const Leaf& norm) {
  nn::QuantizedLayer& layer = *weight_layer(*layer_leaf.second);
  auto* bn = dynamic_cast<nn::FoldableBatchNormImpl*>(norm.second.get());
  torch::Tensor weight = layer.weight_tensor();
  const int64_t channels = weight.size(0);
  if (bn->options.num_features() != channels) {
    throw std::invalid_argument("fold_batchnorm: batch norm '" + norm.first + "' has " +
                                std::to_string(bn->options.num_features()) + " channels, '" +
                                layer_leaf.first + "' before it " + std::to_string(channels));
  }
  torch::NoGradGuard no_grad;
  torch::Tensor gain = (bn->running_var + bn->options.eps()).rsqrt();
  torch::Tensor shift = torch::zeros_like(gain);
  if (bn->options.affine()) {
    gain = gain * bn->weight;
    shift = bn->bias.detach();
  }
  std::vector<int64_t> view(weight.dim(), 1);
  view[0] = -1;
  weight.mul_(gain.view(view));
  torch::Tensor bias = layer.bias_tensor();
  const torch::Tensor old_bias = bias.defined() ? bias.detach() : torch::zeros_like(gain);
  const torch::Tensor folded = (old_bias - bn->running_mean) * gain + shift;
  if (bias.defined()) {
    bias.copy_(folded);
  } else {
    layer.add_bias(folded);
  }
  bn->mark_folded();
}

// Folds the batch norms for which `wanted(name)` holds; returns them and whether any matched.
template <typename Wanted>
std::vector<std::string> fold_matching(torch::nn::Module& model, const Wanted& wanted,
                                       bool& matched) {
  std::vector<Leaf> all;
  leaves(model, "", all);
  std::vector<std::string> folded;
  matched = false;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!is_batch_norm(*all[i].second) || !wanted(all[i].first)) continue;
    matched = true;
    if (nn::is_folded_batch_norm(*all[i].second)) continue;
    if (i == 0 || !weight_layer(*all[i - 1].second)) {
      throw std::invalid_argument("fold_batchnorm: batch norm '" + all[i].first +
                                  "' does not directly follow a layer with weights (QLinear, "
                                  "QConv2d)");
    }
    fold_pair(all[i - 1], all[i]);
    folded.push_back(all[i].first);
  }
  return folded;
}

}  // namespace

std::vector<std::string> fold_batch_norms(torch::nn::Module& model, const std::string& layers) {
  bool matched = false;
  std::vector<std::string> folded = fold_matching(
      model,
      [&](const std::string& name) { return ::fnmatch(layers.c_str(), name.c_str(), 0) == 0; },
      matched);
  if (!matched) {
    throw std::invalid_argument("fold_batchnorm: layers '" + layers +
                                "' match no foldable batch norm");
  }
  return folded;
}

std::vector<std::string> restore_folded_batch_norms(torch::nn::Module& model,
                                                    const NamedTensors& state) {
  const std::string suffix = std::string(".") + nn::kFoldedBufferName;
  bool matched = false;
  return fold_matching(
      model, [&](const std::string& name) { return state.find(name + suffix) != nullptr; },
      matched);
}

}  // namespace lowbit::train
