// resnet20 and resnet18 for 32x32 inputs (CIFAR variants), built from quantizable layers.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/models/graph.h"
#include "lowbit/nn/foldable_batch_norm.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::models {

/// Options of a CIFAR ResNet; quantizer SPECs are empty for none (the FP model).
struct ResNetOptions {
  /// Basic blocks per stage (resnet20: {3, 3, 3}; resnet18: {2, 2, 2, 2}).
  TORCH_ARG(std::vector<int64_t>, blocks) = std::vector<int64_t>{3, 3, 3};
  /// Output channels per stage (resnet20: {16, 32, 64}; resnet18: {64, 128, 256, 512}).
  TORCH_ARG(std::vector<int64_t>, widths) = std::vector<int64_t>{16, 32, 64};
  /// Input image channels.
  TORCH_ARG(int64_t, in_channels) = 3;
  /// Number of classes (width of layer fc).
  TORCH_ARG(int64_t, classes) = 10;
  /// SPEC of every conv and fc weight quantizer, first and last layer included.
  TORCH_ARG(std::string, weight_quant) = "";
  /// SPEC of the quantizer of the model input (layer input_act).
  TORCH_ARG(std::string, input_quant) = "";
  /// SPEC of the output quantizer of every activation.
  TORCH_ARG(std::string, activation_quant) = "";
};

/// The options of CIFAR ResNet-20 (He et al. 2016, section 4.2): 3 stages x 3 blocks, 16/32/64.
ResNetOptions resnet20_options();
/// The options of CIFAR ResNet-18: 4 stages x 2 blocks, 64/128/256/512.
ResNetOptions resnet18_options();

/// A basic block: conv1 3x3 (stride s), bn1, act1 relu, conv2 3x3, bn2, plus the shortcut, then
/// act2 relu. The shortcut is the identity, or (option B) `shortcut` = 1x1 conv stride s + BN
/// when the stride or the channel count changes. Convolutions have no bias (BN follows).
class BasicBlockImpl : public torch::nn::Cloneable<BasicBlockImpl> {
 public:
  /// A block from in to out channels with the given stride and quantizer SPECs.
  BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride,
                 std::string weight_quant, std::string activation_quant);

  /// (Re)creates every layer.
  void reset() override;
  /// act2(bn2(conv2(act1(bn1(conv1(x))))) + shortcut(x)).
  torch::Tensor forward(const torch::Tensor& input);
  /// Appends the block's nodes, named `prefix`.<module> and reading node `input`, to `graph`: the
  /// two branches, then `prefix`.add (kAdd, activation act2); returns the add's name.
  std::string describe(const std::string& prefix, const std::string& input,
                       ModelGraph& graph) const;

  /// Input channels.
  int64_t in_channels;
  /// Output channels.
  int64_t out_channels;
  /// Stride of conv1 and of the projection.
  int64_t stride;
  /// SPEC of the weight quantizers.
  std::string weight_quant;
  /// SPEC of the activation output quantizers.
  std::string activation_quant;
  /// First 3x3 convolution.
  nn::QConv2d conv1{nullptr};
  /// Its batch norm.
  nn::FoldableBatchNorm bn1{nullptr};
  /// Its activation (relu).
  nn::QActivation act1{nullptr};
  /// Second 3x3 convolution.
  nn::QConv2d conv2{nullptr};
  /// Its batch norm.
  nn::FoldableBatchNorm bn2{nullptr};
  /// The projection shortcut (1x1 conv + BN), empty (null) for the identity.
  torch::nn::Sequential shortcut{nullptr};
  /// Activation after the sum (relu).
  nn::QActivation act2{nullptr};
};

/// Holder of BasicBlockImpl.
TORCH_MODULE(BasicBlock);

/// CIFAR ResNet: input_act (none) -> conv1 3x3 stem, bn1, act1 -> layer1..layerK (Sequential of
/// BasicBlocks, stride 2 at the first block of every stage but the first; no max pool) ->
/// global average pool (avgpool, AdaptiveAvgPool2d(1)) -> fc (classes logits).
class ResNetImpl : public torch::nn::Cloneable<ResNetImpl>, public GraphModel {
 public:
  /// A model from options; throws std::invalid_argument for empty or mismatched stages.
  explicit ResNetImpl(const ResNetOptions& options = resnet20_options());

  /// (Re)creates every layer from the options.
  void reset() override;
  /// Logits {N, classes} for input {N, in_channels, H, W}.
  torch::Tensor forward(const torch::Tensor& input);
  /// The stem chain, every block's branches and residual add, the pool and fc.
  ModelGraph graph() override;

  /// The options the model was built with.
  ResNetOptions options;
  /// Quantizer of the model input (function none).
  nn::QActivation input_act{nullptr};
  /// Stem 3x3 convolution.
  nn::QConv2d conv1{nullptr};
  /// Stem batch norm.
  nn::FoldableBatchNorm bn1{nullptr};
  /// Stem activation (relu).
  nn::QActivation act1{nullptr};
  /// The stages, registered as layer1, layer2, ...
  std::vector<torch::nn::Sequential> stages;
  /// Global average pooling (AdaptiveAvgPool2d(1)): the integer model's whole-map average pool.
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  /// The classifier.
  nn::QLinear fc{nullptr};
};

/// Holder of ResNetImpl.
TORCH_MODULE(ResNet);

/// CIFAR ResNet-20 with the given quantizer SPECs (fields blocks/widths are overwritten).
ResNet resnet20(ResNetOptions options = resnet20_options());
/// CIFAR ResNet-18 with the given quantizer SPECs (fields blocks/widths are overwritten).
ResNet resnet18(ResNetOptions options = resnet18_options());

}  // namespace lowbit::models
