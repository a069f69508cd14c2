// Seed 003's run configs (configs/snn_flow_*.yaml) read as the seed's
// pipeline: stage order, warm-start chain, bit widths, hyper-parameters; and the best-checkpoint
// default of flow stages (lowest val_aee).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "lowbit/quant/integer_form.h"
#include "lowbit/quant/registry.h"
#include "lowbit/train/run_config.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

std::string source_path(const std::string& relative) {
  return (fs::path(LOWBIT_SOURCE_DIR) / relative).string();
}

// The bits of a stage's SPEC for `role` (0: no quantizer).
int spec_bits(const std::string& spec, quant::Role role) {
  if (spec.empty()) return 0;
  return quant::make_quantizer(std::string_view(spec), role)->bits();
}

const char* kFlowRun = R"(seed: 1
threads: 1
data: {source: events_synthetic, size: [16, 16], time_steps: 2, train_samples: 8, test_samples: 2}
model: {type: snn_flow, base_channels: 2, time_steps: 2}
stages:
  - {name: epe, epochs: 1, optimizer: {type: adam, lr: 0.001}, loss: {type: flow_epe}}
  - {name: charb, epochs: 1, optimizer: {type: adam, lr: 0.001}, loss: {type: charbonnier}}
  - {name: explicit, epochs: 1, optimizer: {type: adam, lr: 0.001}, loss: {type: flow_epe},
     best: {metric: val_loss}}
  - {name: mse, epochs: 1, optimizer: {type: adam, lr: 0.001}, loss: {type: mse}}
)";

TEST(FlowBestDefault, FlowLossesKeepTheLowestValAee) {
  const RunConfig run = parse_run_config(config::ConfigNode::parse(kFlowRun, "flow.yaml"));
  for (const std::string name : {"epe", "charb"}) {
    EXPECT_EQ(run.stage(name).best_metric, "val_aee") << name;
    EXPECT_EQ(run.stage(name).best_mode, MetricMode::kMin) << name;
  }
}

TEST(FlowBestDefault, AnExplicitBestAndOtherLossesAreUnchanged) {
  const RunConfig run = parse_run_config(config::ConfigNode::parse(kFlowRun, "flow.yaml"));
  EXPECT_EQ(run.stage("explicit").best_metric, "val_loss");
  EXPECT_EQ(run.stage("explicit").best_mode, MetricMode::kMin);
  EXPECT_EQ(run.stage("mse").best_metric, "val_accuracy");
  EXPECT_EQ(run.stage("mse").best_mode, MetricMode::kMax);
}

// Properties every seed 003 chain shares, whatever its size.
void expect_seed_chain(const RunConfig& run, const std::string& file) {
  SCOPED_TRACE(file);
  const std::vector<std::string> names = {"fp", "w8", "w4", "w2", "w1"};
  const std::vector<int> bits = {0, 8, 4, 2, 1};
  ASSERT_GE(run.stages.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const StageConfig& s = run.stages[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.name, names[i]);
    EXPECT_TRUE(is_flow_loss(s.loss.type));
    EXPECT_EQ(s.best_metric, "val_aee");
    EXPECT_EQ(s.best_mode, MetricMode::kMin);
    EXPECT_EQ(s.clipping.mode, ClipMode::kGlobalNorm);
    EXPECT_EQ(spec_bits(s.quantization.weights, quant::Role::kWeight), bits[i]);
    EXPECT_EQ(spec_bits(s.quantization.outputs, quant::Role::kActivation), bits[i]);
    if (i == 0) {
      EXPECT_TRUE(s.from.empty());
      EXPECT_TRUE(s.regularizers.empty());
      continue;
    }
    // Warm start from the previous stage's best checkpoint, every float tensor copied.
    EXPECT_EQ(s.from, names[i - 1]);
    EXPECT_TRUE(s.from_stage);
    EXPECT_TRUE(s.strict);
    // The seed's quant_weight.
    ASSERT_EQ(s.regularizers.size(), 1u);
    EXPECT_EQ(s.regularizers[0]->name(), "quant_error");
    // The flow head's output (the flow itself) stays float.
    ASSERT_EQ(s.quantization.layers.size(), 1u);
    EXPECT_EQ(s.quantization.layers[0].pattern, "flow");
    EXPECT_EQ(s.quantization.layers[0].outputs.value_or("?"), "");
  }
  EXPECT_EQ(run.stages[4].quantization.weights, "binary");
}

TEST(SnnFlowConfigs, TheChainHasTheSeedsStageHyperParameters) {
  const std::string file = source_path("configs/snn_flow_chain.yaml");
  const RunConfig run = load_run_config(file);
  expect_seed_chain(run, file);
  ASSERT_EQ(run.stages.size(), 5u);
  // event_snn_lite_{8,4,2,1}bit.yaml: epochs and learning rates.
  const std::vector<int64_t> epochs = {30, 30, 40, 50};
  const std::vector<double> lrs = {5e-5, 2e-5, 1e-5, 5e-6};
  for (size_t i = 0; i < epochs.size(); ++i) {
    EXPECT_EQ(run.stages[i + 1].epochs, epochs[i]) << run.stages[i + 1].name;
    EXPECT_DOUBLE_EQ(run.stages[i + 1].optimizer.lr, lrs[i]) << run.stages[i + 1].name;
  }
}

