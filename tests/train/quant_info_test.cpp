#include "lowbit/train/report/quant_info.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>

#include "lowbit/nn/leaky.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::train {
namespace {

std::vector<double> values(const nlohmann::json& j) {
  if (j.is_number()) return {j.get<double>()};
  std::vector<double> out;
  for (const auto& v : j) {
    for (double x : values(v)) out.push_back(x);
  }
  return out;
}

std::vector<double> values(const torch::Tensor& t) {
  const torch::Tensor flat = t.detach().to(torch::kFloat64).reshape({-1}).contiguous();
  return {flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel()};
}

const nlohmann::json& slot(const nlohmann::json& layer, const std::string& name) {
  for (const auto& q : layer.at("quantizers")) {
    if (q.at("slot") == name) return q;
  }
  throw std::runtime_error("no slot " + name + " in " + layer.dump());
}

TEST(QuantInfo, LayersSlotsAndState) {
  torch::manual_seed(3);
  torch::nn::Sequential model;
  nn::QLinear fc1(4, 3), fc2(3, 2);
  fc1->set_weight_quant("uniform:bits=4");
  fc1->set_input_quant("uniform:bits=8");
  fc2->set_weight_quant("uniform:bits=2,per_channel=true");
  model->push_back("fc1", fc1);
  model->push_back("fc2", fc2);
  model->train();
  model->forward(torch::randn({16, 4}) * 3.0);  // the EMA observer sees a batch

  const nlohmann::json info = quantization_info(*model, {true});
  const auto& layers = info.at("layers");
  ASSERT_EQ(layers.size(), 2u) << info.dump(1);
  EXPECT_EQ(layers[0].at("name"), "fc1");
  EXPECT_EQ(layers[0].at("kind"), fc1->kind());
  EXPECT_EQ(layers[0].at("parameters"), 4 * 3 + 3);

  // Weights: the integer form of the weight tensor, codes included.
  const auto& w = slot(layers[0], "weights");
  EXPECT_EQ(w.at("bits"), 4);
  const quant::IntegerForm form = fc1->weight_quant()->integer_form(fc1->weight.detach());
  EXPECT_EQ(values(w.at("scale")), values(form.scale));
  EXPECT_EQ(values(w.at("zero_point")), values(form.zero_point));
  EXPECT_EQ(values(w.at("codes")), values(form.codes));
  EXPECT_EQ(w.at("codes").size(), 3u);  // nested [3][4]
  EXPECT_EQ(w.at("range").at("min").get<double>(), fc1->weight.min().item<double>());
  EXPECT_EQ(w.at("range").at("max").get<double>(), fc1->weight.max().item<double>());
  // Per-channel weights: one scale per output channel.
  EXPECT_EQ(slot(layers[1], "weights").at("scale").size(), 2u);
  EXPECT_EQ(slot(layers[1], "weights").at("bits"), 2);

  // Inputs: an EMA observer, so a static scale, its min/max and its saved buffers.
  const auto& in = slot(layers[0], "inputs");
  EXPECT_EQ(in.at("dynamic_scale"), false);
  const auto state = fc1->input_quant()->named_buffers(true);
  ASSERT_TRUE(state.contains("estimator.min_val"));
  EXPECT_EQ(in.at("ema").at("min").get<double>(), state["estimator.min_val"].item<double>());
  EXPECT_EQ(in.at("ema").at("max").get<double>(), state["estimator.max_val"].item<double>());
  for (const auto& item : state) {
    EXPECT_EQ(values(in.at("state").at(item.key())), values(item.value())) << item.key();
  }
  const torch::Tensor probe = torch::linspace(-1.0, 1.0, 64).reshape({1, 64});
  EXPECT_EQ(values(in.at("scale")), values(fc1->input_quant()->integer_form(probe).scale));
  EXPECT_GT(in.at("clip").at("max").get<double>(), 0.0);

  // Without --weights there are no codes.
  EXPECT_FALSE(slot(quantization_info(*model).at("layers")[0], "weights").contains("codes"));
}

TEST(QuantInfo, DynamicScaleIsSaid) {
  nn::QLinear fc(2, 2);
  fc->set_input_quant("uniform:bits=8,scale=absmax");
  const auto info = quantization_info(*fc);
  const auto& in = slot(info.at("layers")[0], "inputs");
  EXPECT_EQ(in.at("dynamic_scale"), true);
  EXPECT_TRUE(in.at("scale").is_null());
  EXPECT_FALSE(in.contains("ema"));
}

TEST(QuantInfo, LeakyNeurons) {
  torch::nn::Sequential model;
  model->push_back("lif", nn::Leaky(nn::LeakyOptions(0.8).threshold(0.5).state_quant_bits(3)));
  const auto info = quantization_info(*model);
  const auto& lif = info.at("layers")[0];
  EXPECT_EQ(lif.at("kind"), "Leaky");
  EXPECT_DOUBLE_EQ(lif.at("threshold").get<double>(), 0.5);
  EXPECT_NEAR(lif.at("beta").get<double>(), 0.8, 1e-7);
  EXPECT_EQ(lif.at("state_quant_bits"), 3);
  EXPECT_EQ(lif.at("state_levels").size(), 8u);
}

}  // namespace
}  // namespace lowbit::train
