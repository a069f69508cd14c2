// The dynshift path end to end below the CLI: a bias-free MLP whose hidden and output layers are
// quantized with dynshift lowers to DynamicShiftDense layers; with power-of-two input and weight
// steps the integer model reproduces the fake-quantized float model code for code, otherwise it
// agrees on the predicted class; the generated C matches the reference executor exactly; what
// cannot follow a per-sample scale is refused naming the layer.
#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/adam.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lowbit/export/c/c_build.h"
#include "lowbit/export/c/codegen.h"
#include "lowbit/export/lowering/lower_model.h"
#include "lowbit/export/reference_executor.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::exporter {
namespace {

namespace fs = std::filesystem;
using nn::QActivation;
using nn::QActivationOptions;
using nn::QLinear;
using nn::QLinearOptions;

constexpr int64_t kFeatures = 16;
constexpr int64_t kClasses = 5;

// Gaussian clusters of kFeatures values, one per class; {x, labels}.
std::pair<torch::Tensor, torch::Tensor> clusters(int64_t samples) {
  const torch::Tensor centers = torch::randn({kClasses, kFeatures});
  const torch::Tensor labels = torch::randint(kClasses, {samples}, torch::kLong);
  const torch::Tensor x =
      centers.index_select(0, labels) + 0.5 * torch::randn({samples, kFeatures});
  return {x, labels};
}

// Input quantizer, hidden widths 12 and 9, every dense layer bias-free with a dynshift output.
torch::nn::Sequential dynshift_mlp(const std::string& input_quant, const std::string& weights,
                                   bool bias = false) {
  const auto dense = [&](int64_t in, int64_t out) {
    return QLinear(QLinearOptions(in, out).bias(bias).weight_quant(weights));
  };
  return torch::nn::Sequential(
      QActivation(QActivationOptions("none").output_quant(input_quant)), dense(kFeatures, 12),
      QActivation(QActivationOptions("relu").output_quant("dynshift")), dense(12, 9),
      QActivation(QActivationOptions("relu").output_quant("dynshift")), dense(9, kClasses),
      QActivation(QActivationOptions("none").output_quant("dynshift:signed=1")));
}

void train(torch::nn::Sequential& net, const torch::Tensor& x, const torch::Tensor& labels) {
  net->train();
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < 60; ++step) {
    optimizer.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), labels).backward();
    optimizer.step();
  }
  net->eval();
}

std::vector<int8_t> quantized_inputs(const IntegerModel& model, const torch::Tensor& x) {
  const torch::Tensor flat = x.reshape({x.size(0), -1}).contiguous().to(torch::kDouble);
  std::vector<int8_t> inputs(static_cast<size_t>(flat.numel()));
  for (int64_t i = 0; i < flat.numel(); ++i) {
    inputs[static_cast<size_t>(i)] =
        quantize_input(flat.data_ptr<double>()[i], model.input_scale, model.input_zero_point);
  }
  return inputs;
}