TEST(SnnFlowConfigs, TheFullSizeConfigsUseTheSeedsModelAndFpStage) {
  const RunConfig fp = load_run_config(source_path("configs/snn_flow_fp.yaml"));
  ASSERT_EQ(fp.stages.size(), 1u);
  for (const std::string name : {"snn_flow_fp", "snn_flow_chain", "snn_flow_progressive"}) {
    const RunConfig run = load_run_config(source_path("configs/" + name + ".yaml"));
    SCOPED_TRACE(name);
    EXPECT_EQ(run.model->get<std::string>("type", ""), "snn_flow");
    EXPECT_EQ(run.model->get<int64_t>("base_channels", 0), 32);
    EXPECT_EQ(run.data->get<std::string>("source", ""), "events_synthetic");
    // One FP recipe for all three, so the chain and the progressive run start alike.
    EXPECT_EQ(run.stages[0].yaml, fp.stages[0].yaml);
  }
}

TEST(SnnFlowConfigs, TheProgressiveStageDropsFrom8To4To2Bits) {
  const RunConfig run = load_run_config(source_path("configs/snn_flow_progressive.yaml"));
  ASSERT_EQ(run.stages.size(), 2u);
  const StageConfig& p = run.stages[1];
  EXPECT_EQ(p.from, "fp");
  EXPECT_EQ(p.epochs, 90);
  EXPECT_EQ(p.best_metric, "val_aee");
  EXPECT_EQ(spec_bits(p.quantization.weights, quant::Role::kWeight), 8);
  EXPECT_EQ(spec_bits(p.quantization.outputs, quant::Role::kActivation), 8);
  ASSERT_EQ(p.regularizers.size(), 1u);
  EXPECT_EQ(p.regularizers[0]->name(), "quant_error");
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[0].at, 30);
  EXPECT_EQ(p.events[0].bits, 4);
  EXPECT_EQ(p.events[1].at, 60);
  EXPECT_EQ(p.events[1].bits, 2);
  for (const EpochEvent& e : p.events) {
    EXPECT_EQ(e.action, EventAction::kSetBits);
    EXPECT_EQ(e.role, "all");  // weights and convolution outputs together
  }
}

TEST(SnnFlowConfigs, TheCpuChainIsTheSameChainAtCpuSize) {
  const std::string file = source_path("configs/snn_flow_cpu_chain.yaml");
  const RunConfig run = load_run_config(file);
  expect_seed_chain(run, file);
  // One stage beside the chain: 4-bit weights, 8-bit outputs, from w8.
  ASSERT_EQ(run.stages.size(), 6u);
  const StageConfig& w4a8 = run.stages[5];
  EXPECT_EQ(w4a8.from, "w8");
  EXPECT_EQ(w4a8.epochs, run.stage("w4").epochs);
  EXPECT_EQ(spec_bits(w4a8.quantization.weights, quant::Role::kWeight), 4);
  EXPECT_EQ(spec_bits(w4a8.quantization.outputs, quant::Role::kActivation), 8);
  const auto size = run.data->get<std::vector<int64_t>>("size", {});
  ASSERT_EQ(size.size(), 2u);
  EXPECT_LE(size[0] * size[1], 64 * 64);
  EXPECT_LE(run.model->get<int64_t>("base_channels", 32), 16);
  EXPECT_EQ(run.threads, 1);
}

// The 4-bit stage's convolution outputs: a learned step (LSQ), one per tensor, so the stage
// stays exportable with per-tensor integer activations; the flow head stays float.
TEST(SnnFlowConfigs, TheCpuChainsFourBitOutputsHaveOneLearnedStepPerTensor) {
  const RunConfig run = load_run_config(source_path("configs/snn_flow_cpu_chain.yaml"));
  const StageConfig& w4 = run.stage("w4");
  quant::Quantizer q =
      quant::make_quantizer(std::string_view(w4.quantization.outputs), quant::Role::kActivation);
  EXPECT_EQ(q->spec().type(), "lsq");
  // A conv output: signed, with channels at different scales, as before a batch norm.
  torch::manual_seed(0);
  const torch::Tensor x =
      torch::randn({4, 8, 6, 6}) * torch::linspace(0.5, 20.0, 8).view({1, 8, 1, 1});
  q->train();
  q->forward(x);
  q->eval();
  const quant::IntegerForm form = q->integer_form(x);
  EXPECT_EQ(form.scale.numel(), 1);
  EXPECT_EQ(form.axis, -1);
  EXPECT_TRUE(form.is_signed);
  EXPECT_EQ(form.code_min, -8);
  EXPECT_EQ(form.code_max, 7);
  EXPECT_TRUE(torch::equal(form.zero_point, torch::zeros_like(form.zero_point)));
  EXPECT_LT(form.codes.min().item<int64_t>(), 0);
}

}  // namespace
}  // namespace lowbit::train
