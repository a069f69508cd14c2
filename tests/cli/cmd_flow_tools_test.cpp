// `lowbit compare` and `flow-image` on a flow run: a tiny snn_flow on synthetic events, FP and
// an 8-bit stage from it.
#include <gtest/gtest.h>
#include <png.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/run_lowbit.h"
#include "lowbit/config/config_reader.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/train/data_source.h"
#include "lowbit/train/report/flow_color.h"
#include "lowbit/train/run_config.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

using testing::exists;
using testing::run_lowbit;
using testing::TempDir;

// Header cell -> value of the row whose first cell is `stage`, in a CSV without quoting.
std::map<std::string, std::string> csv_row(const std::string& text, const std::string& stage) {
  std::istringstream in(text);
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    return cells;
  };
  std::string line;
  std::getline(in, line);
  const auto header = split(line);
  while (std::getline(in, line)) {
    const auto cells = split(line);
    if (cells.empty() || cells[0] != stage) continue;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    return row;
  }
  return {};
}

torch::Tensor read_png_rgb8(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) throw std::runtime_error(path);
  image.format = PNG_FORMAT_RGB;
  torch::Tensor out = torch::empty({image.height, image.width, 3}, torch::kUInt8);
  if (!png_image_finish_read(&image, nullptr, out.data_ptr<uint8_t>(), 0, nullptr)) {
    throw std::runtime_error(path);
  }
  return out;
}

class FlowToolsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    // The small flow run of run_lowbit.h and an 8-bit stage warm-started from its FP stage.
    util::write_text_atomically(*dir_ / "flow.yaml",
                                testing::small_flow_run_config(*dir_ / "run") + R"(  - name: w8
    from: fp
    epochs: 1
    batch_size: 4
    optimizer: {type: adam, lr: 0.001}
    loss: {type: flow_epe}
    best: {metric: val_aee}
    quantization: {weights: "uniform:bits=8"}
)");
    train_ = run_lowbit("train '" + (*dir_ / "flow.yaml") + "'");
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override { ASSERT_EQ(train_.code, 0) << train_.err << train_.out; }

  static std::unique_ptr<TempDir> dir_;
  static testing::RunResult train_;
};

std::unique_ptr<TempDir> FlowToolsTest::dir_;
testing::RunResult FlowToolsTest::train_;

TEST_F(FlowToolsTest, ResultsTableShowsAeeAndTheSizeTable) {
  const std::string md = util::read_file(*dir_ / "run/results.md");
  EXPECT_NE(md.find("AEE"), std::string::npos) << md;
  EXPECT_EQ(md.find("accuracy"), std::string::npos) << md;
  EXPECT_NE(md.find("model size by bit width"), std::string::npos) << md;
  EXPECT_NE(md.find("32 (FP32)"), std::string::npos) << md;
}

TEST_F(FlowToolsTest, CompareGivesTheStagesAee) {
  const auto r = run_lowbit("compare '" + (*dir_ / "run") + "' --csv '" + (*dir_ / "cmp.csv") +
                            "' --outputs '" + (*dir_ / "out") + "'");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const std::string csv = util::read_file(*dir_ / "cmp.csv");
  for (const std::string stage : {"fp", "w8"}) {
    const auto row = csv_row(csv, stage);
    ASSERT_FALSE(row.empty()) << csv;
    const auto result =
        nlohmann::json::parse(util::read_file(*dir_ / ("run/" + stage + "/result.json")));
    // The same evaluation as training's test evaluation.
    EXPECT_DOUBLE_EQ(std::stod(row.at("aee")), result.at("aee").get<double>()) << stage;
    EXPECT_DOUBLE_EQ(std::stod(row.at("outliers")), result.at("outliers").get<double>()) << stage;
    EXPECT_EQ(row.count("accuracy"), 0u) << csv;
  }
  EXPECT_EQ(std::stod(csv_row(csv, "fp").at("mae")), 0.0);
  EXPECT_GT(std::stod(csv_row(csv, "w8").at("mae")), 0.0);
  EXPECT_EQ(csv_row(csv, "w8").at("values"), std::to_string(4 * 2 * 16 * 24));
}

