// The whole path for every exportable model family and weight width: `lowbit train` (a few
// steps on tiny data) -> `lowbit export` -> `lowbit verify` (build the C, run it on the test set,
// 0 mismatches with the C++ reference executor asserted by verify's exit status and output).
// The depthwise CNN has batch norms: folded during training (fold_batchnorm) at 1 and 4 bits,
// folded into the requantization at export at 2 and 8 bits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>

#include "cli/quadrant_images.h"
#include "cli/run_lowbit.h"
#include "lowbit/util/atomic_file.h"
#include "text_count.h"

namespace lowbit::cli {
namespace {

using testing::run_lowbit;
using testing::TempDir;

class EndToEnd : public ::testing::TestWithParam<std::tuple<std::string, int>> {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    // MLP data: three classes in the plane, without randomness.
    std::ofstream csv(*dir_ / "plane.csv");
    csv << "a,b,label\n";
    for (int i = 0; i < 90; ++i) {
      const int label = i % 3;
      csv << (label == 1 ? 1.0 : -1.0) + 0.01 * (i % 17) << ","
          << (label == 2 ? 1.0 : -1.0) - 0.01 * (i % 13) << "," << label << "\n";
    }
    csv.close();
    // CNN data: 8x8 single-channel images of three classes (a bright quadrant each) plus noise.
    testing::write_quadrant_images(dir_->path(), 60, 1, 8, 3, 11);
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static std::unique_ptr<TempDir> dir_;
};

std::unique_ptr<TempDir> EndToEnd::dir_;

// The weight SPEC of a width: binary, ternary (2-bit storage), then narrow signed grids so that a
// negative batch-norm gain can flip any code.
std::string weight_spec(int bits) {
  switch (bits) {
    case 1:
      return "binary";
    case 2:
      return "ternary";
    default:
      return "uniform:bits=" + std::to_string(bits) + ",narrow=1,per_channel=1";
  }
}

std::string run_config(const std::string& model, int bits, const std::string& dir) {
  const std::string stage_head =
      "stages:\n  - name: q\n    epochs: 2\n    batch_size: 16\n"
      "    optimizer: {type: adam, lr: 0.01}\n";
  const std::string weights = "      weights: \"" + weight_spec(bits) + "\"\n";
  if (model == "mlp") {
    return "data: {source: csv, train: " + dir + "/plane.csv, label_column: label}\n" +
           "model: {type: mlp, widths: [7, 3]}\n" + stage_head + "    quantization:\n" + weights +
           "      activations: \"uniform:bits=8\"\n      layers:\n"
           "        - {match: fc1, inputs: \"uniform:bits=8\"}\n"
           "        - {match: fc3, outputs: \"uniform:bits=8\"}\n";
  }
  if (model == "smartpix_model2") {
    return "data: {source: smartpix, count: 200}\nmodel: {type: smartpix_model2}\n" + stage_head +
           "    loss: {type: binary_cross_entropy}\n    quantization:\n" + weights +
           "      activations: \"uniform:bits=8\"\n      layers:\n"
           "        - {match: output_activation, activations: none}\n"
           "        - {match: output, outputs: \"uniform:bits=8\"}\n";
  }
  const bool fold = bits == 1 || bits == 4;
  return "data: {source: npy, inputs: " + dir + "/images.npy, targets: " + dir +
         "/labels.npy}\nmodel: {type: cnn_mcu, channels: 3, hidden: [5], batch_norm: true}\n" +
         stage_head + (fold ? "    events:\n      - {at: 1, action: fold_batchnorm}\n" : "") +
         "    quantization:\n" + weights +
         "      activations: \"uniform:bits=8\"\n      layers:\n"
         "        - {match: fc, outputs: \"uniform:bits=8\"}\n";
}

// Writes RUN.yaml (`output: RUN` and `config`), trains it and exports its stage q to RUN_export;
// `train_log`, when given, receives `lowbit train`'s standard output.
void train_and_export(const std::string& run, const std::string& config,
                      std::string* train_log = nullptr) {
  util::write_text_atomically(run + ".yaml", "output: " + run + "\n" + config);
  const auto t = run_lowbit("train '" + run + ".yaml'");
  ASSERT_EQ(t.code, 0) << t.err << t.out;
  if (train_log != nullptr) *train_log = t.out;
  const auto e = run_lowbit("export '" + run + "' --stage q --out '" + run + "_export'");
  ASSERT_EQ(e.code, 0) << e.err << e.out;
}

// `lowbit verify RUN_export --run RUN` succeeds with 0 mismatches.
void expect_verified(const std::string& run) {
  const auto v = run_lowbit("verify '" + run + "_export' --run '" + run + "'");
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  EXPECT_NE(v.out.find("mismatches (C vs C++ reference): 0 of "), std::string::npos) << v.out;
}

TEST_P(EndToEnd, TrainExportBuildRunHasZeroMismatches) {
  const auto& [model, bits] = GetParam();
  const std::string name = model + "_w" + std::to_string(bits);
  const std::string run = *dir_ / name;
  std::string train_log;
  ASSERT_NO_FATAL_FAILURE(train_and_export(run, run_config(model, bits, dir_->path()), &train_log));
  const std::string json = util::read_file(run + "_export/model.json");
  const std::string format = bits == 1   ? "\"binary\""
                             : bits == 2 ? "\"int2\""
                             : bits == 4 ? "\"int4\""
                                         : "\"int8\"";
  EXPECT_NE(json.find(format), std::string::npos) << name << " has no " << format << " layer";
  expect_verified(run);
  if (model == "cnn_mcu" && (bits == 1 || bits == 4)) {
    EXPECT_NE(train_log.find("folded 2 batch norm(s)"), std::string::npos) << train_log;
  }
}

// How many lowbit_fc_dynshift_s8 calls generated C `c` makes.
size_t dynshift_calls(const std::string& c) {
  return lowbit::testing::count_in(c, "lowbit_fc_dynshift_s8(");
}

// BitNetMCU's recipe: a bias-free MLP normalised per sample by dynshift (hidden layers and
// logits) exports as lowbit_fc_dynshift_s8 calls without requantization constants.
TEST_F(EndToEnd, DynshiftMlpTrainsExportsAndVerifies) {
  const std::string run = *dir_ / "mlp_dynshift";
  ASSERT_NO_FATAL_FAILURE(train_and_export(
      run, "data: {source: csv, train: " + dir_->path() +
               "/plane.csv, label_column: label}\n"
               "model: {type: mlp, widths: [7, 3], bias: false}\n"
               "stages:\n  - name: q\n    epochs: 2\n    batch_size: 16\n"
               "    optimizer: {type: adam, lr: 0.01}\n    quantization:\n"
               "      weights: \"sym:bits=4\"\n      activations: \"dynshift\"\n      layers:\n"
               "        - {match: fc1, inputs: \"uniform:bits=8\"}\n"
               "        - {match: fc3, outputs: \"dynshift:signed=1\"}\n"));
  const std::string c = util::read_file(run + "_export/model.c");
  EXPECT_EQ(c.find("lowbit_fully_connected_s8"), std::string::npos) << c;
  EXPECT_EQ(dynshift_calls(c), 3u) << c;
  const std::string json = util::read_file(run + "_export/model.json");
  EXPECT_NE(json.find("\"fc_dynshift\""), std::string::npos) << json;
  expect_verified(run);
  // ONNX has no per-sample shift: refused naming the layer, nothing written.
  const auto o = run_lowbit("export '" + run + "' --stage q --format qdq --out '" + run + "_onnx'");
  EXPECT_NE(o.code, 0) << o.out;
  EXPECT_NE(o.err.find("fc1"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("dynshift"), std::string::npos) << o.err;
  EXPECT_FALSE(std::filesystem::exists(run + "_onnx"));
}

// cnn_mcu with `fc_bias: false`: its fully connected layers normalised per sample like
// BitNetMCU's MLP (the configs/fmnist_mcu_best_cnn_6k.yaml recipe) export as dynshift calls,
// fc1 reading the convolutions' fixed-scale codes, fc the per-sample codes of fc_act1.
TEST_F(EndToEnd, DynshiftClassifierAfterConvolutionsVerifies) {
  const std::string run = *dir_ / "cnn_dynshift";
  ASSERT_NO_FATAL_FAILURE(train_and_export(
      run, "data: {source: npy, inputs: " + dir_->path() + "/images.npy, targets: " + dir_->path() +
               "/labels.npy}\nmodel: {type: cnn_mcu, channels: 3, hidden: [5], fc_bias: false}\n"
               "stages:\n  - name: q\n    epochs: 2\n    batch_size: 16\n"
               "    optimizer: {type: adam, lr: 0.01}\n    quantization:\n"
               "      weights: \"uniform:bits=4,narrow=1\"\n      activations: \"uniform:bits=8\"\n"
               "      layers:\n        - {match: \"fc_act*\", activations: dynshift}\n"
               "        - {match: fc, outputs: \"dynshift:signed=1\"}\n"));
  EXPECT_EQ(dynshift_calls(util::read_file(run + "_export/model.c")), 2u);
  expect_verified(run);
}

INSTANTIATE_TEST_SUITE_P(ModelsAndWidths, EndToEnd,
                         ::testing::Combine(::testing::Values("mlp", "smartpix_model2", "cnn_mcu"),
                                            ::testing::Values(1, 2, 4, 8)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_w" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace lowbit::cli
