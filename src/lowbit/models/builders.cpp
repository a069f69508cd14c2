#include "lowbit/models/builders.h"

#include <cmath>
#include <string>

#include "lowbit/models/cnn_mcu.h"
#include "lowbit/models/resnet.h"
#include "lowbit/models/smartpix_model2.h"
#include "lowbit/models/snn_flow.h"
#include "lowbit/nn/initializers.h"
#include "lowbit/nn/surrogate.h"

namespace lowbit::models {
namespace {

int64_t positive(const lowbit::config::ConfigNode& node, const std::string& key, int64_t fallback) {
  return node.get_in_range<int64_t>(key, fallback, 1, 1 << 20);
}

// ResNets are built for CIFAR-sized colour images; anything else would fail deep inside forward.
void require_cifar_shape(const lowbit::config::ConfigNode& node, int64_t in_features,
                         const char* model) {
  if (in_features != 3 * 32 * 32) {
    node.fail("type", std::string(model) +
                          " needs 3 x 32 x 32 inputs (3072 features); the data has " +
                          std::to_string(in_features));
  }
}

torch::nn::AnyModule build_resnet(const lowbit::config::ConfigNode& node, int64_t num_outputs,
                                  ResNetOptions options) {
  options.classes(num_outputs);
  options.widths(node.get<std::vector<int64_t>>("widths", options.widths()));
  options.blocks(node.get<std::vector<int64_t>>("blocks", options.blocks()));
  if (options.widths().size() != options.blocks().size() || options.widths().empty()) {
    node.fail("widths", "needs one width per entry of `blocks`");
  }
  node.done();
  return torch::nn::AnyModule(ResNet(options));
}

}  // namespace

InitializerKeys read_initializer_keys(const lowbit::config::ConfigNode& node) {
  InitializerKeys keys;
  keys.kernel = node.choice("kernel_initializer", keys.kernel, nn::kernel_initializer_names());
  keys.bias = node.choice("bias_initializer", keys.bias, nn::bias_initializer_names());
  keys.fit_kernel_to_grid = node.get<bool>("fit_kernel_to_grid", false);
  return keys;
}

torch::nn::AnyModule build_smartpix_model2(const lowbit::config::ConfigNode& node,
                                           int64_t in_features, int64_t num_outputs) {
  if (in_features != SmartpixModel2Impl::kInputFeatures || num_outputs != 1) {
    node.fail("type", "smartpix_model2 needs " +
                          std::to_string(SmartpixModel2Impl::kInputFeatures) +
                          " input features and one output (smart-pixel data); the data has " +
                          std::to_string(in_features) + " and " + std::to_string(num_outputs));
  }
  SmartpixModel2Options options;
  options.branch_width(positive(node, "branch_width", options.branch_width()));
  options.merged_width1(positive(node, "merged_width1", options.merged_width1()));
  options.merged_width2(positive(node, "merged_width2", options.merged_width2()));
  options.merged_width3(positive(node, "merged_width3", options.merged_width3()));
  options.dropout(node.get_in_range<double>("dropout", options.dropout(), 0.0, 0.95));
  options.dropout_first_only(node.get<bool>("dropout_first_only", false));
  const InitializerKeys init = read_initializer_keys(node);
  options.kernel_initializer(init.kernel);
  options.bias_initializer(init.bias);
  options.fit_kernel_to_grid(init.fit_kernel_to_grid);
  node.done();
  return torch::nn::AnyModule(SmartpixModel2(options));
}

torch::nn::AnyModule build_cnn_mcu(const lowbit::config::ConfigNode& node, int64_t in_features,
                                   int64_t num_outputs) {
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(in_features))));
  if (side * side != in_features || num_outputs < 2) {
    node.fail("type",
              "cnn_mcu needs single-channel square images and class targets; the data has " +
                  std::to_string(in_features) + " features and " + std::to_string(num_outputs) +
                  " outputs");
  }
  CnnMcuOptions options;
  options.image_size(side);
  options.classes(num_outputs);
  options.channels(positive(node, "channels", options.channels()));
  if (node.has("conv2_channels")) {
    options.conv2_channels(positive(node, "conv2_channels", options.channels()));
  }
  if (node.has("conv3_channels")) {
    options.conv3_channels(positive(node, "conv3_channels", 1));
    if (side < 8) node.fail("conv3_channels", "needs images of at least 8 x 8 (three 2x2 pools)");
  }
  options.hidden(node.get<std::vector<int64_t>>("hidden", options.hidden()));
  for (int64_t w : options.hidden()) {
    if (w < 1) node.fail("hidden", "expected widths >= 1");
  }
  options.batch_norm(node.get<bool>("batch_norm", false));
  options.fc_bias(node.get<bool>("fc_bias", options.fc_bias()));
  node.done();
  return torch::nn::AnyModule(CnnMcu(options));
}

