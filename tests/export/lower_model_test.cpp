#include "lowbit/export/lowering/lower_model.h"

#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/adam.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "lowbit/export/c/c_build.h"
#include "lowbit/export/c/codegen.h"
#include "lowbit/export/reference_executor.h"
#include "lowbit/models/cnn_mcu.h"
#include "lowbit/models/graph.h"
#include "lowbit/models/resnet.h"
#include "lowbit/models/smartpix_model2.h"
#include "lowbit/nn/foldable_batch_norm.h"
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

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() /
                       ("lowbit_convert_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Gaussian clusters: class k is centred on a random point; returns {x, labels}.
std::pair<torch::Tensor, torch::Tensor> clusters(int64_t samples, std::vector<int64_t> shape,
                                                 int64_t classes, double noise = 0.5) {
  std::vector<int64_t> center_shape = {classes};
  center_shape.insert(center_shape.end(), shape.begin(), shape.end());
  const torch::Tensor centers = torch::randn(center_shape);
  const torch::Tensor labels = torch::randint(classes, {samples}, torch::kLong);
  const torch::Tensor x =
      centers.index_select(0, labels) + noise * torch::randn_like(centers.index_select(0, labels));
  return {x, labels};
}

void train(torch::nn::Module& model,
           const std::function<torch::Tensor(const torch::Tensor&)>& loss_of,
           const torch::Tensor& x, int steps) {
  model.train();
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    loss_of(x).backward();
    optimizer.step();
  }
  model.eval();
}

struct Comparison {
  double top1_agreement = 0;  // share of samples whose predicted class agrees
  double max_abs_error = 0;   // largest |integer - fake-quantized| output, in output steps
  double saturated = 0;       // share of int8 outputs at -128 or 127
};

// Runs the integer model on x, compares it with the fake-quantized outputs `expected` {N, K}
// (binary: the sign of one logit decides), and checks the generated C against the reference.
Comparison compare(const IntegerModel& model, const torch::Tensor& x, const torch::Tensor& expected,
                   const std::string& name) {
  const int64_t n = x.size(0);
  const torch::Tensor flat = x.reshape({n, -1}).contiguous().to(torch::kDouble);
  std::vector<int8_t> inputs(flat.numel());
  for (int64_t i = 0; i < flat.numel(); ++i) {
    inputs[i] =
        quantize_input(flat.data_ptr<double>()[i], model.input_scale, model.input_zero_point);
  }
  const ReferenceExecutor executor(model);
  const std::vector<int8_t> outputs = executor.run_batch(inputs, n);
  const Layer& last = model.layers.back();
  const int64_t k = executor.output_size();
  EXPECT_EQ(k, expected.size(1));
  torch::Tensor actual = torch::empty({n, k}, torch::kDouble);
  for (int64_t i = 0; i < n * k; ++i) {
    actual.data_ptr<double>()[i] =
        dequantize_output(outputs[i], last.output_scale, last.output_zero_point);
  }
  const torch::Tensor ref = expected.detach().to(torch::kDouble);
  Comparison result;
  result.max_abs_error = (actual - ref).abs().max().item<double>() / last.output_scale;
  const torch::Tensor agree =
      k == 1 ? ((actual > 0) == (ref > 0)).squeeze(1) : actual.argmax(1) == ref.argmax(1);
  result.top1_agreement = agree.to(torch::kDouble).mean().item<double>();
  result.saturated =
      static_cast<double>(std::count_if(outputs.begin(), outputs.end(),
                                        [](int8_t q) { return q == -128 || q == 127; })) /
      static_cast<double>(outputs.size());
  std::cout << "[ convert ] " << name << ": top-1 agreement " << result.top1_agreement
            << ", max |error| " << result.max_abs_error << " output steps, " << result.saturated
            << " saturated, " << std::set<int8_t>(outputs.begin(), outputs.end()).size()
            << " distinct codes\n";

  const fs::path dir = fresh_dir(name);
  CodegenOptions options;
  options.prefix = "net";
  export_model(model, (dir / "export").string(), options);
  const VerifyReport report =
      verify_export(model, (dir / "export").string(), "net", inputs, n, (dir / "build").string());
  EXPECT_TRUE(report.ok()) << report.describe();
  EXPECT_EQ(report.samples, n);
  fs::remove_all(dir);
  return result;
}

std::string safe_name(std::string text) {
  for (char& ch : text) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return text;
}

class MlpConversion : public ::testing::TestWithParam<const char*> {};

