#include "lowbit/train/quantize/batch_norm_fold.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/models/cnn_mcu.h"
#include "lowbit/models/mlp.h"
#include "lowbit/nn/foldable_batch_norm.h"
#include "lowbit/train/checkpoint/model_state.h"
#include "lowbit/train/checkpoint/warm_start.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/run_config.h"

namespace lowbit::train {
namespace {

// Gives every batch norm non-trivial statistics and affine parameters, as training would.
void randomize_batch_norms(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& item : model.named_buffers()) {
    if (item.key().find("running_mean") != std::string::npos) item.value().normal_(0.0, 0.5);
    if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.2, 3.0);
  }
  for (auto& item : model.named_parameters()) {
    if (item.key().rfind("bn", 0) == 0 || item.key().rfind("norm", 0) == 0) {
      item.value().uniform_(-1.5, 1.5);  // includes negative gammas
    }
  }
}

models::CnnMcu small_cnn() {
  return models::CnnMcu(
      models::CnnMcuOptions().image_size(8).channels(3).hidden({5}).classes(4).batch_norm(true));
}

models::Mlp mlp_without_bias() {
  models::MlpOptions options;
  options.in_features = 6;
  options.widths = {7, 5};
  options.num_outputs = 3;
  options.norm = "batch";
  options.bias = false;
  return models::Mlp(options);
}

TEST(FoldBatchNorms, CnnGivesTheSameEvalOutputAsBeforeFolding) {
  torch::manual_seed(3);
  models::CnnMcu model = small_cnn();
  randomize_batch_norms(*model);
  model->eval();
  const torch::Tensor x = torch::randn({6, 1, 8, 8});
  torch::NoGradGuard no_grad;
  const torch::Tensor before = model->forward(x);
  EXPECT_EQ(fold_batch_norms(*model, "*"), (std::vector<std::string>{"bn1", "bn2"}));
  EXPECT_TRUE(nn::is_folded_batch_norm(*model->named_children()["bn1"]));
  const torch::Tensor after = model->forward(x);
  EXPECT_TRUE(torch::allclose(before, after, 1e-4, 1e-5)) << (before - after).abs().max();
  // Training mode no longer normalizes by the batch either: the batch norm is the identity.
  model->train();
  EXPECT_TRUE(torch::allclose(model->forward(x), after, 1e-4, 1e-5));
}

TEST(FoldBatchNorms, LayerWithoutBiasGetsOneAndTheOutputIsKept) {
  torch::manual_seed(4);
  models::Mlp model = mlp_without_bias();
  randomize_batch_norms(*model);
  model->eval();
  const torch::Tensor x = torch::randn({9, 6});
  torch::NoGradGuard no_grad;
  const torch::Tensor before = model->forward(x);
  const int64_t parameters = parameter_count(*model);
  EXPECT_EQ(fold_batch_norms(*model, "norm*"), (std::vector<std::string>{"norm1", "norm2"}));
  EXPECT_EQ(parameter_count(*model), parameters + 7 + 5);  // fc1 and fc2 biases
  EXPECT_TRUE(model->named_parameters().contains("fc1.bias"));
  EXPECT_TRUE(torch::allclose(before, model->forward(x), 1e-4, 1e-5));
}

TEST(FoldBatchNorms, OnlyMatchingBatchNormsFoldAndRefoldingIsANoOp) {
  torch::manual_seed(5);
  models::CnnMcu model = small_cnn();
  EXPECT_EQ(fold_batch_norms(*model, "bn2"), std::vector<std::string>{"bn2"});
  EXPECT_FALSE(nn::is_folded_batch_norm(*model->named_children()["bn1"]));
  EXPECT_TRUE(fold_batch_norms(*model, "bn2").empty());
  EXPECT_THROW(fold_batch_norms(*model, "conv*"), std::invalid_argument);
}

TEST(FoldBatchNorms, FoldedStateLoadsIntoAFreshModelAndWarmStarts) {
  torch::manual_seed(6);
  models::Mlp folded = mlp_without_bias();
  randomize_batch_norms(*folded);
  fold_batch_norms(*folded, "*");
  const NamedTensors state = model_state(*folded);
  EXPECT_NE(state.find("norm1.folded"), nullptr);
  folded->eval();
  const torch::Tensor x = torch::randn({4, 6});
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = folded->forward(x);

  models::Mlp resumed = mlp_without_bias();
  load_model_state(*resumed, state, "test");  // strict: needs the biases and the marks
  resumed->eval();
  EXPECT_TRUE(torch::equal(resumed->forward(x), expected));

  models::Mlp warm = mlp_without_bias();
  const WarmStartReport report = warm_start(*warm, state, /*strict=*/true);
  EXPECT_TRUE(report.unused.empty());
  warm->eval();
  EXPECT_TRUE(torch::equal(warm->forward(x), expected));
}

TEST(FoldBatchNorms, QuantizedModelFoldsAndAModelWithoutBatchNormIsAnError) {
  models::MlpOptions options;
  options.in_features = 4;
  options.widths = {3};
  options.norm = "batch";
  models::Mlp model(options);
  // A quantized model still folds: the event works on the latent weights.
  QuantizationConfig quantization;
  quantization.weights = "uniform:bits=4";
  quantize_model(*model, quantization);
  EXPECT_EQ(fold_batch_norms(*model, "*"), std::vector<std::string>{"norm1"});
  // cnn_mcu without batch_norm has nothing to fold.
  models::CnnMcu plain(models::CnnMcuOptions().image_size(8).channels(2));
  try {
    fold_batch_norms(*plain, "*");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("match no foldable batch norm"), std::string::npos);
  }
}

TEST(FoldBatchNormEvent, ParsesAndAppliesThroughApplyQuantizerEvent) {
  const EpochEvent event = parse_event(
      config::ConfigNode::parse("{at: 1, action: fold_batchnorm, layers: 'bn*'}", "e.yaml"), 3);
  EXPECT_EQ(event.action, EventAction::kFoldBatchNorm);
  EXPECT_EQ(event.layers, "bn*");
  EXPECT_THROW(
      parse_event(config::ConfigNode::parse("{at: 1, action: fold_batchnorm, bits: 3}", "e.yaml"),
                  3),
      std::exception);
  models::CnnMcu model = small_cnn();
  const std::string what = apply_quantizer_event(*model, event);
  EXPECT_NE(what.find("folded 2 batch norm(s)"), std::string::npos) << what;
}

}  // namespace
}  // namespace lowbit::train