torch::nn::AnyModule build_resnet20(const lowbit::config::ConfigNode& node, int64_t in_features,
                                    int64_t num_outputs) {
  require_cifar_shape(node, in_features, "resnet20");
  return build_resnet(node, num_outputs, resnet20_options());
}

torch::nn::AnyModule build_resnet18(const lowbit::config::ConfigNode& node, int64_t in_features,
                                    int64_t num_outputs) {
  require_cifar_shape(node, in_features, "resnet18");
  return build_resnet(node, num_outputs, resnet18_options());
}

torch::nn::AnyModule build_snn_flow(const lowbit::config::ConfigNode& node, int64_t in_features,
                                    int64_t num_outputs) {
  SnnFlowOptions options;
  options.base_channels(positive(node, "base_channels", options.base_channels()));
  options.time_steps(node.get_in_range<int64_t>("time_steps", 0, 0, 256));
  options.residual_blocks(node.get_in_range<int64_t>("residual_blocks", 2, 0, 16));
  options.batch_norm(node.get<bool>("batch_norm", options.batch_norm()));
  if (num_outputs != 2 || in_features % 2 != 0 ||
      (options.time_steps() > 0 && in_features % (2 * options.time_steps()) != 0)) {
    node.fail("type",
              "snn_flow needs event tensors [T, 2, H, W] per sample" +
                  std::string(options.time_steps() > 0
                                  ? " with T = time_steps " + std::to_string(options.time_steps())
                                  : "") +
                  " and optical-flow targets (2 outputs); the data has " +
                  std::to_string(in_features) + " features and " + std::to_string(num_outputs) +
                  " outputs");
  }
  nn::LeakyOptions lif(node.get_in_range<double>("beta", 0.9, 0.0, 1.0));
  lif.threshold(node.get_in_range<double>("threshold", 1.0, 1e-6, 1e6));
  const std::string surrogate = node.get<std::string>("surrogate", "atan");
  try {
    lif.spike_grad(nn::Surrogate::parse(surrogate));
  } catch (const std::exception& e) {
    node.fail("surrogate", e.what());
  }
  lif.reset_mechanism(node.choice("reset_mechanism", "subtract", nn::reset_mechanism_names()));
  lif.reset_delay(node.get<bool>("reset_delay", true));
  lif.reset_detach(node.get<bool>("reset_detach", true));
  lif.learn_beta(node.get<bool>("learn_beta", false));
  lif.learn_threshold(node.get<bool>("learn_threshold", false));
  lif.channels(node.get<bool>("per_channel", false) ? 1 : 0);
  lif.integer_state(node.get<bool>("integer_state", false));
  lif.leak_shift(node.get_in_range<int>("leak_shift", 0, 0, 15));
  if (lif.leak_shift() > 0 && lif.learn_beta()) {
    node.fail("leak_shift", "expected 0 with learn_beta: true (leak_shift fixes beta = 1 - 2^-k)");
  }
  if (lif.leak_shift() > 0 && node.has("beta")) {
    node.fail("leak_shift", "expected no beta beside it (leak_shift sets beta = 1 - 2^-k)");
  }
  const int membrane_bits = node.get<int>("membrane_bits", 16);
  if (membrane_bits != 16 && membrane_bits != 32) {
    node.fail("membrane_bits", "expected 16 or 32, got " + std::to_string(membrane_bits));
  }
  lif.membrane_bits(membrane_bits);
  options.lif(lif);
  node.done();
  return torch::nn::AnyModule(SnnFlow(options));
}

}  // namespace lowbit::models
