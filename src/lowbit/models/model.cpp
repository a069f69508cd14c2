#include "lowbit/models/model.h"

#include "lowbit/models/builders.h"
#include "lowbit/models/mlp.h"

namespace lowbit::models {

const std::vector<ModelType>& model_types() {
  static const std::vector<ModelType> types = {
      {"mlp", "fully connected layers fc1..fcN with activations act1.. and optional norms",
       build_mlp},
      {"smartpix_model2",
       "seeds 000/001 two-branch smart-pixel classifier: xz_dense1 22->32, yl_dense1 14->32, "
       "merged_dense1..3 128/64/32, output 1, sigmoid",
       build_smartpix_model2},
      {"cnn_mcu",
       "BitNetMCU-style: conv1 3x3, depthwise (or full) conv2 3x3, optional conv3, pooling, "
       "fully connected layers",
       build_cnn_mcu},
      {"resnet20", "CIFAR ResNet-20 (16/32/64 channels, 1x1 projection shortcuts)", build_resnet20},
      {"resnet18", "CIFAR ResNet-18 (3x3 stem, 64/128/256/512 channels)", build_resnet18},
      {"snn_flow",
       "seed 003 spiking optical flow: stride-2 SpikingConv2d encoder, residual spiking blocks, "
       "QConvTranspose2d decoder with skips, 2-channel flow head; events [T, 2, H, W]",
       build_snn_flow},
  };
  return types;
}

torch::nn::AnyModule build_model(const lowbit::config::ConfigNode& node, int64_t in_features,
                                 int64_t num_outputs) {
  std::vector<std::string> names;
  for (const auto& t : model_types()) names.push_back(t.name);
  const std::string type = node.require_choice("type", names);
  for (const auto& t : model_types()) {
    if (t.name == type) return t.build(node, in_features, num_outputs);
  }
  node.fail("type", "unknown model type");
}

}  // namespace lowbit::models
