#include "lowbit/models/resnet.h"

#include <torch/nn/options/batchnorm.h>

#include <stdexcept>
#include <utility>

namespace lowbit::models {

namespace {

nn::QConv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                 const std::string& weight_quant) {
  return nn::QConv2d(nn::QConv2dOptions(in, out, kernel)
                         .stride(stride)
                         .padding(kernel / 2)
                         .bias(false)
                         .weight_quant(weight_quant));
}

nn::QActivation relu(const std::string& activation_quant) {
  return nn::QActivation(nn::QActivationOptions("relu").output_quant(activation_quant));
}

}  // namespace

ResNetOptions resnet20_options() {
  return ResNetOptions().blocks({3, 3, 3}).widths({16, 32, 64});
}

ResNetOptions resnet18_options() {
  return ResNetOptions().blocks({2, 2, 2, 2}).widths({64, 128, 256, 512});
}

BasicBlockImpl::BasicBlockImpl(int64_t in_channels_, int64_t out_channels_, int64_t stride_,
                               std::string weight_quant_, std::string activation_quant_)
    : in_channels(in_channels_),
      out_channels(out_channels_),
      stride(stride_),
      weight_quant(std::move(weight_quant_)),
      activation_quant(std::move(activation_quant_)) {
  reset();
}

void BasicBlockImpl::reset() {
  conv1 = register_module("conv1", conv(in_channels, out_channels, 3, stride, weight_quant));
  bn1 = register_module("bn1", nn::FoldableBatchNorm(out_channels));
  act1 = register_module("act1", relu(activation_quant));
  conv2 = register_module("conv2", conv(out_channels, out_channels, 3, 1, weight_quant));
  bn2 = register_module("bn2", nn::FoldableBatchNorm(out_channels));
  if (stride != 1 || in_channels != out_channels) {
    // Option B (1x1 projection) rather than option A (zero padding): it is a plain quantizable
    // convolution, so the whole block stays QConv2d + BN.
    shortcut = register_module(
        "shortcut", torch::nn::Sequential(conv(in_channels, out_channels, 1, stride, weight_quant),
                                          nn::FoldableBatchNorm(out_channels)));
  } else {
    shortcut = nullptr;
  }
  act2 = register_module("act2", relu(activation_quant));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& input) {
  torch::Tensor h = act1->forward(bn1->forward(conv1->forward(input)));
  h = bn2->forward(conv2->forward(h));
  return act2->forward(h + (shortcut ? shortcut->forward(input) : input));
}

ResNetImpl::ResNetImpl(const ResNetOptions& options_) : options(options_) {
  reset();
}

void ResNetImpl::reset() {
  const auto& o = options;
  if (o.blocks().empty() || o.blocks().size() != o.widths().size()) {
    throw std::invalid_argument("resnet: blocks and widths must be non-empty and of equal length");
  }
  input_act = register_module(
      "input_act", nn::QActivation(nn::QActivationOptions("none").output_quant(o.input_quant())));
  conv1 = register_module("conv1", conv(o.in_channels(), o.widths()[0], 3, 1, o.weight_quant()));
  bn1 = register_module("bn1", nn::FoldableBatchNorm(o.widths()[0]));
  act1 = register_module("act1", relu(o.activation_quant()));
  stages.clear();
  int64_t channels = o.widths()[0];
  for (size_t s = 0; s < o.blocks().size(); ++s) {
    torch::nn::Sequential stage;
    for (int64_t b = 0; b < o.blocks()[s]; ++b) {
      const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      stage->push_back(
          BasicBlock(channels, o.widths()[s], stride, o.weight_quant(), o.activation_quant()));
      channels = o.widths()[s];
    }
    stages.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  fc = register_module(
      "fc", nn::QLinear(nn::QLinearOptions(channels, o.classes()).weight_quant(o.weight_quant())));
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& input) {
  torch::Tensor h = act1->forward(bn1->forward(conv1->forward(input_act->forward(input))));
  for (auto& stage : stages) h = stage->forward(h);
  return fc->forward(h.mean({2, 3}));
}

ResNet resnet20(ResNetOptions options) {
  const ResNetOptions shape = resnet20_options();
  return ResNet(options.blocks(shape.blocks()).widths(shape.widths()));
}

ResNet resnet18(ResNetOptions options) {
  const ResNetOptions shape = resnet18_options();
  return ResNet(options.blocks(shape.blocks()).widths(shape.widths()));
}

}  // namespace lowbit::models
