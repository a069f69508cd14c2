// Stage quantization of spiking models: the membrane slot (`quantization: {state: BITS}`), its
// set_bits events, the quant_error (seed 003's quant_weight) penalty on spiking layers and the
// per-epoch range log.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lowbit/models/snn_flow.h"
#include "lowbit/nn/leaky.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/regularizers/regularizer.h"
#include "lowbit/train/report/quant_ranges.h"
#include "lowbit/train/run_config.h"
#include "lowbit/util/atomic_file.h"
#include "train/train_fixtures.h"

namespace lowbit::train {
namespace {

models::SnnFlow small_model() {
  torch::manual_seed(2);
  return models::SnnFlow(models::SnnFlowOptions().base_channels(4).residual_blocks(1));
}

QuantizationConfig quantization(const std::string& yaml) {
  return parse_quantization(config::ConfigNode::parse(yaml, "q.yaml"));
}

torch::Tensor events() {
  torch::manual_seed(9);
  return torch::rand({2, 3, 2, 16, 16}).gt(0.6).to(torch::kFloat32) * 2.0;
}

TEST(SpikingQuantization, StateSlotSetsEveryMembraneAndOverridesByGlob) {
  models::SnnFlow model = small_model();
  const QuantizationReport report = quantize_model(
      *model,
      quantization("{weights: 'uniform:bits=4', state: 8, "
                   "layers: [{match: 'enc1.*', state: 4}, {match: 'res1?.lif', state: 0}]}"));
  std::vector<std::string> leaky;
  for (const auto& l : report.layers) {
    if (l.kind == "Leaky") leaky.push_back(l.layer + "=" + std::to_string(l.specs.state));
  }
  EXPECT_EQ(leaky,
            (std::vector<std::string>{"enc1.lif=4", "enc2.lif=8", "enc3.lif=8", "enc4.lif=8"}));
  EXPECT_NE(report.text().find("enc2.lif (Leaky): state=8 bits"), std::string::npos)
      << report.text();
  EXPECT_TRUE(report.unmatched_patterns.empty());
  EXPECT_EQ(model->named_modules()["res1a.lif"]->as<nn::LeakyImpl>()->options.state_quant_bits(),
            0);
  EXPECT_EQ(bits_summary(*model), "w4 afp s4/8");

  // The membrane lies on its grid after every step.
  auto enc2 = model->named_modules()["enc2"]->as<nn::SpikingConv2dImpl>();
  const nn::LeakyTrace trace = enc2->lif->run(
      enc2->currents(model->named_modules()["enc1"]->as<nn::SpikingConv2dImpl>()->forward(
          events().transpose(0, 1))));
  const torch::Tensor levels = enc2->lif->state_levels();
  ASSERT_EQ(levels.numel(), 256);
  const torch::Tensor distance =
      (trace.membrane.reshape({-1, 1}) - levels.reshape({1, -1})).abs().amin(1);
  EXPECT_LT(distance.max().item<double>(), 1e-5);

  // set_bits: role state reaches every matching membrane, role all the quantized ones only.
  EpochEvent event;
  event.action = EventAction::kSetBits;
  event.bits = 2;
  event.role = "all";
  apply_quantizer_event(*model, event);
  EXPECT_EQ(model->named_modules()["enc3.lif"]->as<nn::LeakyImpl>()->options.state_quant_bits(), 2);
  EXPECT_EQ(model->named_modules()["res1a.lif"]->as<nn::LeakyImpl>()->options.state_quant_bits(),
            0);
  event.role = "state";
  event.layers = "res1a.*";
  event.bits = 6;
  EXPECT_NE(apply_quantizer_event(*model, event).find("1 quantizer"), std::string::npos);
  EXPECT_EQ(model->named_modules()["res1a.lif"]->as<nn::LeakyImpl>()->options.state_quant_bits(),
            6);
  event.layers = "dec*";
  EXPECT_THROW(apply_quantizer_event(*model, event), std::invalid_argument);
}

TEST(SpikingQuantization, StateConfigErrors) {
  EXPECT_THROW(quantization("{state: 17}"), config::ConfigError);
  EXPECT_THROW(
      parse_event(config::ConfigNode::parse("{at: 0, action: freeze, role: state}", "e.yaml"), 3),
      config::ConfigError);
  const EpochEvent e = parse_event(
      config::ConfigNode::parse("{at: 1, action: set_bits, role: state, bits: 4}", "e.yaml"), 3);
  EXPECT_EQ(e.role, "state");
}

TEST(SpikingQuantization, QuantWeightPenaltyPullsSpikingConvWeightsOntoTheirGrid) {
  models::SnnFlow model = small_model();
  auto term =
      make_regularizer(config::ConfigNode::parse("{type: quant_error, weight: 0.001}", "r.yaml"));
  // Full precision: nothing to pull.
  EXPECT_EQ(term->penalty(*model, 0).item<double>(), 0.0);
  quantize_model(*model, quantization("{weights: 'uniform:bits=2', state: 4}"));
  torch::Tensor penalty = term->penalty(*model, 0);
  EXPECT_GT(penalty.item<double>(), 0.0);
  penalty.backward();
  // The spiking blocks' convolutions, the decoder and the head all get the pull.
  for (const char* name : {"enc1.conv.weight", "res1b.conv.weight", "dec3.weight", "flow.weight"}) {
    EXPECT_GT(model->named_parameters()[name].grad().abs().sum().item<double>(), 0.0) << name;
  }
  // Descending the penalty lowers it: the weights move towards their grid.
  const double before = penalty.item<double>();
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) {
    if (p.grad().defined()) p.sub_(p.grad() * 100.0);
  }
  EXPECT_LT(term->penalty(*model, 0).item<double>(), before);
}

class QuantRangeTest : public testing::TempDirTest {};

TEST_F(QuantRangeTest, EmaRangesAndMembraneGridsPerEpoch) {
  models::SnnFlow model = small_model();
  quantize_model(*model, quantization("{outputs: 'uniform:bits=8,signed=1,scale=ema', "
                                      "state: 4}"));
  // No observation yet: only the membranes.
  std::vector<QuantRange> ranges = quantization_ranges(*model);
  ASSERT_EQ(ranges.size(), 6u);  // enc1..enc4, res1a, res1b
  EXPECT_EQ(ranges[0].role, "state");
  EXPECT_EQ(ranges[0].bits, 4);
  EXPECT_NEAR(ranges[0].min, -1.0, 1e-6);  // -thr (1 + 0)
  EXPECT_NEAR(ranges[0].max, 1.2, 1e-6);   // thr (1 + 0.2)
  model->train();
  const torch::Tensor x = events();
  model->forward(x);
  ranges = quantization_ranges(*model);
  // Every conv output observer (float weights here, so the ranges can be recomputed), then the
  // membranes.
  ASSERT_EQ(ranges.size(), 6u + 11u);
  EXPECT_EQ(ranges[0].layer, "enc1.conv");
  EXPECT_EQ(ranges[0].role, "outputs");
  // The first observation sets the EMA to the batch's own range of enc1's convolution outputs.
  auto enc1 = model->named_modules()["enc1"]->as<nn::SpikingConv2dImpl>();
  torch::Tensor frames = x.transpose(0, 1).reshape({-1, 2, 16, 16});
  torch::Tensor raw = torch::conv2d(frames, enc1->conv->weight, {}, 2, 1);
  EXPECT_NEAR(ranges[0].min, raw.min().item<double>(), 1e-5);
  EXPECT_NEAR(ranges[0].max, raw.max().item<double>(), 1e-5);
  EXPECT_EQ(ranges[11].role, "state");

  log_quantization_ranges(path("q.csv"), "w8", 1, *model);
  model->forward(x * 0.5);
  log_quantization_ranges(path("q.csv"), "w8", 2, *model);
  const std::string csv = util::read_file(path("q.csv"));
  EXPECT_EQ(csv.rfind("stage,epoch,layer,role,bits,min,max\nw8,1,enc1.conv,outputs,8,", 0), 0u)
      << csv;
  EXPECT_NE(csv.find("\nw8,2,enc4.lif,state,4,-1,1.2\n"), std::string::npos) << csv;
  int rows = 0;
  for (char c : csv) rows += c == '\n';
  EXPECT_EQ(rows, 1 + 2 * 17);
}

}  // namespace
}  // namespace lowbit::train
