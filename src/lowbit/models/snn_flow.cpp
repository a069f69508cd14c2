#include "lowbit/models/snn_flow.h"

#include <stdexcept>
#include <string>

#include "lowbit/util/shape_text.h"

namespace lowbit::models {
namespace {

// FlowNet's negative slope of the leaky ReLU between the decoder's layers.
constexpr double kDecoderSlope = 0.1;

torch::Tensor decoder_activation(const torch::Tensor& x) {
  return torch::leaky_relu(x, kDecoderSlope);
}

}  // namespace

SnnFlowImpl::SnnFlowImpl(const SnnFlowOptions& options_) : options(options_) {
  if (options.base_channels() < 1) {
    throw std::invalid_argument("snn_flow: base_channels must be >= 1, got " +
                                std::to_string(options.base_channels()));
  }
  if (options.residual_blocks() < 0) {
    throw std::invalid_argument("snn_flow: residual_blocks must be >= 0");
  }
  if (options.time_steps() < 0) throw std::invalid_argument("snn_flow: time_steps must be >= 0");
  reset();
}

void SnnFlowImpl::reset() {
  const int64_t c = options.base_channels();
  auto spiking = [&](int64_t in, int64_t out, int64_t stride) {
    nn::SpikingConv2dOptions o(in, out, 3);
    o.conv(nn::QConv2dOptions(in, out, 3).stride(stride).padding(1).bias(!options.batch_norm()));
    o.batch_norm(options.batch_norm());
    nn::LeakyOptions lif = options.lif();
    if (lif.channels() != 0) lif.channels(out);
    o.lif(lif);
    return nn::SpikingConv2d(o);
  };
  encoder_.clear();
  residual_.clear();
  decoder_.clear();
  const int64_t widths[] = {2, c, 2 * c, 4 * c, 4 * c};
  for (int i = 0; i < 4; ++i) {
    encoder_.push_back(
        register_module("enc" + std::to_string(i + 1), spiking(widths[i], widths[i + 1], 2)));
  }
  for (int64_t i = 0; i < options.residual_blocks(); ++i) {
    const std::string name = "res" + std::to_string(i + 1);
    auto a = register_module(name + "a", spiking(4 * c, 4 * c, 1));
    auto b = register_module(name + "b", spiking(4 * c, 4 * c, 1));
    residual_.emplace_back(a, b);
  }
  auto up = [&](const std::string& name, int64_t in, int64_t out) {
    decoder_.push_back(register_module(
        name, nn::QConvTranspose2d(nn::QConvTranspose2dOptions(in, out, 4).stride(2).padding(1))));
  };
  up("dec4", 4 * c, 2 * c);
  up("dec3", 6 * c, 2 * c);
  up("dec2", 4 * c, c);
  up("dec1", 2 * c, c);
  flow_ = register_module("flow", nn::QConv2d(nn::QConv2dOptions(c, 2, 3).padding(1)));
}

ModelGraph SnnFlowImpl::graph() {
  ModelGraph nodes;
  const auto module_node = [&](const std::string& name, std::shared_ptr<torch::nn::Module> module,
                               const std::string& input) {
    GraphNode node;
    node.name = name;
    node.module = std::move(module);
    if (!input.empty()) node.inputs = {input};
    nodes.push_back(std::move(node));
  };
  const auto spiking_block = [&](const std::string& name, nn::SpikingConv2d& block,
                                 const std::string& input) {
    module_node(name + ".conv", block->conv.ptr(), input);
    if (block->norm) module_node(name + ".norm", block->norm.ptr(), "");
    module_node(name + ".lif", block->lif.ptr(), "");
    return name + ".lif";
  };
  const auto kind_node = [&](const std::string& name, NodeKind kind,
                             std::vector<std::string> inputs) {
    GraphNode node;
    node.name = name;
    node.kind = kind;
    node.inputs = std::move(inputs);
    nodes.push_back(std::move(node));
    return name;
  };
  // Encoder, per time step; the decoder reads the rates of enc1..enc3.
  std::string x = kGraphInput;
  std::vector<std::string> rates;
  for (size_t i = 0; i < encoder_.size(); ++i) {
    const std::string name = "enc" + std::to_string(i + 1);
    x = spiking_block(name, encoder_[i], x);
    if (i < 3) rates.push_back(kind_node(name + ".rate", NodeKind::kTimeMean, {x}));
  }
  for (size_t i = 0; i < residual_.size(); ++i) {
    const std::string name = "res" + std::to_string(i + 1);
    const std::string a = spiking_block(name + "a", residual_[i].first, x);
    const std::string b = spiking_block(name + "b", residual_[i].second, a);
    x = kind_node(name + ".add", NodeKind::kAdd, {x, b});
  }
  std::string y = kind_node("bottleneck.rate", NodeKind::kTimeMean, {x});
  // Decoder, once per sequence: upsample, crop to the skip's size, leaky ReLU, concat the skip.
  const std::string skips[] = {rates[2], rates[1], rates[0], kGraphInput};
  const char* names[] = {"dec4", "dec3", "dec2", "dec1"};
  for (size_t i = 0; i < decoder_.size(); ++i) {
    const std::string name = names[i];
    if (i > 0) y = kind_node(name + ".cat", NodeKind::kConcat, {y, skips[i - 1]});
    module_node(name, decoder_[i].ptr(), y);
    kind_node(name + ".crop", NodeKind::kCrop, {name, skips[i]});
    GraphNode act;
    act.name = name + ".act";
    act.kind = NodeKind::kLeakyRelu;
    act.slope = kDecoderSlope;
    act.inputs = {name + ".crop"};
    nodes.push_back(std::move(act));
    y = name + ".act";
  }
  module_node("flow", flow_.ptr(), y);
  return nodes;
}

torch::Tensor SnnFlowImpl::forward(const torch::Tensor& events) {
  if (events.dim() != 5 || events.size(2) != 2) {
    throw std::invalid_argument("snn_flow: expected events [B, T, 2, H, W], got " +
                                util::shape_text(events.sizes()));
  }
  if (options.time_steps() != 0 && events.size(1) != options.time_steps()) {
    throw std::invalid_argument("snn_flow: built for time_steps " +
                                std::to_string(options.time_steps()) + " but the input " +
                                util::shape_text(events.sizes()) + " has " +
                                std::to_string(events.size(1)));
  }
  // Spiking layers run time-major [T, B, C, H, W]; the decoder reads spike rates [B, C, H, W].
  torch::Tensor x = events.transpose(0, 1);
  std::vector<torch::Tensor> rates;
  for (auto& block : encoder_) {
    x = block->forward(x);
    rates.push_back(x.mean(0));
  }
  for (auto& [a, b] : residual_) x = x + b->forward(a->forward(x));
  // Each upsampling doubles the size; an odd skip (a strided size rounded up) is one smaller, so
  // the output is cropped to the skip's size.
  auto up = [](nn::QConvTranspose2d& layer, const torch::Tensor& in, int64_t h, int64_t w) {
    return decoder_activation(layer->forward(in).slice(2, 0, h).slice(3, 0, w));
  };
  torch::Tensor y = x.mean(0);
  y = up(decoder_[0], y, rates[2].size(2), rates[2].size(3));
  y = up(decoder_[1], torch::cat({y, rates[2]}, 1), rates[1].size(2), rates[1].size(3));
  y = up(decoder_[2], torch::cat({y, rates[1]}, 1), rates[0].size(2), rates[0].size(3));
  y = up(decoder_[3], torch::cat({y, rates[0]}, 1), events.size(3), events.size(4));
  return flow_->forward(y);
}

}  // namespace lowbit::models