TEST_F(FlowToolsTest, CompareGivesTheZeroFlowBaseline) {
  const auto r = run_lowbit("compare '" + (*dir_ / "run") + "' --csv '" + (*dir_ / "zero.csv") +
                            "' --outputs '" + (*dir_ / "zero_out") + "'");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("(zero flow)"), std::string::npos) << r.out;
  const auto row = csv_row(util::read_file(*dir_ / "zero.csv"), "(zero flow)");
  ASSERT_FALSE(row.empty());
  // Predicting no motion: the AEE is the mean |flow| over the pixels with events and valid flow.
  const std::string config_file = *dir_ / "run/config.yaml";
  const train::RunConfig config =
      train::parse_run_config(config::ConfigNode::parse(util::read_file(config_file), config_file));
  const train::StageData data = train::load_data(*config.data, config.seed);
  const torch::Tensor y = data.test.targets.to(torch::kDouble);
  const torch::Tensor counted =
      y.select(1, 2).ne(0).logical_and(data.test.inputs.abs().sum({1, 2}).ne(0));
  const torch::Tensor magnitude = y.slice(1, 0, 2).pow(2).sum(1).sqrt();
  const double mean_magnitude =
      magnitude.masked_select(counted).sum().item<double>() / counted.sum().item<double>();
  ASSERT_GT(mean_magnitude, 0.0);
  EXPECT_NEAR(std::stod(row.at("aee")), mean_magnitude, 1e-9);
  // Every error is the flow's own magnitude: outliers are the pixels moving more than 3 px.
  const double fast =
      magnitude.gt(3.0).logical_and(counted).sum().item<double>() / counted.sum().item<double>();
  EXPECT_NEAR(std::stod(row.at("outliers")), fast, 1e-12);
  // Its output difference is the reference stage's output magnitude.
  const torch::Tensor fp = data::read_npy(*dir_ / "zero_out/fp.npy").to(torch::kDouble);
  EXPECT_NEAR(std::stod(row.at("mae")), fp.abs().mean().item<double>(), 1e-6);
}

TEST_F(FlowToolsTest, FlowImagesAreTheColourCodedFlow) {
  const std::string out = *dir_ / "img";
  const auto r = run_lowbit("flow-image '" + (*dir_ / "run") +
                            "' --stage w8 --samples 0,3 --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  for (const char* f : {"sample_0000.png", "sample_0000_pred.png", "sample_0000_true.png",
                        "sample_0003.png", "colour_wheel.png"}) {
    EXPECT_TRUE(exists(out + "/" + f)) << f;
  }
  // The images equal the colour coding of the stage's outputs and of the test targets.
  const auto c = run_lowbit("compare '" + (*dir_ / "run") + "' --stages w8 --outputs '" +
                            (*dir_ / "w8out") + "'");
  ASSERT_EQ(c.code, 0) << c.err;
  const torch::Tensor predicted = data::read_npy(*dir_ / "w8out/w8.npy");
  const std::string config_file = *dir_ / "run/config.yaml";
  const train::RunConfig config =
      train::parse_run_config(config::ConfigNode::parse(util::read_file(config_file), config_file));
  const train::StageData data = train::load_data(*config.data, config.seed);
  const torch::Tensor target = data.test.targets[3];
  const torch::Tensor truth = target.slice(0, 0, 2), valid = target[2];
  const double max_magnitude = train::max_flow_magnitude(truth, valid);
  EXPECT_TRUE(torch::equal(read_png_rgb8(out + "/sample_0003_true.png"),
                           train::flow_to_rgb(truth, max_magnitude, valid)));
  // The command runs one sample at a time, compare a batch: float sums may differ in the last
  // bit, a colour byte by one.
  auto near = [](const torch::Tensor& a, const torch::Tensor& b) {
    return a.sizes() == b.sizes() &&
           (a.to(torch::kInt32) - b.to(torch::kInt32)).abs().max().item<int>() <= 1;
  };
  EXPECT_TRUE(near(read_png_rgb8(out + "/sample_0003_pred.png"),
                   train::flow_to_rgb(predicted[3], max_magnitude)));
  EXPECT_TRUE(near(read_png_rgb8(out + "/sample_0003.png"),
                   train::flow_comparison_image(predicted[3], truth, valid)));
  // Not a constant picture: the flow has more than one colour.
  const torch::Tensor true_image = read_png_rgb8(out + "/sample_0003_true.png");
  EXPECT_GT(std::get<0>(torch::_unique(true_image.reshape({-1, 3}).select(1, 0))).numel(), 1);

  const auto bad = run_lowbit("flow-image '" + (*dir_ / "run") +
                              "' --stage w8 --samples 4 --out '" + (*dir_ / "img2") + "'");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("--samples '4' is not a sample of the set (0..3)"), std::string::npos)
      << bad.err;
}

}  // namespace
}  // namespace lowbit::cli
