#include "lowbit/models/snn_flow.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <string>
#include <vector>

#include "lowbit/models/model.h"
#include "lowbit/train/checkpoint/model_state.h"
#include "lowbit/train/checkpoint/warm_start.h"
#include "lowbit/train/quantize/quantize_model.h"

namespace lowbit::models {
namespace {

int64_t parameter_count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(SnnFlow, BaseChannels32HasTheSeedsSize) {
  SnnFlow model(SnnFlowOptions{});
  // Encoder 3x3: 2*32 + 32*64 + 64*128 + 128*128 weights; 4 residual convs 128*128; decoder 4x4:
  // 128*64, 192*64, 128*32, 64*32; head 3x3 32*2; plus biases and batch-norm affine parameters.
  const int64_t convs = 9 * (2 * 32 + 32 * 64 + 64 * 128 + 128 * 128 + 4 * 128 * 128) +
                        16 * (128 * 64 + 192 * 64 + 128 * 32 + 64 * 32) + 9 * 32 * 2;
  const int64_t extras = 2 * (32 + 64 + 128 + 128 + 4 * 128) + (64 + 64 + 32 + 32) + 2;
  EXPECT_EQ(parameter_count(*model), convs + extras);
  // The seed's EventSNNFlowNetLiteV2 at base_ch=32: "~1.2M parameters".
  EXPECT_GT(parameter_count(*model), 1150000);
  EXPECT_LT(parameter_count(*model), 1350000);
}

TEST(SnnFlow, FlowOfTheInputsSizeForAnySize) {
  torch::manual_seed(1);
  SnnFlow model(SnnFlowOptions().base_channels(4));
  for (const auto& hw : std::vector<std::pair<int64_t, int64_t>>{{32, 32}, {17, 23}, {5, 9}}) {
    torch::Tensor events = torch::rand({2, 3, 2, hw.first, hw.second}).gt(0.7).to(torch::kFloat32);
    torch::Tensor flow = model->forward(events);
    EXPECT_EQ(flow.sizes(), (std::vector<int64_t>{2, 2, hw.first, hw.second}));
  }
  // Gradients reach the first spiking layer through the surrogate.
  torch::Tensor events = torch::rand({2, 3, 2, 16, 16}).gt(0.5).to(torch::kFloat32) * 3.0;
  model->forward(events).pow(2).mean().backward();
  EXPECT_GT(model->named_parameters()["enc1.conv.weight"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_THROW(model->forward(torch::zeros({2, 3, 3, 8, 8})), std::invalid_argument);
  SnnFlow fixed(SnnFlowOptions().base_channels(4).time_steps(5));
  EXPECT_THROW(fixed->forward(torch::zeros({1, 3, 2, 8, 8})), std::invalid_argument);
}

TEST(SnnFlow, BuiltFromConfigForFlowData) {
  const auto node = config::ConfigNode::parse(
      "{type: snn_flow, base_channels: 4, time_steps: 3, beta: 0.5, threshold: 0.5, "
      "surrogate: 'fast_sigmoid:slope=10', reset_mechanism: zero, learn_beta: true, "
      "per_channel: true}",
      "m.yaml");
  torch::nn::AnyModule model = build_model(node, 3 * 2 * 8 * 8, 2);
  auto params = model.ptr()->named_parameters();
  ASSERT_TRUE(params.contains("enc2.lif.beta"));
  EXPECT_EQ(params["enc2.lif.beta"].sizes(), (std::vector<int64_t>{8}));
  EXPECT_FLOAT_EQ(params["enc2.lif.beta"][0].item<float>(), 0.5f);
  EXPECT_EQ(model.forward(torch::zeros({1, 3, 2, 8, 8})).sizes(),
            (std::vector<int64_t>{1, 2, 8, 8}));
  // Class data or a T that does not divide the features is refused, naming the key.
  EXPECT_THROW(build_model(config::ConfigNode::parse("{type: snn_flow}", "m.yaml"), 100, 10),
               config::ConfigError);
  EXPECT_THROW(
      build_model(config::ConfigNode::parse("{type: snn_flow, time_steps: 5}", "m.yaml"), 96, 2),
      config::ConfigError);
  EXPECT_THROW(
      build_model(config::ConfigNode::parse("{type: snn_flow, surrogate: sigmoid}", "m.yaml"), 96,
                  2),
      config::ConfigError);
}

TEST(SnnFlow, WarmStartFromFpTo8BitByName) {
  torch::manual_seed(3);
  SnnFlow fp(SnnFlowOptions().base_channels(4));
  torch::Tensor events = torch::rand({2, 3, 2, 16, 16}).gt(0.6).to(torch::kFloat32) * 2.0;
  fp->train();
  fp->forward(events);  // batch-norm statistics away from their initial values
  torch::manual_seed(4);
  SnnFlow w8(SnnFlowOptions().base_channels(4));
  train::QuantizationConfig q;
  q.weights = "uniform:bits=8,narrow=1";
  q.outputs = "uniform:bits=8,signed=1,scale=ema";
  const train::QuantizationReport report = train::quantize_model(*w8, q);
  // Every convolution of the spiking blocks, the decoder and the head is quantized.
  EXPECT_EQ(report.layers.size(), 4u + 4u + 4u + 1u);
  const train::WarmStartReport warm = train::warm_start(*w8, train::model_state(*fp), true);
  EXPECT_EQ(warm.skipped(), 0);
  EXPECT_GT(warm.fresh(), 0);
  for (const auto& item : fp->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), w8->named_parameters()[item.key()])) << item.key();
  }
  for (const auto& item : fp->named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), w8->named_buffers()[item.key()])) << item.key();
  }
  // The 8-bit model stays close to the FP one on the same input.
  fp->eval();
  w8->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor a = fp->forward(events);
  w8->train();
  w8->forward(events);  // EMA observers see the activations once
  w8->eval();
  const torch::Tensor b = w8->forward(events);
  EXPECT_EQ(a.sizes(), b.sizes());
  EXPECT_LT((a - b).abs().mean().item<double>(), 0.25 * a.abs().mean().item<double>() + 1e-3);
}

}  // namespace
}  // namespace lowbit::models
