#include "lowbit/models/cnn_mcu.h"

#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/options/linear.h>
#include <torch/nn/options/pooling.h>

#include <stdexcept>

#include "lowbit/nn/foldable_batch_norm.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::models {

namespace {

// Each 2x2 max pool halves the side (floor): two pools, or three with conv3.
int64_t pool_divisor(const CnnMcuOptions& o) {
  return o.conv3_channels() > 0 ? 8 : 4;
}

}  // namespace

CnnMcuImpl::CnnMcuImpl(const CnnMcuOptions& options_) : options(options_) {
  reset();
}

void CnnMcuImpl::reset() {
  const auto& o = options;
  const int64_t side = o.image_size() / pool_divisor(o);
  if (side < 1 || o.channels() < 1 || o.classes() < 1 || o.conv2_channels() < 0 ||
      o.conv3_channels() < 0) {
    throw std::invalid_argument(
        "cnn_mcu: image_size must be >= 4 (>= 8 with conv3), channels and classes >= 1, "
        "conv2_channels and conv3_channels >= 0");
  }
  const bool depthwise = o.conv2_channels() == 0;
  const int64_t conv2_out = depthwise ? o.channels() : o.conv2_channels();
  const std::string& act_q = o.activation_quant();
  auto conv = [&](int64_t in, int64_t out, int64_t groups) {
    return nn::QConv2d(nn::QConv2dOptions(in, out, 3)
                           .padding(1)
                           .groups(groups)
                           .weight_quant(o.weight_quant())
                           .bias_quant(o.bias_quant()));
  };
  auto relu = [&] { return nn::QActivation(nn::QActivationOptions("relu").output_quant(act_q)); };
  auto pool = [] { return torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)); };
  chain_.clear();
  auto add = [this](const std::string& name, auto module) {
    register_module(name, module.ptr());
    chain_.emplace_back(module);
  };
  add("input_act", nn::QActivation(nn::QActivationOptions("none").output_quant(o.input_quant())));
  add("conv1", conv(1, o.channels(), 1));
  if (o.batch_norm()) add("bn1", nn::FoldableBatchNorm(o.channels()));
  add("act1", relu());
  add("pool1", pool());
  add("conv2", conv(o.channels(), conv2_out, depthwise ? o.channels() : 1));
  if (o.batch_norm()) add("bn2", nn::FoldableBatchNorm(conv2_out));
  add("act2", relu());
  add("pool2", pool());
  int64_t features = conv2_out;
  if (o.conv3_channels() > 0) {
    add("conv3", conv(conv2_out, o.conv3_channels(), 1));
    if (o.batch_norm()) add("bn3", nn::FoldableBatchNorm(o.conv3_channels()));
    add("act3", relu());
    add("pool3", pool());
    features = o.conv3_channels();
  }
  add("flatten", torch::nn::Flatten());
  int64_t width = features * side * side;
  for (size_t i = 0; i < o.hidden().size(); ++i) {
    const std::string n = std::to_string(i + 1);
    add("fc" + n, nn::QLinear(nn::QLinearOptions(width, o.hidden()[i])
                                  .bias(o.fc_bias())
                                  .weight_quant(o.weight_quant())
                                  .bias_quant(o.bias_quant())));
    add("fc_act" + n, relu());
    width = o.hidden()[i];
  }
  add("fc", nn::QLinear(nn::QLinearOptions(width, o.classes())
                            .bias(o.fc_bias())
                            .weight_quant(o.weight_quant())
                            .bias_quant(o.bias_quant())));
}

torch::Tensor CnnMcuImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input;
  for (auto& module : chain_) x = module.forward(x);
  return x;
}

}  // namespace lowbit::models