TEST_P(MlpConversion, IntegerModelAgreesWithFakeQuantized) {
  torch::manual_seed(7);
  const std::string weight_quant = GetParam();
  torch::nn::Sequential mlp(
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")),
      QLinear(QLinearOptions(16, 17).weight_quant(weight_quant)),
      QActivation(QActivationOptions("relu").output_quant("pact:bits=8,alpha=4")),
      QLinear(QLinearOptions(17, 10).weight_quant(weight_quant)),
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")));
  const auto data = clusters(512, {16}, 10);
  const torch::Tensor x = data.first;
  const torch::Tensor labels = data.second;
  train(
      *mlp,
      [&](const torch::Tensor& in) {
        return torch::nn::functional::cross_entropy(mlp->forward(in), labels);
      },
      x, 40);
  const IntegerModel model = lower_model(*mlp, Shape{16, 1, 1}, "mlp");
  ASSERT_EQ(model.layers.size(), 2u);
  EXPECT_EQ(model.layers[0].name, "1");
  EXPECT_EQ(std::get<FullyConnected>(model.layers[0].op).activation, Activation::kRelu);
  torch::NoGradGuard no_grad;
  const Comparison c = compare(model, x, mlp->forward(x), "mlp_" + safe_name(weight_quant));
  EXPECT_GE(c.top1_agreement, 0.98);
  EXPECT_LE(c.max_abs_error, 3.0);
}

INSTANTIATE_TEST_SUITE_P(WeightGrids, MlpConversion,
                         ::testing::Values("lsq:bits=4", "ternary", "binary", "lsq:bits=8"));

TEST(Convert, Relu6AndHardSigmoidMerge) {
  torch::manual_seed(13);
  torch::nn::Sequential mlp(
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")),
      QLinear(QLinearOptions(16, 17).weight_quant("lsq:bits=4")),
      QActivation(QActivationOptions("relu6").output_quant("pact:bits=8,alpha=6")),
      QLinear(QLinearOptions(17, 10).weight_quant("lsq:bits=4")),
      QActivation(QActivationOptions("hard_sigmoid").output_quant("pact:bits=8,alpha=1")));
  const auto data = clusters(512, {16}, 10);
  const torch::Tensor x = data.first;
  const torch::Tensor labels = data.second;
  train(
      *mlp,
      [&](const torch::Tensor& in) {
        return torch::nn::functional::cross_entropy(mlp->forward(in), labels);
      },
      x, 40);
  const IntegerModel model = lower_model(*mlp, Shape{16, 1, 1}, "mlp_hs");
  EXPECT_EQ(std::get<FullyConnected>(model.layers[0].op).activation, Activation::kRelu6);
  EXPECT_EQ(std::get<FullyConnected>(model.layers[1].op).activation, Activation::kHardSigmoid);
  torch::NoGradGuard no_grad;
  const Comparison c = compare(model, x, mlp->forward(x), "mlp_hard_sigmoid");
  EXPECT_GE(c.top1_agreement, 0.95);
  EXPECT_LE(c.max_abs_error, 3.0);
}

// An 8x8, 4-class cnn_mcu (options' quantizers set here) trained on clusters for 30 steps and
// lowered; checks its layer names and its agreement with the fake-quantized model.
IntegerModel lowered_cnn_mcu(models::CnnMcuOptions options, const std::string& name,
                             const std::vector<std::string>& expected_layers) {
  models::CnnMcu cnn(options.image_size(8)
                         .classes(4)
                         .weight_quant("lsq:bits=4")
                         .input_quant("lsq:bits=8,signed=1")
                         .activation_quant("pact:bits=8,alpha=4"));
  auto fc = cnn->named_children()["fc"]->as<nn::QLinearImpl>();
  fc->set_output_quant("lsq:bits=8,signed=1");
  const auto data = clusters(256, {1, 8, 8}, 4);
  const torch::Tensor x = data.first;
  const torch::Tensor labels = data.second;
  train(
      *cnn,
      [&](const torch::Tensor& in) {
        return torch::nn::functional::cross_entropy(cnn->forward(in), labels);
      },
      x, 30);
  const IntegerModel model = lower_model(*cnn, Shape{1, 8, 8}, name);
  std::vector<std::string> names;
  for (const auto& layer : model.layers) names.push_back(layer.name);
  EXPECT_EQ(names, expected_layers);
  torch::NoGradGuard no_grad;
  const Comparison c = compare(model, x, cnn->forward(x), name);
  EXPECT_GE(c.top1_agreement, 0.97);
  EXPECT_LE(c.max_abs_error, 4.0);
  return model;
}

TEST(Convert, DepthwiseCnnAgrees) {
  torch::manual_seed(8);
  const IntegerModel model =
      lowered_cnn_mcu(models::CnnMcuOptions().channels(4).hidden({12}), "cnn_mcu",
                      {"conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc"});
  EXPECT_EQ(std::get<Conv2d>(model.layers[2].op).groups, 4);
}

TEST(Convert, CnnMcuWithThirdStageAgrees) {
  torch::manual_seed(12);
  const IntegerModel model = lowered_cnn_mcu(
      models::CnnMcuOptions().channels(4).conv2_channels(6).conv3_channels(8).hidden({}),
      "cnn_mcu3", {"conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "flatten", "fc"});
  EXPECT_EQ(std::get<Conv2d>(model.layers[4].op).groups, 1);
}

TEST(Convert, BatchNormFoldsIntoConv) {
  torch::manual_seed(9);
  torch::nn::Sequential net(
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")),
      nn::QConv2d(nn::QConv2dOptions(1, 3, 3).padding(1).bias(false).weight_quant("lsq:bits=8")),
      torch::nn::BatchNorm2d(3),
      QActivation(QActivationOptions("relu").output_quant("pact:bits=8,alpha=4")),
      torch::nn::Flatten(),
      QLinear(QLinearOptions(3 * 6 * 6, 3)
                  .weight_quant("lsq:bits=8")
                  .output_quant("lsq:bits=8,signed=1")));
  const auto data = clusters(128, {1, 6, 6}, 3);
  const torch::Tensor x = data.first;
  const torch::Tensor labels = data.second;
  train(
      *net,
      [&](const torch::Tensor& in) {
        return torch::nn::functional::cross_entropy(net->forward(in), labels);
      },
      x, 20);
  {
    // A negative BN gain exercises the code flip.
    torch::NoGradGuard no_grad;
    net[2]->as<torch::nn::BatchNorm2dImpl>()->weight[1].fill_(-0.7);
  }
  const IntegerModel model = lower_model(*net, Shape{1, 6, 6}, "bn");
  ASSERT_EQ(model.layers.size(), 3u);
  torch::NoGradGuard no_grad;
  const Comparison c = compare(model, x, net->forward(x), "bn");
  EXPECT_GE(c.top1_agreement, 0.97);
  EXPECT_LE(c.max_abs_error, 3.0);
}

TEST(Convert, SmartpixModel2Agrees) {
  torch::manual_seed(10);
  models::SmartpixModel2 net(models::SmartpixModel2Options()
                                 .weight_quant("lsq:bits=4")
                                 .input_quant("lsq:bits=8,signed=1")
                                 .activation_quant("pact:bits=8,alpha=4"));
  // EMA-observed grids: signed logits, and an unsigned grid with a zero point in the middle.
  net->output->set_output_quant("uniform:bits=8,signed=1,scale=ema");
  net->merged_act3->set_output_quant("uniform:bits=8,signed=0,scale=ema");
  // Different branch grids make the concat rescale one of its inputs.
  net->yl_act1->set_output_quant("pact:bits=8,alpha=2");
  const auto data = clusters(512, {36}, 2, 3.0);
  const torch::Tensor x = data.first;
  const torch::Tensor labels = data.second;
  const torch::Tensor target = labels.to(torch::kFloat).unsqueeze(1);
  train(
      *net,
      [&](const torch::Tensor& in) {
        return torch::nn::functional::binary_cross_entropy_with_logits(net->forward_logits(in),
                                                                       target);
      },
      x, 40);
  {
    // Let the EMA observers settle on the trained model (calibration passes).
    torch::NoGradGuard no_grad;
    net->train();
    for (int pass = 0; pass < 40; ++pass) net->forward_logits(x);
  }
  const IntegerModel model = lower_model(*net, Shape{36, 1, 1}, "smartpix_model2");
  std::vector<std::string> names;
  for (const auto& layer : model.layers) names.push_back(layer.name);
  EXPECT_EQ(names, (std::vector<std::string>{"xz_slice", "xz_dense1", "yl_slice", "yl_dense1",
                                             "concat", "merged_dense1", "merged_dense2",
                                             "merged_dense3", "output"}));
  EXPECT_NE(model.layers[1].output_scale, model.layers[3].output_scale);
  EXPECT_EQ(model.layers[4].output_scale,
            std::max(model.layers[1].output_scale, model.layers[3].output_scale));
  torch::NoGradGuard no_grad;
  const Comparison c = compare(model, x, net->forward_logits(x), "smartpix");
  EXPECT_GE(c.top1_agreement, 0.97);
  EXPECT_LE(c.max_abs_error, 3.0);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    std::cout << "[ error ] " << e.what() << "\n";
    return e.what();
  }
  return "";
}

// One training-mode forward pass initialises the learned steps from data.
void initialise(torch::nn::Sequential& net, int64_t features) {
  net->train();
  net->forward(torch::randn({8, features}));
}

TEST(Convert, UninitialisedStepIsDataDependent) {
  torch::manual_seed(11);
  torch::nn::Sequential net(
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")),
      QLinear(QLinearOptions(4, 3).weight_quant("lsq:bits=4")),
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")));
  EXPECT_NE(error_of([&] {
              lower_model(*net, Shape{4, 1, 1});
            }).find("layer '0': activation quantizer's scale depends on the data"),
            std::string::npos);
  initialise(net, 4);
  EXPECT_EQ(lower_model(*net, Shape{4, 1, 1}).layers.size(), 1u);
}

TEST(Convert, FirstLayerInputQuantizerIsTheModelInput) {
  torch::manual_seed(14);
  torch::nn::Sequential net(
      QLinear(QLinearOptions(4, 3).weight_quant("lsq:bits=4").input_quant("lsq:bits=8,signed=1")),
      QActivation(QActivationOptions("relu").output_quant("pact:bits=4,alpha=2")));
  initialise(net, 4);
  net->eval();
  const IntegerModel model = lower_model(*net, Shape{4, 1, 1});
  const auto* linear = net[0]->as<nn::QLinearImpl>();
  EXPECT_EQ(model.input_scale,
            linear->input_quant()->integer_form(torch::zeros({1, 4})).scale.item<double>());
  EXPECT_EQ(model.input_zero_point, 0);
  // A 4-bit unsigned grid (codes 0..15) narrows the relu clamp to [0, 15].
  const Requant& requant = std::get<FullyConnected>(model.layers[0].op).requant;
  EXPECT_EQ(requant.act_min, 0);
  EXPECT_EQ(requant.act_max, 15);
}

TEST(Convert, ErrorsNameTheLayer) {
  torch::manual_seed(12);
  torch::nn::Sequential no_weight_quant(
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")),
      QLinear(QLinearOptions(4, 3)),
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")));
  initialise(no_weight_quant, 4);
  EXPECT_NE(error_of([&] {
              lower_model(*no_weight_quant, Shape{4, 1, 1});
            }).find("layer '1': has no weight quantizer"),
            std::string::npos);

  torch::nn::Sequential no_output(
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")),
      QLinear(QLinearOptions(4, 3).weight_quant("lsq:bits=4")));
  initialise(no_output, 4);
  EXPECT_NE(error_of([&] {
              lower_model(*no_output, Shape{4, 1, 1});
            }).find("layer '1': output is not quantized"),
            std::string::npos);

  torch::nn::Sequential no_input(
      QLinear(QLinearOptions(4, 3).weight_quant("lsq:bits=4")),
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")));
  initialise(no_input, 4);
  EXPECT_NE(error_of([&] {
              lower_model(*no_input, Shape{4, 1, 1});
            }).find("model input is not quantized"),
            std::string::npos);

  torch::nn::Sequential wide(
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")),
      QLinear(QLinearOptions(4, 3).weight_quant("lsq:bits=4")),
      QActivation(QActivationOptions("relu").output_quant("lsq:bits=12")));
  initialise(wide, 4);
  EXPECT_NE(error_of([&] {
              lower_model(*wide, Shape{4, 1, 1});
            }).find("layer '2': activation quantizer has 12 bits"),
            std::string::npos);

  torch::nn::Sequential sigmoid(
      QActivation(QActivationOptions("none").output_quant("lsq:bits=8,signed=1")),
      QLinear(QLinearOptions(4, 3).weight_quant("lsq:bits=4")),
      QActivation(QActivationOptions("sigmoid").output_quant("lsq:bits=8,signed=1")));
  initialise(sigmoid, 4);
  EXPECT_NE(error_of([&] {
              lower_model(*sigmoid, Shape{4, 1, 1});
            }).find("layer '2': activation 'sigmoid' has no integer form"),
            std::string::npos);

  models::ResNet resnet = models::resnet20(models::ResNetOptions()
                                               .weight_quant("lsq:bits=4")
                                               .input_quant("lsq:bits=8,signed=1")
                                               .activation_quant("pact:bits=8"));
  // One training-mode pass initialises the learned steps. Without an output quantizer on conv2
  // the residual add has no int8 grid for that input: the error names conv2 and the add.
  resnet->train();
  resnet->forward(torch::randn({2, 3, 32, 32}));
  EXPECT_NE(error_of([&] {
              lower_model(*resnet, Shape{3, 32, 32});
            })
                .find("layer 'layer1.0.conv2': output is not quantized: expected an output "
                      "quantizer on it or a QActivation with an output quantizer after it (before "
                      "'layer1.0.add')"),
            std::string::npos);
}

TEST(Convert, ResNetWithResidualAddsAgrees) {
  torch::manual_seed(12);
  // One block per stage: an identity shortcut in stage 1, a strided 1x1 projection in stage 2.
  models::ResNet net(models::ResNetOptions()
                         .blocks({1, 1})
                         .widths({4, 8})
                         .classes(3)
                         .weight_quant("lsq:bits=4")
                         .input_quant("lsq:bits=8,signed=1")
                         .activation_quant("pact:bits=8,alpha=4"));
  for (const auto& module : net->modules(/*include_self=*/false)) {
    // Batch norms folded as the fold_batchnorm event leaves them (the identity).
    if (auto* bn = dynamic_cast<nn::FoldableBatchNormImpl*>(module.get())) bn->mark_folded();
  }
  for (auto* block : {net->stages[0]->ptr<models::BasicBlockImpl>(0).get(),
                      net->stages[1]->ptr<models::BasicBlockImpl>(0).get()}) {
    block->conv2->set_output_quant("lsq:bits=8,signed=1");
    if (block->shortcut) {
      block->shortcut->ptr<nn::QConv2dImpl>(0)->set_output_quant("lsq:bits=8,signed=1");
    }
  }
  net->fc->set_output_quant("lsq:bits=8,signed=1");
  const auto data = clusters(96, {3, 8, 8}, 3);
  const torch::Tensor x = data.first;
  const torch::Tensor labels = data.second;
  train(
      *net,
      [&](const torch::Tensor& in) {
        return torch::nn::functional::cross_entropy(net->forward(in), labels);
      },
      x, 20);
  const IntegerModel model = lower_model(*net, Shape{3, 8, 8}, "resnet");
  std::vector<std::string> names;
  for (const auto& layer : model.layers) names.push_back(layer.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.0.add",
                                      "layer2.0.conv1", "layer2.0.conv2", "layer2.0.shortcut.0",
                                      "layer2.0.add", "avgpool", "fc"}));
  // The identity shortcut reads the stem; the projection reads block 1's add.
  EXPECT_EQ(model.layers[3].inputs, (std::vector<int>{2, 0}));
  EXPECT_EQ(model.layers[6].inputs, (std::vector<int>{3}));
  EXPECT_EQ(model.layers[7].inputs, (std::vector<int>{5, 6}));
  const auto& pool = std::get<Pool>(model.layers[8].op);
  EXPECT_TRUE(pool.average);
  EXPECT_EQ(pool.kernel_h, 4);
  EXPECT_EQ(pool.kernel_w, 4);
  EXPECT_EQ(std::get<Add>(model.layers[3].op).act_min, model.layers[3].output_zero_point);
  torch::NoGradGuard no_grad;
  const Comparison c = compare(model, x, net->forward(x), "resnet");
  EXPECT_GE(c.top1_agreement, 0.95);
  EXPECT_LE(c.max_abs_error, 6.0);
}

// A graph whose concat reads a node that is not there: the lowering names both.
struct BrokenGraphImpl : torch::nn::Cloneable<BrokenGraphImpl>, models::GraphModel {
  BrokenGraphImpl() { reset(); }
  void reset() override {
    input_act = register_module(
        "input_act",
        QActivation(QActivationOptions("none").output_quant("uniform:bits=8,signed=1,integer=2")));
  }
  models::ModelGraph graph() override {
    models::GraphNode in;
    in.name = "input_act";
    in.module = input_act.ptr();
    models::GraphNode cat;
    cat.name = "cat";
    cat.kind = models::NodeKind::kConcat;
    cat.inputs = {"input_act", "nope"};
    return {in, cat};
  }
  QActivation input_act{nullptr};
};

TEST(Convert, AGraphNodeReadingAnUnknownNodeIsNamed) {
  auto net = std::make_shared<BrokenGraphImpl>();
  EXPECT_NE(error_of([&] {
              lower_model(*net, Shape{4, 1, 1});
            }).find("layer 'cat': reads 'nope', which is not an earlier node"),
            std::string::npos);
}

}  // namespace
}  // namespace lowbit::exporter
