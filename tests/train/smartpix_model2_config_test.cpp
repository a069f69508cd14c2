// configs/smartpix_model2.yaml and configs/smartpix_model2_qkeras.yaml read as documented: the
// QKeras initialisation of the dense layers, which stages warm-start from fp and which train from
// scratch, and the weight and activation widths of each bit configuration; both models build.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "lowbit/models/model.h"
#include "lowbit/models/smartpix_model2.h"
#include "lowbit/quant/registry.h"
#include "lowbit/train/run_config.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

std::string source_path(const std::string& relative) {
  return (fs::path(LOWBIT_SOURCE_DIR) / relative).string();
}

int spec_bits(const std::string& spec, quant::Role role) {
  if (spec.empty()) return 0;
  return quant::make_quantizer(std::string_view(spec), role)->bits();
}

const std::vector<std::string> kNames = {"fp", "w8i0", "w6i0", "w4i0", "w3i0", "w2i0"};
const std::vector<int> kBits = {0, 8, 6, 4, 3, 2};

// Both configs fit the kernels of stages trained from scratch to their weight grid; the QKeras
// recipe also initialises as QDense (he_normal, zero biases) with Model2's one dropout, the other
// keeps LibTorch's initialisation and three dropouts, so its FP and warm-started stages are as
// before.
void expect_model(const RunConfig& run, bool qkeras) {
  EXPECT_EQ(run.model->get<std::string>("type", ""), "smartpix_model2");
  EXPECT_EQ(run.model->get<std::string>("kernel_initializer", "torch_default"),
            qkeras ? "he_normal" : "torch_default");
  EXPECT_EQ(run.model->get<std::string>("bias_initializer", "torch_default"),
            qkeras ? "zeros" : "torch_default");
  EXPECT_TRUE(run.model->get<bool>("fit_kernel_to_grid", false));
  EXPECT_EQ(run.model->get<bool>("dropout_first_only", false), qkeras);
  torch::nn::AnyModule model =
      models::build_model(*run.model, models::SmartpixModel2Impl::kInputFeatures, 1);
  EXPECT_NE(model.ptr()->as<models::SmartpixModel2Impl>(), nullptr);
}

TEST(SmartpixModel2Config, WarmStartsTo4BitsAndTrains3And2BitsFromScratch) {
  const RunConfig run = load_run_config(source_path("configs/smartpix_model2.yaml"));
  expect_model(run, /*qkeras=*/false);
  ASSERT_EQ(run.stages.size(), kNames.size());
  for (size_t i = 0; i < kNames.size(); ++i) {
    const StageConfig& s = run.stages[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.name, kNames[i]);
    EXPECT_EQ(spec_bits(s.quantization.weights, quant::Role::kWeight), kBits[i]);
    EXPECT_EQ(spec_bits(s.quantization.biases, quant::Role::kBias), kBits[i]);
    EXPECT_EQ(spec_bits(s.quantization.activations, quant::Role::kActivation), kBits[i]);
    const bool warm = kBits[i] >= 4;
    EXPECT_EQ(s.from, warm ? "fp" : "");
    // Fine-tuning uses the seeds' conservative decay; from scratch, the FP schedule.
    EXPECT_DOUBLE_EQ(s.optimizer.lr, warm ? 5e-4 : 1e-3);
    EXPECT_DOUBLE_EQ(s.lr_schedule.end_lr, warm ? 1e-5 : 1e-4);
  }
}

TEST(SmartpixModel2Config, QKerasRecipeTrainsEveryWidthFromScratchWith8BitActivations) {
  const RunConfig run = load_run_config(source_path("configs/smartpix_model2_qkeras.yaml"));
  expect_model(run, /*qkeras=*/true);
  ASSERT_EQ(run.stages.size(), kNames.size());
  for (size_t i = 0; i < kNames.size(); ++i) {
    const StageConfig& s = run.stages[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.name, kNames[i]);
    EXPECT_TRUE(s.from.empty());
    EXPECT_DOUBLE_EQ(s.optimizer.lr, 1e-3);
    EXPECT_DOUBLE_EQ(s.lr_schedule.end_lr, 1e-4);
    EXPECT_EQ(spec_bits(s.quantization.weights, quant::Role::kWeight), kBits[i]);
    EXPECT_EQ(spec_bits(s.quantization.activations, quant::Role::kActivation), i == 0 ? 0 : 8);
  }
}

}  // namespace
}  // namespace lowbit::train
