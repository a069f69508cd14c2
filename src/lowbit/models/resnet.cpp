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

std::string BasicBlockImpl::describe(const std::string& prefix, const std::string& input,
                                     ModelGraph& graph) const {
  const auto node = [&](const std::string& name, std::shared_ptr<torch::nn::Module> module,
                        std::vector<std::string> inputs) {
    GraphNode n;
    n.name = prefix + "." + name;
    n.module = std::move(module);
    n.inputs = std::move(inputs);
    graph.push_back(std::move(n));
  };
  node("conv1", conv1.ptr(), {input});
  node("bn1", bn1.ptr(), {});
  node("act1", act1.ptr(), {});
  node("conv2", conv2.ptr(), {});
  node("bn2", bn2.ptr(), {});
  std::string skip = input;
  if (shortcut) {
    node("shortcut.0", shortcut->ptr(0), {input});
    node("shortcut.1", shortcut->ptr(1), {});
    skip = prefix + ".shortcut.1";
  }
  GraphNode add;
  add.name = prefix + ".add";
  add.kind = NodeKind::kAdd;
  add.module = act2.ptr();
  add.inputs = {prefix + ".bn2", skip};
  graph.push_back(std::move(add));
  return prefix + ".add";
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
  avgpool = register_module("avgpool",
                            torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
  fc = register_module(
      "fc", nn::QLinear(nn::QLinearOptions(channels, o.classes()).weight_quant(o.weight_quant())));
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& input) {
  torch::Tensor h = act1->forward(bn1->forward(conv1->forward(input_act->forward(input))));
  for (auto& stage : stages) h = stage->forward(h);
  return fc->forward(avgpool->forward(h).flatten(1));
}

ModelGraph ResNetImpl::graph() {
  ModelGraph graph;
  const auto node = [&](const std::string& name, std::shared_ptr<torch::nn::Module> module) {
    GraphNode n;
    n.name = name;
    n.module = std::move(module);
    graph.push_back(std::move(n));
  };
  node("input_act", input_act.ptr());
  node("conv1", conv1.ptr());
  node("bn1", bn1.ptr());
  node("act1", act1.ptr());
  std::string previous = "act1";
  for (size_t s = 0; s < stages.size(); ++s) {
    for (size_t b = 0; b < stages[s]->size(); ++b) {
      const std::string prefix = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      previous = stages[s]->ptr<BasicBlockImpl>(b)->describe(prefix, previous, graph);
    }
  }
  node("avgpool", avgpool.ptr());
  node("fc", fc.ptr());
  return graph;
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