// Exports the model as C, builds it and runs it on `inputs`: 0 mismatches with the reference.
void expect_c_matches_reference(const IntegerModel& model, const std::vector<int8_t>& inputs,
                                int64_t samples, const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("lowbit_dynshift_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  CodegenOptions options;
  options.prefix = "net";
  export_model(model, (dir / "export").string(), options);
  const VerifyReport report = verify_export(model, (dir / "export").string(), "net", inputs,
                                            samples, (dir / "build").string());
  EXPECT_TRUE(report.ok()) << report.describe();
  EXPECT_EQ(report.samples, samples);
  fs::remove_all(dir);
}

TEST(DynamicShiftDense, PowerOfTwoStepsMakeTheIntegerModelEqualTheFloatModel) {
  torch::manual_seed(21);
  // Steps 2^-5 (input) and 2^-3 (weights): every float product and sum is exact.
  torch::nn::Sequential net = dynshift_mlp("uniform:bits=8,integer=2", "uniform:bits=4,integer=0");
  const auto [x, labels] = clusters(400);
  train(net, x, labels);
  const IntegerModel model = lower_model(*net, Shape{kFeatures, 1, 1}, "dynshift_po2");
  ASSERT_EQ(model.layers.size(), 3u);
  for (const Layer& layer : model.layers) {
    ASSERT_TRUE(std::holds_alternative<DynamicShiftDense>(layer.op)) << layer.name;
    EXPECT_TRUE(std::get<DynamicShiftDense>(layer.op).bias.empty());
  }
  EXPECT_TRUE(std::get<DynamicShiftDense>(model.layers[0].op).relu);
  EXPECT_FALSE(std::get<DynamicShiftDense>(model.layers[2].op).relu);

  const std::vector<int8_t> inputs = quantized_inputs(model, x);
  const std::vector<int8_t> codes = ReferenceExecutor(model).run_batch(inputs, x.size(0));
  torch::NoGradGuard no_grad;
  const torch::Tensor y = net->forward(x).contiguous();
  int64_t nonzero_samples = 0;
  for (int64_t n = 0; n < x.size(0); ++n) {
    // The float outputs are the codes times the sample's power-of-two scale.
    const float top = y[n].abs().max().item<float>();
    int top_code = 0;
    for (int64_t k = 0; k < kClasses; ++k) {
      top_code = std::max(top_code, std::abs(int{codes[static_cast<size_t>(n * kClasses + k)]}));
    }
    if (top == 0) {
      EXPECT_EQ(top_code, 0) << "sample " << n;
      continue;
    }
    ++nonzero_samples;
    const float scale = top / static_cast<float>(top_code);
    int exponent = 0;
    ASSERT_EQ(std::frexp(scale, &exponent), 0.5f) << "sample " << n << ": scale " << scale;
    for (int64_t k = 0; k < kClasses; ++k) {
      EXPECT_EQ(y[n][k].item<float>(),
                static_cast<float>(codes[static_cast<size_t>(n * kClasses + k)]) * scale)
          << "sample " << n << " output " << k;
    }
  }
  EXPECT_GT(nonzero_samples, x.size(0) * 9 / 10);
  expect_c_matches_reference(model, inputs, x.size(0), "po2");
}

TEST(DynamicShiftDense, AnyStepsAgreeOnTheClassAndTheCMatches) {
  torch::manual_seed(22);
  // Learned input step and BitNetMCU's 4bitsym weights: scales that are not powers of two.
  torch::nn::Sequential net = dynshift_mlp("lsq:bits=8,signed=1", "sym:bits=4", /*bias=*/false);
  const auto [x, labels] = clusters(400);
  train(net, x, labels);
  const IntegerModel model = lower_model(*net, Shape{kFeatures, 1, 1}, "dynshift_any");
  const std::vector<int8_t> inputs = quantized_inputs(model, x);
  const std::vector<int8_t> codes = ReferenceExecutor(model).run_batch(inputs, x.size(0));
  torch::NoGradGuard no_grad;
  const torch::Tensor predicted = net->forward(x).argmax(1);
  int64_t agree = 0;
  for (int64_t n = 0; n < x.size(0); ++n) {
    int64_t best = 0;
    for (int64_t k = 1; k < kClasses; ++k) {
      if (codes[static_cast<size_t>(n * kClasses + k)] >
          codes[static_cast<size_t>(n * kClasses + best)]) {
        best = k;
      }
    }
    agree += best == predicted[n].item<int64_t>() ? 1 : 0;
  }
  EXPECT_GE(agree, x.size(0) * 95 / 100) << agree << " of " << x.size(0);
  expect_c_matches_reference(model, inputs, x.size(0), "any");
}

TEST(DynamicShiftDense, TheFirstLayerMayHaveABiasLaterOnesMayNot) {
  torch::manual_seed(23);
  torch::nn::Sequential first_bias(
      QActivation(QActivationOptions("none").output_quant("uniform:bits=8,integer=2")),
      QLinear(QLinearOptions(kFeatures, 6).weight_quant("sym:bits=4")),
      QActivation(QActivationOptions("relu").output_quant("dynshift")),
      QLinear(QLinearOptions(6, kClasses).bias(false).weight_quant("sym:bits=4")),
      QActivation(QActivationOptions("none").output_quant("dynshift:signed=1")));
  const auto [x, labels] = clusters(64);
  train(first_bias, x, labels);
  const IntegerModel model = lower_model(*first_bias, Shape{kFeatures, 1, 1}, "first_bias");
  EXPECT_EQ(std::get<DynamicShiftDense>(model.layers[0].op).bias.size(), 6u);
  expect_c_matches_reference(model, quantized_inputs(model, x), x.size(0), "bias");

  torch::nn::Sequential later_bias =
      dynshift_mlp("uniform:bits=8,integer=2", "sym:bits=4", /*bias=*/true);
  try {
    lower_model(*later_bias, Shape{kFeatures, 1, 1}, "later_bias");
    FAIL() << "a bias after a per-sample scale was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layer '3'"), std::string::npos) << what;
    EXPECT_NE(what.find("per-sample scale"), std::string::npos) << what;
    EXPECT_NE(what.find("bias: false"), std::string::npos) << what;
  }
}

std::string error_of(torch::nn::Sequential net, const Shape& shape) {
  try {
    lower_model(*net, shape, "bad");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(DynamicShiftDense, WhatCannotFollowAPerSampleScaleIsRefusedNamingTheLayer) {
  const Shape vector{kFeatures, 1, 1};
  // A fixed-scale output after a dynshift one: the logits need dynshift too.
  const std::string fixed = error_of(
      torch::nn::Sequential(
          QActivation(QActivationOptions("none").output_quant("uniform:bits=8,integer=2")),
          QLinear(QLinearOptions(kFeatures, 6).bias(false).weight_quant("sym:bits=4")),
          QActivation(QActivationOptions("relu").output_quant("dynshift")),
          QLinear(QLinearOptions(6, kClasses).bias(false).weight_quant("sym:bits=4")),
          QActivation(QActivationOptions("none").output_quant("uniform:bits=8,integer=2"))),
      vector);
  EXPECT_NE(fixed.find("layer '3'"), std::string::npos) << fixed;
  EXPECT_NE(fixed.find("output of '1'"), std::string::npos) << fixed;
  EXPECT_NE(fixed.find("dynshift:signed=1"), std::string::npos) << fixed;

  // Per-channel weight scales cannot share one shift.
  const std::string per_channel = error_of(
      torch::nn::Sequential(
          QActivation(QActivationOptions("none").output_quant("uniform:bits=8,integer=2")),
          QLinear(
              QLinearOptions(kFeatures, 6).bias(false).weight_quant("sym:bits=4,per_channel=1")),
          QActivation(QActivationOptions("relu").output_quant("dynshift"))),
      vector);
  EXPECT_NE(per_channel.find("layer '1'"), std::string::npos) << per_channel;
  EXPECT_NE(per_channel.find("per_channel=0"), std::string::npos) << per_channel;

  // An activation the shift cannot merge.
  const std::string relu6 =
      error_of(torch::nn::Sequential(
                   QActivation(QActivationOptions("none").output_quant("uniform:bits=8,integer=2")),
                   QLinear(QLinearOptions(kFeatures, 6).bias(false).weight_quant("sym:bits=4")),
                   QActivation(QActivationOptions("relu6").output_quant("dynshift"))),
               vector);
  EXPECT_NE(relu6.find("layer '2'"), std::string::npos) << relu6;
  EXPECT_NE(relu6.find("relu6"), std::string::npos) << relu6;

  // More than int8 codes.
  const std::string wide =
      error_of(torch::nn::Sequential(
                   QActivation(QActivationOptions("none").output_quant("uniform:bits=8,integer=2")),
                   QLinear(QLinearOptions(kFeatures, 6).bias(false).weight_quant("sym:bits=4")),
                   QActivation(QActivationOptions("relu").output_quant("dynshift:bits=12"))),
               vector);
  EXPECT_NE(wide.find("bits <= 8"), std::string::npos) << wide;

  // A convolution's output: the shift is a dense layer's.
  const std::string conv =
      error_of(torch::nn::Sequential(
                   QActivation(QActivationOptions("none").output_quant("uniform:bits=8,integer=2")),
                   nn::QConv2d(nn::QConv2dOptions(1, 2, 3).bias(false).weight_quant("sym:bits=4")),
                   QActivation(QActivationOptions("relu").output_quant("dynshift"))),
               Shape{1, 6, 6});
  EXPECT_NE(conv.find("after a QLinear only"), std::string::npos) << conv;
}

TEST(DynamicShiftDense, ReferenceRuleSolvesTheDefiningInequality) {
  // m < 128 * 2^s with s the smallest such integer; ties round up; left shifts for small sums.
  int shift = 99;
  EXPECT_EQ(reference_dynamic_shift({255, 3, 1, -7}, 127, true, &shift),
            (std::vector<int8_t>{127, 2, 1, 0}));
  EXPECT_EQ(shift, 1);
  EXPECT_EQ(reference_dynamic_shift({3, -1, 0}, 127, true, &shift),
            (std::vector<int8_t>{96, 0, 0}));
  EXPECT_EQ(shift, -5);
  EXPECT_EQ(reference_dynamic_shift({-3, 1}, 127, false, &shift), (std::vector<int8_t>{-96, 32}));
  EXPECT_EQ(shift, -5);
  EXPECT_EQ(reference_dynamic_shift({-5, -1}, 127, true, &shift), (std::vector<int8_t>{0, 0}));
  EXPECT_EQ(shift, 0);
  EXPECT_EQ(reference_dynamic_shift({-(int64_t{1} << 31), 3}, 127, false, &shift),
            (std::vector<int8_t>{-64, 0}));
  EXPECT_EQ(shift, 25);
  // Round half up: -1.5 -> -1, 1.5 -> 2.
  EXPECT_EQ(reference_dynamic_shift({-3, 3, 200}, 127, false, &shift),
            (std::vector<int8_t>{-1, 2, 100}));
  EXPECT_EQ(shift, 1);
}

}  // namespace
}  // namespace lowbit::exporter
